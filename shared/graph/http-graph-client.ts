import type { GraphCallResult, GraphClient, GraphError, NumberState, RegisterRequest, StateReadResult } from './port.ts';

export interface HttpGraphClientOptions {
  /** e.g. https://graph.facebook.com (production) or the simulator's http://127.0.0.1:PORT */
  baseUrl: string;
  /** e.g. v25.0 */
  version: string;
  timeoutMs: number;
}

const STATE_FIELDS = 'status,platform_type,code_verification_status,name_status';

/** Graph API over HTTPS with `fetch`: one request per call, a hard timeout, and no retries of its own. */
export class HttpGraphClient implements GraphClient {
  readonly #options: HttpGraphClientOptions;
  readonly #root: string;

  constructor(options: HttpGraphClientOptions) {
    this.#options = options;
    this.#root = `${options.baseUrl.replace(/\/+$/, '')}/${options.version}`;
  }

  register(request: RegisterRequest, token: string): Promise<GraphCallResult> {
    const body: Record<string, string> = { messaging_product: 'whatsapp', pin: request.pin };
    if (request.dataLocalizationRegion !== undefined) body.data_localization_region = request.dataLocalizationRegion;
    return this.#post(`/${request.phoneNumberId}/register`, body, [token, request.pin]);
  }

  deregister(phoneNumberId: string, token: string): Promise<GraphCallResult> {
    return this.#post(`/${phoneNumberId}/deregister`, undefined, [token]);
  }

  async readState(phoneNumberId: string, token: string): Promise<StateReadResult> {
    let response: Response;
    try {
      response = await fetch(`${this.#root}/${phoneNumberId}?fields=${STATE_FIELDS}`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
    } catch (error) {
      return { kind: 'unknown', why: isTimeout(error) ? 'state read timed out' : 'state read failed to connect' };
    }
    const payload = await readJson(response);
    if (response.ok && payload !== undefined && typeof payload === 'object' && payload !== null && !('error' in payload)) {
      const fields = payload as Record<string, unknown>;
      const text = (name: string) => (typeof fields[name] === 'string' ? { [name]: fields[name] } : {});
      const state: NumberState = {
        ...renamed(text('status'), 'status', 'status'),
        ...renamed(text('platform_type'), 'platform_type', 'platformType'),
        ...renamed(text('code_verification_status'), 'code_verification_status', 'codeVerificationStatus'),
        ...renamed(text('name_status'), 'name_status', 'nameStatus'),
      };
      return { kind: 'known', state };
    }
    const error = toGraphError(payload, [token]);
    return {
      kind: 'unknown',
      why: `state read answered HTTP ${response.status}`,
      ...(error ? { code: error.code } : {}),
      ...(error?.fbtraceId ? { fbtraceId: error.fbtraceId } : {}),
    };
  }

  async #post(path: string, body: Record<string, string> | undefined, secrets: string[]): Promise<GraphCallResult> {
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
    const error = toGraphError(payload, secrets);
    if (error) {
      const regainAfterSeconds = regainSeconds(response.headers);
      return {
        kind: 'graph_error',
        httpStatus: response.status,
        error,
        ...(regainAfterSeconds === undefined ? {} : { regainAfterSeconds }),
        durationMs,
      };
    }
    return {
      kind: 'no_answer',
      why: response.status >= 500 ? 'server_error' : 'unreadable_response',
      httpStatus: response.status,
      durationMs,
    };
  }
}

function renamed(entry: Record<string, unknown>, from: string, to: string): Record<string, string> {
  return from in entry ? { [to]: String(entry[from]) } : {};
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

/** Meta's error object; `error_data` may be an object or a string. Known secrets are scrubbed from text. */
function toGraphError(payload: unknown, secrets: string[]): GraphError | undefined {
  const raw = (payload as { error?: Record<string, unknown> } | undefined)?.error;
  if (!raw || typeof raw !== 'object' || typeof raw.code !== 'number') return undefined;
  const scrub = (value: unknown) => (typeof value === 'string' ? redact(value, secrets) : undefined);
  const errorData = raw.error_data;
  const details =
    typeof errorData === 'string'
      ? scrub(errorData)
      : scrub((errorData as { details?: unknown } | undefined)?.details);
  const error: GraphError = { code: raw.code };
  if (typeof raw.error_subcode === 'number') error.subcode = raw.error_subcode;
  const message = scrub(raw.message);
  if (message !== undefined) error.message = message;
  if (details !== undefined) error.details = details;
  if (typeof raw.fbtrace_id === 'string') error.fbtraceId = raw.fbtrace_id;
  return error;
}

/** Removes every occurrence of the given secrets (PIN, token) from text that may be logged or dead-lettered. */
export function redact(text: string, secrets: string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= 4) result = result.split(secret).join('[REDACTED]');
  }
  return result;
}

/**
 * Seconds until Meta lifts a throttle, from `X-Business-Use-Case-Usage`
 * (`estimated_time_to_regain_access` is in minutes). Undefined when absent or unreadable.
 */
export function regainSeconds(headers: Headers): number | undefined {
  const header = headers.get('x-business-use-case-usage');
  if (!header) return undefined;
  try {
    const usage = JSON.parse(header) as Record<string, Array<{ estimated_time_to_regain_access?: unknown }>>;
    const minutes = Object.values(usage)
      .flat()
      .map((entry) => entry.estimated_time_to_regain_access)
      .filter((value): value is number => typeof value === 'number' && value > 0);
    return minutes.length > 0 ? Math.max(...minutes) * 60 : undefined;
  } catch {
    return undefined;
  }
}
