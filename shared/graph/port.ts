import type { LimitedOperation } from '../limited-operations.ts';
import type { DataLocalizationRegion } from '../jobs/job.v1.ts';

/** Meta's error object, as far as the worker uses it. Text fields are already scrubbed of the PIN and token. */
export interface GraphError {
  code: number;
  subcode?: number;
  message?: string;
  details?: string;
  fbtraceId?: string;
  /**
   * For PIN lockouts (133008, 133009) only: seconds until Meta accepts PINs again, read from `error_data.details`
   * (see `parseWaitFromDetails`). Absent when the text says nothing understandable; the caller then uses its default.
   */
  retryAfterSeconds?: number;
}

/** The result of one register or deregister request. The client never throws for a Graph or network failure. */
export type GraphCallResult =
  | { kind: 'success'; httpStatus: number; durationMs: number }
  | {
      kind: 'graph_error';
      httpStatus: number;
      error: GraphError;
      /** From the usage headers, when Meta says how long until throttling ends. */
      regainAfterSeconds?: number;
      /** From the usage headers: the businesses (WABA ids) Meta throttles; empty or absent means the whole app. */
      throttledBusinesses?: string[];
      durationMs: number;
    }
  | {
      /** No usable answer: the request may or may not have reached Meta. */
      kind: 'no_answer';
      why: 'timeout' | 'network' | 'server_error' | 'unreadable_response';
      httpStatus?: number;
      durationMs: number;
    };

/**
 * A number's registration state, from `GET /{id}?fields=...`. Unknown values are passed through; a field Meta
 * did not send stays absent (it is never defaulted, so "not sent" cannot pass for "false" or "NONE").
 */
export interface NumberState {
  status?: string;
  platformType?: string;
  codeVerificationStatus?: string;
  nameStatus?: string;
  newNameStatus?: string;
  /** Whether two-step verification is on: when true, register must send the current PIN. */
  isPinEnabled?: boolean;
  displayPhoneNumber?: string;
}

/** A read that gave no usable answer: why, and what Meta's answer said, if one arrived. */
export interface ReadFailure {
  kind: 'unknown';
  why: string;
  /** Meta's error code, when the answer was a Graph error (e.g. 190, or a throttle code). */
  code?: number;
  fbtraceId?: string;
  /** When an answer arrived at all. */
  httpStatus?: number;
  /** From the usage headers, when Meta says how long until throttling ends. */
  regainAfterSeconds?: number;
  /** From the usage headers: the businesses (WABA ids) Meta throttles; empty or absent means the whole app. */
  throttledBusinesses?: string[];
}

/** A state read has two outcomes: known, or unknown (never to be read as "not registered"). */
export type StateReadResult = { kind: 'known'; state: NumberState } | ReadFailure;

/** One number of a business account as Meta lists it (`display_phone_number` as shown, e.g. `+1 631-555-5555`). */
export interface ListedNumber {
  id: string;
  displayPhoneNumber: string;
}

/** A business account's numbers, every page read; or unknown (a failed read is never an empty list). */
export type NumberListResult = { kind: 'known'; numbers: ListedNumber[] } | ReadFailure;

export interface RegisterRequest {
  phoneNumberId: string;
  pin: string;
  dataLocalizationRegion?: DataLocalizationRegion;
  /** Migration from the On-Premises API only: the backup and its password, from Secrets Manager (never from a job). */
  backup?: { data: string; password: string };
}

/** How Meta sends a verification code. */
export type CodeMethod = 'SMS' | 'VOICE';

/** Meta's Graph API, as far as registration goes. */
export interface GraphClient {
  register(request: RegisterRequest, token: string): Promise<GraphCallResult>;
  deregister(phoneNumberId: string, token: string): Promise<GraphCallResult>;
  readState(phoneNumberId: string, token: string): Promise<StateReadResult>;
  /** `POST /{id}` `{"pin": "…"}`: sets (or changes) the number's two-step PIN. Not limited like register. */
  setPin(phoneNumberId: string, pin: string, token: string): Promise<GraphCallResult>;
  /** `POST /{id}/request_code?code_method=…&language=…`: Meta sends a verification code to the number. */
  requestCode(phoneNumberId: string, method: CodeMethod, language: string, token: string): Promise<GraphCallResult>;
  /** `POST /{id}/verify_code?code=…`: confirms the code the number's owner received. The code is never logged. */
  verifyCode(phoneNumberId: string, code: string, token: string): Promise<GraphCallResult>;
  /** `GET /{waba-id}/phone_numbers`, every page: how the events path maps a webhook's display number to its id. */
  listPhoneNumbers(businessAccountId: string, token: string): Promise<NumberListResult>;
}

