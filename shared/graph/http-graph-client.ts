import { parseWaitFromDetails } from './details-wait.ts';
import { readUsageHeader } from './usage-header.ts';
import type { CodeMethod, GraphCallResult, GraphClient, ReadFailure, GraphError, ListedNumber, NumberListResult, NumberState, RegisterRequest, StateReadResult } from './port.ts';

export interface HttpGraphClientOptions {
  /** e.g. https://graph.facebook.com (production) or the simulator's http://127.0.0.1:PORT */
  baseUrl: string;
  /** e.g. v25.0 */
  version: string;
  timeoutMs: number;
  /** Time source (ms), to turn a lockout's timestamp into a delay; defaults to the system clock. */
  now?: () => number;
}

/** The pre-flight fields (reference §1): enough to decide whether, and with which PIN, to register. */
const STATE_FIELDS = [
  'status',
  'platform_type',
  'code_verification_status',
  'name_status',
  'new_name_status',
  'new_display_name',
  'verified_name',
  'is_pin_enabled',
  'display_phone_number',
].join(',');

/** How each GET names itself in an unknown result's `why`. */
const READS = { state: { what: 'state read', noun: 'state' }, list: { what: 'number list', noun: 'list' } } as const;

/** Numbers asked for per page of a business's list; Meta may answer fewer and page on. */
const LIST_PAGE_SIZE = 100;
/** A list stops here: no business has that many pages, and a server repeating its cursors must not hold a read forever. */
const LIST_MAX_PAGES = 50;


/** Codes whose `details` say how long PIN checks are paused. */
const PIN_LOCKOUT_CODES: ReadonlySet<number> = new Set([133008, 133009]);

/** Graph API over HTTPS with `fetch`: one request per call, a hard timeout, and no retries of its own. */
export class HttpGraphClient implements GraphClient {
  readonly #options: HttpGraphClientOptions;
  readonly #root: string;
  readonly #now: () => number;

  constructor(options: HttpGraphClientOptions) {
    this.#options = options;
    this.#root = `${options.baseUrl.replace(/\/+$/, '')}/${options.version}`;
    this.#now = options.now ?? (() => Date.now());
  }

  register(request: RegisterRequest, token: string): Promise<GraphCallResult> {
    const body: Record<string, unknown> = { messaging_product: 'whatsapp', pin: request.pin };
    if (request.dataLocalizationRegion !== undefined) body.data_localization_region = request.dataLocalizationRegion;
    if (request.backup !== undefined) body.backup = { data: request.backup.data, password: request.backup.password };
    const secrets = [token, request.pin, ...(request.backup ? [request.backup.password] : [])];
    return this.#post(`/${request.phoneNumberId}/register`, body, secrets);
  }

  setPin(phoneNumberId: string, pin: string, token: string): Promise<GraphCallResult> {
    return this.#post(`/${phoneNumberId}`, { pin }, [token, pin]);
  }

  requestCode(phoneNumberId: string, method: CodeMethod, language: string, token: string): Promise<GraphCallResult> {
    const query = new URLSearchParams({ code_method: method, language });
    return this.#post(`/${phoneNumberId}/request_code?${query}`, undefined, [token]);
  }

  verifyCode(phoneNumberId: string, code: string, token: string): Promise<GraphCallResult> {
    return this.#post(`/${phoneNumberId}/verify_code?${new URLSearchParams({ code })}`, undefined, [token, code]);
  }

  deregister(phoneNumberId: string, token: string): Promise<GraphCallResult> {
    return this.#post(`/${phoneNumberId}/deregister`, undefined, [token]);
  }

  /** Never rejects: any failure (connect, timeout, a body cut off mid-read, odd JSON) is an `unknown` state. */
  async readState(phoneNumberId: string, token: string): Promise<StateReadResult> {
    try {
      return await this.#readState(phoneNumberId, token);
    } catch (error) {
      // A backstop: #readState handles the failures it knows; nothing may turn a read into a rejection.
      return { kind: 'unknown', why: `state read failed: ${errorName(error)}` };
    }
  }

