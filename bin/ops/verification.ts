import { randomBytes, randomUUID } from 'node:crypto';
import { numberItemExpiry, type BudgetPolicy } from '../../shared/domain/budget.ts';
import { redriveDeadLetters, type RedriveDeps, type RedriveReport } from '../../shared/dead-letters/index.ts';
import { EVENT_KEEP_MS } from '../../shared/events/ledger-writes.ts';
import type { CodeMethod, GraphCallResult, GraphClient } from '../../shared/graph/port.ts';
import type { AttemptLedger, NumberHold, NumberRecord } from '../../shared/ledger/port.ts';
import { explainNoAnswer, explainVerificationError, type VerificationStep } from './verification-errors.ts';

/**
 * The number's OTP verification (`wa-registrar verify request|confirm`): one Graph call, then what it means on the
 * ledger. The code itself is an argument of `confirmCode` and goes to Graph only: it is in no result, record, event
 * or error (Meta's own text comes back with it scrubbed by the client).
 */

/** A verification code as Meta sends it: six digits, kept as a string. */
export const VERIFICATION_CODE = /^\d{6}$/;

/** What a verification step needs. */
export interface VerificationDeps {
  ledger: AttemptLedger;
  graph: Pick<GraphClient, 'requestCode' | 'verifyCode' | 'readState'>;
  token: string;
  now: number;
  /** The worker's budget settings: the number item's lifetime is computed as the worker computes it. */
  policy: BudgetPolicy;
  /** A timeline entry's id (64 hex); random by default. Never derived from the code. */
  changeId?: () => string;
}

/** Why a step failed, in plain words, with Meta's facts. */
export interface VerificationFailure {
  /** Meta's error code, when it answered with one. */
  code?: number;
  sentence: string;
  next: string;
  /** Meta may have acted (a code sent, a code checked) although the call failed. */
  outcomeUnknown: boolean;
  httpStatus?: number;
  fbtraceId?: string;
  /** Meta's message, as the client scrubbed it. */
  metaMessage?: string;
  /** From Meta's usage header, when it throttles. */
  regainAfterSeconds?: number;
}

export type RequestCodeResult = { ok: true; requestedAt: number } | { ok: false; failure: VerificationFailure };

export type ConfirmCodeResult =
  | {
      ok: true;
      confirmedAt: number;
      /** `state_read`: Meta gave no usable answer, but the number reads VERIFIED now. */
      via: 'verify_code' | 'state_read';
      /** The needs_verification hold this lifted, if the number had one. */
      liftedHold?: NumberHold;
      /** A hold of another cause, which verification does not lift. */
      remainingHold?: NumberHold;
    }
  | { ok: false; failure: VerificationFailure; hold?: NumberHold };

/** Meta accepted the code, but the ledger could not record it: the hold stays until cleared by hand. */
export class VerificationRecordError extends Error {
  override readonly name = 'VerificationRecordError';
}

/** `POST /{id}/request_code`: Meta sends a code to the number; the request (or why it failed) goes on the ledger. */
export async function requestCode(
  deps: VerificationDeps,
  request: { phoneNumberId: string; method: CodeMethod; language: string },
): Promise<RequestCodeResult> {
  const { phoneNumberId, method, language } = request;
  const answer = await deps.graph.requestCode(phoneNumberId, method, language, deps.token);
  if (answer.kind === 'success') {
    await updateVerification(deps, phoneNumberId, (number) => ({ ...withoutError(number.verification), requestedAt: deps.now, method }));
    await timeline(deps, phoneNumberId, 'VerificationRequested', `code requested by ${method} (${language})`);
    return { ok: true, requestedAt: deps.now };
  }
  const failure = failureOf(answer, 'request');
  await recordFailure(deps, phoneNumberId, 'request_code', failure);
  return { ok: false, failure };
}

/**
 * `POST /{id}/verify_code`. On success: records it, and lifts the number's hold if its cause is needs_verification
 * (only that cause: a PIN or account hold stays). When Meta's answer says nothing sure (no answer, a transient
 * error), a state read decides: VERIFIED counts as confirmed, anything else as failed.
 */
export async function confirmCode(deps: VerificationDeps, request: { phoneNumberId: string; code: string }): Promise<ConfirmCodeResult> {
  const { phoneNumberId } = request;
  if (!VERIFICATION_CODE.test(request.code)) throw new Error('a verification code is exactly 6 digits');
  const answer = await deps.graph.verifyCode(phoneNumberId, request.code, deps.token);
  let via: 'verify_code' | 'state_read' = 'verify_code';
  if (answer.kind !== 'success') {
    const failure = failureOf(answer, 'confirm');
    if (!(failure.outcomeUnknown && (await readsVerified(deps, phoneNumberId)))) {
      const number = await recordFailure(deps, phoneNumberId, 'verify_code', failure);
      const hold = number.hold ?? number.accountHold;
      return { ok: false, failure, ...(hold ? { hold } : {}) };
    }
    via = 'state_read';
  }
  let lifted: NumberHold | undefined;
  let after: NumberRecord;
  try {
    after = await updateVerification(deps, phoneNumberId, (number) => ({ ...withoutError(number.verification), confirmedAt: deps.now }), (number) => {
      lifted = number.hold?.cause === 'needs_verification' ? number.hold : undefined;
      return lifted !== undefined;
    });
    const summary = via === 'verify_code' ? 'Meta accepted the verification code' : 'Meta gave no answer to verify_code, and the number reads VERIFIED';
    await timeline(deps, phoneNumberId, 'VerificationConfirmed', `${summary}${lifted ? '; needs_verification hold lifted' : ''}`);
  } catch (error) {
    throw new VerificationRecordError(
      `Meta accepted the code, but the ledger was not updated (${(error as Error).message}): ` +
        `run \`wa-registrar hold clear ${phoneNumberId}\`, then \`wa-registrar dlq redrive --eligible --number ${phoneNumberId} --category needs_verification\``,
      { cause: error },
    );
  }
  const remaining = after.hold ?? after.accountHold;
  return { ok: true, confirmedAt: deps.now, via, ...(lifted ? { liftedHold: lifted } : {}), ...(remaining ? { remainingHold: remaining } : {}) };
}