  async #readState(phoneNumberId: string, token: string): Promise<StateReadResult> {
    const answer = await this.#getJson(`${this.#root}/${phoneNumberId}?fields=${STATE_FIELDS}`, token, READS.state);
    return answer.ok ? { kind: 'known', state: toNumberState(answer.payload) } : answer.failure;
  }

  /** Never rejects, like `readState`: any failure, on any page, makes the whole list `unknown`. */
  async listPhoneNumbers(businessAccountId: string, token: string): Promise<NumberListResult> {
    try {
      return await this.#listPhoneNumbers(businessAccountId, token);
    } catch (error) {
      return { kind: 'unknown', why: `number list failed: ${errorName(error)}` };
    }
  }

  async #listPhoneNumbers(businessAccountId: string, token: string): Promise<NumberListResult> {
    const origin = new URL(this.#root).origin;
    let url = `${this.#root}/${businessAccountId}/phone_numbers?fields=id,display_phone_number&limit=${LIST_PAGE_SIZE}`;
    const numbers: ListedNumber[] = [];
    const visited = new Set<string>();
    for (;;) {
      if (visited.size === LIST_MAX_PAGES) return { kind: 'unknown', why: `number list has more than ${LIST_MAX_PAGES} pages` };
      visited.add(url);
      const answer = await this.#getJson(url, token, READS.list);
      if (!answer.ok) return answer.failure;
      const page = toListPage(answer.payload);
      if (!page) return answer.unknown('number list answered a page without readable numbers');
      numbers.push(...page.numbers);
      if (page.next === undefined) return { kind: 'known', numbers };
      let next: URL;
      try {
        next = new URL(page.next);
      } catch {
        return answer.unknown('number list answered an unreadable paging.next');
      }
      // The token travels with every page: never to another host than the one configured.
      if (next.origin !== origin) return answer.unknown('number list paging.next points to another host; not followed');
      if (visited.has(next.href)) return answer.unknown('number list paging.next repeats a page');
      url = next.href;
    }
  }

  /** One GET with the token: the JSON object Meta answered, or why the read is unknown. */
  async #getJson(url: string, token: string, read: { what: string; noun: string }): Promise<{ ok: true; payload: Record<string, unknown>; unknown: (why: string) => ReadFailure } | { ok: false; failure: ReadFailure }> {
    const { what, noun } = read;
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(this.#options.timeoutMs),
        // Never follow a redirect: the token would go wherever it points.
        redirect: 'manual',
      });
    } catch (error) {
      return { ok: false, failure: { kind: 'unknown', why: isTimeout(error) ? `${what} timed out` : `${what} failed to connect` } };
    }
    const httpStatus = response.status;
    const throttle = throttleFields(response.headers);
    const unknown = (why: string, error?: GraphError): ReadFailure => ({
      kind: 'unknown',
      why,
      httpStatus,
      ...(error ? { code: error.code } : {}),
      ...(error?.fbtraceId ? { fbtraceId: error.fbtraceId } : {}),
      ...throttle,
    });
    let payload: unknown;
    try {
      payload = await readJson(response);
    } catch (error) {
      return { ok: false, failure: unknown(isTimeout(error) ? `${what} timed out reading the HTTP ${httpStatus} body` : `${what} lost the HTTP ${httpStatus} body`) };
    }
    if (response.ok && isPlainObject(payload) && !('error' in payload)) return { ok: true, payload, unknown: (why) => unknown(why) };
    const error = toGraphError(payload, [token], this.#now());
    if (response.ok && !error) return { ok: false, failure: unknown(`${what} answered HTTP ${httpStatus} without a readable ${noun}`) };
    return { ok: false, failure: unknown(`${what} answered HTTP ${httpStatus}`, error) };
  }

  async #post(path: string, body: Record<string, unknown> | undefined, secrets: string[]): Promise<GraphCallResult> {
    const startedHr = performance.now();
    const elapsed = () => Math.round(performance.now() - startedHr);
    let response: Response;
    try {
      response = await fetch(`${this.#root}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${secrets[0]}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.#options.timeoutMs),
        // Never follow a redirect: the token would go wherever it points.
        redirect: 'manual',
      });
    } catch (error) {
      return { kind: 'no_answer', why: isTimeout(error) ? 'timeout' : 'network', durationMs: elapsed() };
    }
    let payload: unknown;
    try {
      payload = await readJson(response);
    } catch (error) {
      return { kind: 'no_answer', why: isTimeout(error) ? 'timeout' : 'network', httpStatus: response.status, durationMs: elapsed() };
    }
    const durationMs = elapsed();
    const success = (payload as { success?: unknown } | undefined)?.success;
    if (response.ok && (success === true || success === 'true')) {
      return { kind: 'success', httpStatus: response.status, durationMs };
    }
    const error = toGraphError(payload, secrets, this.#now());
    if (error) {
      return { kind: 'graph_error', httpStatus: response.status, error, ...throttleFields(response.headers), durationMs };
    }
    return {
      kind: 'no_answer',
      why: response.status >= 500 ? 'server_error' : 'unreadable_response',
      httpStatus: response.status,
      durationMs,
    };
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Graph's snake_case fields → NumberState. A field absent or of an unexpected type stays absent. */
function toNumberState(fields: Record<string, unknown>): NumberState {
  const state: NumberState = {};
  const text = (name: string): string | undefined => (typeof fields[name] === 'string' ? fields[name] : undefined);
  const status = text('status');
  if (status !== undefined) state.status = status;
  const platformType = text('platform_type');
  if (platformType !== undefined) state.platformType = platformType;
  const codeVerificationStatus = text('code_verification_status');
  if (codeVerificationStatus !== undefined) state.codeVerificationStatus = codeVerificationStatus;
  const nameStatus = text('name_status');
  if (nameStatus !== undefined) state.nameStatus = nameStatus;
  const newNameStatus = text('new_name_status');
  if (newNameStatus !== undefined) state.newNameStatus = newNameStatus;
  const displayPhoneNumber = text('display_phone_number');
  if (displayPhoneNumber !== undefined) state.displayPhoneNumber = displayPhoneNumber;
  // Graph sends booleans, but some fields have been seen as "true"/"false" strings.
  const pinEnabled = fields.is_pin_enabled;
  if (typeof pinEnabled === 'boolean') state.isPinEnabled = pinEnabled;
  else if (pinEnabled === 'true' || pinEnabled === 'false') state.isPinEnabled = pinEnabled === 'true';
  return state;
}

/** One page of `GET /{waba-id}/phone_numbers`: its numbers and the next page's URL; undefined when unreadable. */
function toListPage(payload: Record<string, unknown>): { numbers: ListedNumber[]; next?: string } | undefined {
  const data = payload.data;
  if (!Array.isArray(data)) return undefined;
  const numbers: ListedNumber[] = [];
  for (const entry of data) {
    if (!isPlainObject(entry)) return undefined;
    const { id, display_phone_number: displayPhoneNumber } = entry;
    // Ids arrive as strings; a number id as a JSON number would lose digits, so it is not read as one.
    if (typeof id !== 'string' || !/^\d{1,20}$/.test(id) || typeof displayPhoneNumber !== 'string') return undefined;
    numbers.push({ id, displayPhoneNumber });
  }
  const paging = payload.paging;
  const next = isPlainObject(paging) && typeof paging.next === 'string' ? paging.next : undefined;
  return next === undefined ? { numbers } : { numbers, next };
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/** A Graph code as a number: a JSON number, or a string of digits (`"133005"`). Anything else is no code. */
function toCode(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'string' && /^\s*-?\d{1,15}\s*$/.test(value)) return Number(value.trim());
  return undefined;
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

/** The body as JSON, or undefined when it is not JSON. Throws only if the body itself cannot be read. */
async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Meta's error object; `error_data` may be an object or a string, and codes may arrive as digit strings.
 * Known secrets are scrubbed from text. `now` (ms) anchors a lockout's wait when `details` gives a timestamp.
 */
function toGraphError(payload: unknown, secrets: string[], now: number): GraphError | undefined {
  const raw = isPlainObject(payload) ? payload.error : undefined;
  if (!isPlainObject(raw)) return undefined;
  const code = toCode(raw.code);
  if (code === undefined) return undefined;
  const scrub = (value: unknown) => (typeof value === 'string' ? redact(value, secrets) : undefined);
  const errorData = raw.error_data;
  const rawDetails = typeof errorData === 'string' ? errorData : isPlainObject(errorData) ? errorData.details : undefined;
  const details = scrub(rawDetails);
  const error: GraphError = { code };
  const subcode = toCode(raw.error_subcode);
  if (subcode !== undefined) error.subcode = subcode;
  const message = scrub(raw.message);
  if (message !== undefined) error.message = message;
  if (details !== undefined) error.details = details;
  if (typeof raw.fbtrace_id === 'string') error.fbtraceId = raw.fbtrace_id;
  if (PIN_LOCKOUT_CODES.has(code) && typeof rawDetails === 'string') {
    const retryAfterSeconds = parseWaitFromDetails(rawDetails, now);
    if (retryAfterSeconds !== undefined) error.retryAfterSeconds = retryAfterSeconds;
  }
  return error;
}

/** Removes every occurrence of the given secrets (PIN, token) from text that may be logged or dead-lettered. */
function redact(text: string, secrets: string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= 4) result = result.split(secret).join('[REDACTED]');
  }
  return result;
}

/** The throttle fields of an answer, from Meta's `X-Business-Use-Case-Usage` header (absent ones left out). */
function throttleFields(headers: Headers): { regainAfterSeconds?: number; throttledBusinesses?: string[] } {
  const usage = readUsageHeader(headers.get('x-business-use-case-usage'));
  return {
    ...(usage.regainAfterSeconds === undefined ? {} : { regainAfterSeconds: usage.regainAfterSeconds }),
    ...(usage.businesses.length === 0 ? {} : { throttledBusinesses: usage.businesses }),
  };
}