/**
 * Sends the number's jobs that waited for verification back to the job queue: its `needs_verification` dead letters,
 * through the same use case, hold check and exactly-once path as `dlq redrive --eligible`.
 */
export function redriveVerifiedNumber(deps: RedriveDeps, phoneNumberId: string): Promise<RedriveReport> {
  return redriveDeadLetters(deps, { mode: { kind: 'eligible' }, filter: { phoneNumberId, category: 'needs_verification' } });
}

/** Commits give up after this many conflicts in a row (the worker keeps writing the number item). */
const MAX_CONFLICTS = 10;

type VerificationRecord = NonNullable<NumberRecord['verification']>;

/**
 * Read, change `verification` (and drop the hold when `liftHold` says so), commit under the version read; a conflict
 * (a worker wrote the item meanwhile) reads again. Everything else on the item stays as read.
 */
async function updateVerification(
  deps: VerificationDeps,
  phoneNumberId: string,
  change: (number: NumberRecord) => VerificationRecord,
  liftHold: (number: NumberRecord) => boolean = () => false,
): Promise<NumberRecord> {
  for (let round = 0; round < MAX_CONFLICTS; round++) {
    const number = await deps.ledger.number(phoneNumberId);
    const { hold, ...rest } = number;
    const next: NumberRecord = {
      ...rest,
      ...(hold && !liftHold(number) ? { hold } : {}),
      verification: change(number),
      version: number.version + 1,
    };
    // A verification record outlives the window: it is what `status` and the timeline explain a month later.
    const expiresAt = Math.max(numberItemExpiry(next, deps.now, deps.policy), deps.now + EVENT_KEEP_MS);
    const result = await deps.ledger.commit({ phoneNumberId, number: next, expiresAt: { number: expiresAt, job: expiresAt, attempt: expiresAt } }, randomUUID());
    if (result === 'committed') return next;
  }
  throw new Error(`the ledger item of number ${phoneNumberId} kept changing (${MAX_CONFLICTS} conflicts); try again`);
}

/** The failure on the ledger (`verification.lastError`, in our words only) and on the timeline. */
async function recordFailure(deps: VerificationDeps, phoneNumberId: string, call: 'request_code' | 'verify_code', failure: VerificationFailure): Promise<NumberRecord> {
  const lastError = { ...(failure.code === undefined ? {} : { code: failure.code }), at: deps.now, message: failure.sentence };
  const number = await updateVerification(deps, phoneNumberId, (current) => ({ ...current.verification, lastError }));
  const code = failure.code === undefined ? 'no answer' : `error ${failure.code}`;
  await timeline(deps, phoneNumberId, 'VerificationFailed', `${call} failed (${code}): ${failure.sentence}`);
  return number;
}

async function timeline(deps: VerificationDeps, phoneNumberId: string, detailType: 'VerificationRequested' | 'VerificationConfirmed' | 'VerificationFailed', summary: string) {
  const changeId = deps.changeId?.() ?? randomBytes(32).toString('hex');
  await deps.ledger.recordEvent(phoneNumberId, { at: deps.now, detailType, changeId, summary }, deps.now + EVENT_KEEP_MS);
}

function withoutError(verification: VerificationRecord | undefined): VerificationRecord {
  const { lastError: _dropped, ...rest } = verification ?? {};
  return rest;
}

/** Whether a free state read shows the number VERIFIED; an unknown read is not. */
async function readsVerified(deps: VerificationDeps, phoneNumberId: string): Promise<boolean> {
  const state = await deps.graph.readState(phoneNumberId, deps.token);
  return state.kind === 'known' && state.state.codeVerificationStatus === 'VERIFIED';
}

function failureOf(answer: Exclude<GraphCallResult, { kind: 'success' }>, step: VerificationStep): VerificationFailure {
  if (answer.kind === 'no_answer') {
    return { ...explainNoAnswer(step), ...(answer.httpStatus === undefined ? {} : { httpStatus: answer.httpStatus }) };
  }
  const { error } = answer;
  return {
    ...explainVerificationError(error.code, step),
    code: error.code,
    httpStatus: answer.httpStatus,
    ...(error.fbtraceId === undefined ? {} : { fbtraceId: error.fbtraceId }),
    ...(error.message === undefined ? {} : { metaMessage: error.message }),
    ...(answer.regainAfterSeconds === undefined ? {} : { regainAfterSeconds: answer.regainAfterSeconds }),
  };
}
