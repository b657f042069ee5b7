import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  createNumberLifecycle,
  isLifecycleOperation,
  LIFECYCLE_MESSAGES,
  lifecycleOperation,
  type LifecycleInternalField,
  type LifecycleOperation,
  type LifecycleSettings,
  type NumberLifecycleFields,
  type RouteResult,
} from './graph-simulator-lifecycle.ts';

/**
 * A stand-in for Meta's Graph API registration endpoints, for tests, benchmarks and the local run.
 * It implements the documented contract on its own (it shares no code with the client under test):
 * per-number state, the two-step PIN (with Meta's lock after repeated wrong guesses), the 10-requests-per-72-hours
 * limit with 133016 and a 72 h block, an unfinished deregistration (133000), Graph's error JSON, business accounts'
 * number lists (paged, as Meta formats them), and fault knobs for requests, state reads and list pages; the PIN,
 * verification-code and On-Premises migration routes are in graph-simulator-lifecycle.ts. Listens on 127.0.0.1 only.
 * Its call log never holds a PIN, code, backup password or token, only digests.
 *
 * One file, over the usual length, on purpose: tests import one module and the contract is read in one place.
 */

export type { SimulatedFault } from './graph-simulator-faults.ts';
import type { SimulatedFault } from './graph-simulator-faults.ts';

/** A scripted answer for a number's next state read(s) (`GET /{id}`); consumed in order, one per read. */
export type SimulatedReadFault =
  /** No fault: answer this read normally. */
  | { type: 'pass' }
  /** HTTP 500 with a non-JSON body. */
  | { type: 'http500' }
  /** Never answer (the caller's timeout fires). */
  | { type: 'hang' }
  /** Close the connection without an answer. */
  | { type: 'drop' }
  /** Send the status line and headers with a Content-Length larger than what follows, then close: the body is cut off. */
  | { type: 'partial_body' }
  /** Answer with a Graph error (a throttle code with a usage header, 190, ...). */
  | { type: 'graph_error'; code: number; httpStatus?: number; details?: string; subcode?: number; headers?: Record<string, string> }
  /** Answer the state, minus these JSON fields (e.g. `is_pin_enabled`). */
  | { type: 'missing_fields'; fields: readonly string[] };

interface SimulatedNumber extends NumberLifecycleFields {
  pin?: string;
  registered: boolean;
  region?: string;
  codeVerificationStatus: 'VERIFIED' | 'NOT_VERIFIED' | 'EXPIRED';
  nameStatus: string;
  /** Status of a pending display-name change (default NONE). */
  newNameStatus: string;
  /** As Meta shows it; by default '1555' + the last 7 digits of the id. */
  displayPhoneNumber: string;
  /** Times (ms) of register/deregister requests, for the moving window. */
  requestTimes: number[];
  blockedUntil?: number;
  /** A previous deregistration did not finish: register answers 133000 until a deregister succeeds. */
  deregistrationIncomplete?: boolean;
  /** With `deregistrationIncomplete`: deregister succeeds but does not clear it, so register keeps answering 133000. */
  stuck133000?: boolean;
  /** Until this time (ms), register answers 133008 (PIN checks paused). Set by repeated wrong PINs. */
  pinLockedUntil?: number;
  /** Times (ms) of wrong-PIN answers (133005) that count towards the lock. */
  pinFailureTimes: number[];
  faults: SimulatedFault[];
  readFaults: SimulatedReadFault[];
}

/** Fields of a number that the simulator keeps for itself; `addNumber` does not take them. */
type InternalNumberField = 'requestTimes' | 'faults' | 'readFaults' | 'pinFailureTimes' | LifecycleInternalField;

interface SimulatorCall {
  method: string;
  /** The path's object id: the number, or the business account for `list_numbers`. */
  phoneNumberId: string;
  operation: 'register' | 'deregister' | 'read_state' | 'list_numbers' | LifecycleOperation | 'other';
  /**
   * The parsed JSON body as received, except that a `pin`, a `code` and a `backup.password` are replaced by digests
   * (`sha256:<12 hex>`, see `simulatorDigest`). A body that is not JSON is kept only as `[non-JSON body, N bytes]`.
   */
  body?: unknown;
  /** `typeof` the body's `pin` as received, when there was one: the PIN must reach Graph as a JSON string. */
  pinType?: string;
  /** Digest of the body's `pin` (same form as in `body`), to compare "same PIN" without holding it. */
  pinUsed?: string;
  /** Digest of the bearer token presented, to tell token versions apart without holding them. */
  tokenUsed?: string;
  at: number;
  answeredWith: string;
}

export interface GraphSimulatorOptions {
  /** Accepted bearer tokens. */
  tokens?: string[];
  /** Milliseconds before each answer. */
  latencyMs?: number;
  /** Time source (ms); tests share a manual clock with the worker. */
  now?: () => number;
  /** Requests per number per window (Meta: 10 per 72 h, register and deregister counted together here). */
  limit?: number;
  windowMs?: number;
  blockMs?: number;
  /** Wrong PINs (133005) within `pinGuessWindowMs` after which Meta pauses PIN checks (default 3). */
  pinGuessLimit?: number;
  /** Window for counting wrong PINs (default 1 h). */
  pinGuessWindowMs?: number;
  /** How long PIN checks stay paused once the guess limit is reached (default 12 h). */
  pinLockMs?: number;
  /** Numbers per page of `GET /{waba-id}/phone_numbers` at most, whatever `limit` asks (default 2, so tests page). */
  listPageSize?: number;
  /** Extra milliseconds a successful On-Premises migration register takes (default 0; Meta: about 15 s). */
  migrationLatencyMs?: number;
}

/** A business account's number as `addBusiness` takes it; the display number as Meta shows it, or digits. */
interface SimulatedBusinessNumber {
  phoneNumberId: string;
  displayPhoneNumber: string;
}

export interface GraphSimulator {
  baseUrl: string;
  calls: SimulatorCall[];
  /** Adds or replaces a number (registered false, PIN unset, VERIFIED, name APPROVED, new name NONE by default). */
  addNumber(phoneNumberId: string, settings?: Partial<Omit<SimulatedNumber, InternalNumberField>> & LifecycleSettings): SimulatedNumber;
  number(phoneNumberId: string): SimulatedNumber | undefined;
  /** Queues faults for a number's next register/deregister requests. */
  inject(phoneNumberId: string, ...faults: SimulatedFault[]): void;
  /** Queues faults for a number's next state reads (`GET /{id}`). */
  injectRead(phoneNumberId: string, ...faults: SimulatedReadFault[]): void;
  /** Queues faults for a number's next set_pin, request_code and verify_code requests (one queue, one fault per request). */
  injectLifecycle(phoneNumberId: string, ...faults: SimulatedFault[]): void;
  /** The code the number's owner received from the last `request_code`, until a `verify_code` uses it. */
  verificationCode(phoneNumberId: string): string | undefined;
  /**
   * Adds or replaces a business account (WABA) and its numbers, in list order. Numbers not added yet are added with
   * the defaults; the display number of each is set (digits are listed in Meta's form, `+1 555-078-3881`).
   */
  addBusiness(businessAccountId: string, numbers: SimulatedBusinessNumber[]): void;
  /** Queues faults for a business's next list pages (`GET /{waba-id}/phone_numbers`); consumed one per page. */
  injectList(businessAccountId: string, ...faults: SimulatedReadFault[]): void;
  /** Pages of `GET /{waba-id}/phone_numbers` received, for one business or all. */
  listCalls(businessAccountId?: string): SimulatorCall[];
  /** Replaces the accepted bearer tokens (revocation and replacement of the system-user token). */
  setTokens(tokens: string[]): void;
  setLatency(ms: number): void;
  /** register/deregister requests received (not state reads). */
  limitedCalls(phoneNumberId?: string): SimulatorCall[];
  stop(): Promise<void>;
}

const HOUR = 3_600_000;

/** The fields a state read can return, in Graph's names. */
const STATE_FIELDS = [
  'status',
  'platform_type',
  'code_verification_status',
  'name_status',
  'new_name_status',
  'is_pin_enabled',
  'display_phone_number',
] as const;

/**
 * How the simulator's log refers to a secret: `sha256:` and the first 12 hex characters of its SHA-256.
 * Equal digests mean the same value; the value itself is never kept.
 */
export function simulatorDigest(value: string): string {
  return `sha256:${createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 12)}`;
}

/** The call log's copy of a body: the PIN, a verification code and a migration backup's password replaced by digests. */
function loggedBody(body: unknown): unknown {
  if (typeof body === 'string') return `[non-JSON body, ${Buffer.byteLength(body, 'utf8')} bytes]`;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  if ('pin' in copy) copy.pin = simulatorDigest(String(copy.pin));
  if ('code' in copy) copy.code = simulatorDigest(String(copy.code)); // Meta takes verify_code's code in the query; a body may carry it too.
  const backup = copy.backup;
  if (typeof backup === 'object' && backup !== null && 'password' in backup) {
    copy.backup = { ...backup, password: simulatorDigest(String((backup as { password: unknown }).password)) };
  }
  return copy;
}

/**
 * A display number as Meta's list shows it: `+1 631-555-5555` for a North American number given as digits,
 * `+` and the digits otherwise; text that already has a format is shown as given.
 */
function listedDisplayNumber(display: string): string {
  if (/\D/.test(display)) return display;
  if (/^1\d{10}$/.test(display)) return `+1 ${display.slice(1, 4)}-${display.slice(4, 7)}-${display.slice(7)}`;
  return `+${display}`;
}

/** A list cursor: the position of the next entry, opaque to the client like Meta's. */
const encodeCursor = (position: number) => Buffer.from(`pos:${position}`).toString('base64url');
function decodeCursor(cursor: string | null): number {
  const position = Number(/^pos:(\d+)$/.exec(cursor === null ? '' : Buffer.from(cursor, 'base64url').toString())?.[1] ?? 0);
  return Number.isSafeInteger(position) ? position : 0;
}

/** Meta's display form, derived from the id when a test does not set one. */
function defaultDisplayNumber(phoneNumberId: string): string {
  const digits = phoneNumberId.replace(/\D/g, '');
  return `1555${digits.slice(-7).padStart(7, '0')}`;
}

function graphError(code: number, message: string, details?: string, subcode?: number) {
  return {
    error: {
      message,
      type: 'OAuthException',
      code,
      ...(subcode !== undefined ? { error_subcode: subcode } : {}),
      ...(details ? { error_data: { messaging_product: 'whatsapp', details } } : {}),
      fbtrace_id: `Sim${randomBytes(6).toString('hex')}`,
    },
  };
}

const MESSAGES: Record<number, string> = {
  133016: '(#133016) Too many register/deregister attempts',
  133005: '(#133005) PIN does not match',
  133006: '(#133006) Number needs verification',
  133000: '(#133000) Previous deregistration incomplete',
  133008: '(#133008) Too many two-step verification PIN guesses',
  133009: '(#133009) Two-step verification PIN guessed too fast',
  133010: '(#133010) Phone number not registered',
  133015: '(#133015) Deletion in progress',
  133004: '(#133004) Server temporarily unavailable',
  131000: '(#131000) Unknown error',
  131016: '(#131016) Service unavailable',
  100: '(#100) Invalid parameter',
  190: 'Access token is expired or invalid',
  613: '(#613) Custom rate limit reached',
  80008: '(#80008) Use-case rate limit reached',
  ...LIFECYCLE_MESSAGES,
};

type Answer = (status: number, payload: unknown, note: string, headers?: Record<string, string>) => void;

/** Serves the faults requests and reads share (5xx, hang, drop, a Graph error); false when the fault is none of them. */
function serveFault(
  fault: { type: string; code?: number; httpStatus?: number; details?: string; subcode?: number; headers?: Record<string, string> } | undefined,
  call: SimulatorCall,
  request: IncomingMessage,
  response: ServerResponse,
  answer: Answer,
): boolean {
  if (fault?.type === 'http500') {
    call.answeredWith = 'http 500';
    response.writeHead(500, { 'content-type': 'text/html' });
    response.end('<html>Internal Server Error</html>');
    return true;
  }
  if (fault?.type === 'hang') {
    call.answeredWith = 'hang';
    return true;
  }
  if (fault?.type === 'drop') {
    call.answeredWith = 'dropped';
    request.socket.destroy();
    return true;
  }
  if (fault?.type === 'graph_error' && fault.code !== undefined) {
    const message = MESSAGES[fault.code] ?? `(#${fault.code}) Error`;
    answer(fault.httpStatus ?? 400, graphError(fault.code, message, fault.details, fault.subcode), `error ${fault.code}`, fault.headers);
    return true;
  }
  return false;
}

/** Starts the simulator on 127.0.0.1 on a free port. */
export async function startGraphSimulator(options: GraphSimulatorOptions = {}): Promise<GraphSimulator> {
  let tokens = new Set(options.tokens ?? ['sim-token']);
  const now = options.now ?? (() => Date.now());
  const limit = options.limit ?? 10;
  const windowMs = options.windowMs ?? 72 * HOUR;
  const blockMs = options.blockMs ?? 72 * HOUR;
  const pinGuessLimit = options.pinGuessLimit ?? 3;
  const pinGuessWindowMs = options.pinGuessWindowMs ?? HOUR;
  const pinLockMs = options.pinLockMs ?? 12 * HOUR;
  let latencyMs = options.latencyMs ?? 0;
  const listPageSize = options.listPageSize ?? 2;
  const numbers = new Map<string, SimulatedNumber>();
  const businesses = new Map<string, { numberIds: string[]; listFaults: SimulatedReadFault[] }>();
  let baseUrl = '';
  const calls: SimulatorCall[] = [];
  const sockets = new Set<Socket>();
  const lifecycle = createNumberLifecycle({
    digest: simulatorDigest,
    graphError: (code, details, message) => graphError(code, message ?? MESSAGES[code] ?? `(#${code}) Error`, details),
    migrationLatencyMs: options.migrationLatencyMs ?? 0,
  });

  const send = (response: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(payload));
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const [, , phoneNumberId = '', operationPath] = url.pathname.split('/'); // /v25.0/{id}/{op}
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = rawBody ? JSON.parse(rawBody) : undefined;
    } catch {
      body = rawBody;
    }
    const operation =
      lifecycleOperation(request.method, operationPath) ??
      (request.method === 'GET' && operationPath === undefined
        ? 'read_state'
        : request.method === 'GET' && operationPath === 'phone_numbers'
          ? 'list_numbers'
          : request.method === 'POST' && (operationPath === 'register' || operationPath === 'deregister')
            ? operationPath
            : 'other');
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const pin = typeof body === 'object' && body !== null && 'pin' in body ? (body as { pin: unknown }).pin : undefined;
    const call: SimulatorCall = {
      method: request.method ?? '',
      phoneNumberId,
      operation,
      ...(body !== undefined ? { body: loggedBody(body) } : {}),
      ...(pin !== undefined ? { pinType: typeof pin, pinUsed: simulatorDigest(String(pin)) } : {}),
      ...(token !== undefined ? { tokenUsed: simulatorDigest(token) } : {}),
      at: now(),
      answeredWith: '',
    };
    calls.push(call);
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    const answer = (status: number, payload: unknown, note: string, headers?: Record<string, string>) => {
      call.answeredWith = note;
      send(response, status, payload, headers);
    };
    /** Serves a scripted fault, or applies the request (`run`) and answers, unless the fault drops the answer. */
    const respond = async (fault: SimulatedFault | undefined, run: () => RouteResult | Promise<RouteResult>): Promise<void> => {
      if (serveFault(fault, call, request, response, answer)) return;
      const result = await run();
      if (fault?.type === 'apply_then_hang') {
        call.answeredWith = `applied (${result.note}), then hang`;
        return;
      }
      if (fault?.type === 'apply_then_http500') {
        call.answeredWith = `applied (${result.note}), then http 500`;
        response.writeHead(502, { 'content-type': 'text/html' });
        return void response.end('<html>Bad Gateway</html>');
      }
      return answer(result.status, result.payload, result.note);
    };

    if (!token || !tokens.has(token)) return answer(401, graphError(190, MESSAGES[190]!), 'error 190');
    if (operation === 'list_numbers') return listNumbers(phoneNumberId, url, request, response, call, answer);
    const number = numbers.get(phoneNumberId);
    if (!number) return answer(400, graphError(100, `(#100) Unsupported request: object '${phoneNumberId}' does not exist`), 'error 100');

    if (operation === 'read_state') return readState(phoneNumberId, number, url, request, response, call, answer);
    if (operation === 'other') return answer(400, graphError(100, '(#100) Unsupported post request'), 'error 100');
    if (isLifecycleOperation(operation)) return respond(number.lifecycleFaults.shift(), () => lifecycle.apply(number, operation, url, body));

    const at = now();
    // Every request counts against the window, including the refused ones (as far as anyone knows).
    number.requestTimes = number.requestTimes.filter((time) => time > at - windowMs);
    if (number.blockedUntil !== undefined && number.blockedUntil > at) {
      number.requestTimes.push(at);
      return answer(400, graphError(133016, MESSAGES[133016]!, 'Limit reached; retry after 72 hours.'), 'error 133016');
    }
    number.requestTimes.push(at);
    if (number.requestTimes.length > limit) {
      number.blockedUntil = at + blockMs;
      return answer(400, graphError(133016, MESSAGES[133016]!, 'Limit reached; retry after 72 hours.'), 'error 133016');
    }

    return respond(number.faults.shift(), () =>
      operation === 'register' ? lifecycle.register(number, body, () => apply(number, operation, body)) : apply(number, operation, body),
    );
  }

  function readState(
    phoneNumberId: string,
    number: SimulatedNumber,
    url: URL,
    request: IncomingMessage,
    response: ServerResponse,
    call: SimulatorCall,
    answer: (status: number, payload: unknown, note: string, headers?: Record<string, string>) => void,
  ): void {
    const fault = number.readFaults.shift();
    if (serveFault(fault, call, request, response, answer)) return;
    const state: Record<string, unknown> = {
      ...lifecycle.platform(number),
      code_verification_status: number.codeVerificationStatus,
      name_status: number.nameStatus,
      new_name_status: number.newNameStatus,
      is_pin_enabled: number.pin !== undefined,
      display_phone_number: number.displayPhoneNumber,
    };
    // Like Graph, answer the fields asked for (all of ours when `fields` is absent), plus the id.
    const asked = url.searchParams.get('fields')?.split(',').map((field) => field.trim());
    const omitted = new Set(fault?.type === 'missing_fields' ? fault.fields : []);
    const payload: Record<string, unknown> = { id: phoneNumberId };
    for (const field of STATE_FIELDS) {
      if ((asked === undefined || asked.includes(field)) && !omitted.has(field)) payload[field] = state[field];
    }
    if (fault?.type === 'partial_body') {
      const text = JSON.stringify(payload);
      call.answeredWith = 'state, cut off mid-body';
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text) + 64) });
      // Close only once the partial write has left, so the caller sees headers and half a body.
      return void response.write(text.slice(0, Math.floor(text.length / 2)), () => request.socket.destroy());
    }
    return answer(200, payload, omitted.size > 0 ? `state (without ${[...omitted].join(', ')})` : 'state');
  }

  /** One page of a business's numbers, in the order `addBusiness` gave them, with Meta's cursors and `next`. */
  function listNumbers(businessAccountId: string, url: URL, request: IncomingMessage, response: ServerResponse, call: SimulatorCall, answer: Answer): void {
    const business = businesses.get(businessAccountId);
    if (!business) return answer(400, graphError(100, `(#100) Unsupported get request. Object with ID '${businessAccountId}' does not exist`), 'error 100');
    if (serveFault(business.listFaults.shift(), call, request, response, answer)) return;
    const asked = Number(url.searchParams.get('limit'));
    const size = Math.min(listPageSize, Number.isSafeInteger(asked) && asked > 0 ? asked : listPageSize);
    const start = decodeCursor(url.searchParams.get('after'));
    const ids = business.numberIds.slice(start, start + size);
    const fields = url.searchParams.get('fields')?.split(',').map((field) => field.trim());
    const data = ids.map((id) => ({
      ...(fields === undefined || fields.includes('display_phone_number') ? { display_phone_number: listedDisplayNumber(numbers.get(id)!.displayPhoneNumber) } : {}),
      id,
    }));
    const end = start + ids.length;
    const paging: Record<string, unknown> = { cursors: { before: encodeCursor(start), after: encodeCursor(end) } };
    if (end < business.numberIds.length) {
      const next = new URL(`${baseUrl}${url.pathname}${url.search}`);
      next.searchParams.set('after', encodeCursor(end));
      paging.next = next.href;
    }
    return answer(200, { data, paging }, `list (${ids.length} of ${business.numberIds.length})`);
  }

  function apply(number: SimulatedNumber, operation: 'register' | 'deregister', body: unknown): RouteResult {
    const at = now();
    if (operation === 'deregister') {
      if (number.deregistrationIncomplete) {
        // Finishing the earlier deregistration is what repairs 133000, registered or not; a stuck number stays broken.
        if (!number.stuck133000) number.deregistrationIncomplete = false;
      } else if (!number.registered) {
        return { status: 400, payload: graphError(133010, MESSAGES[133010]!), note: 'error 133010' };
      }
      number.registered = false;
      delete number.region;
      return { status: 200, payload: { success: true }, note: 'deregistered' };
    }
    const input = (body ?? {}) as { messaging_product?: unknown; pin?: unknown; data_localization_region?: unknown };
    if (input.messaging_product !== 'whatsapp') {
      return { status: 400, payload: graphError(100, '(#100) The parameter messaging_product is required.'), note: 'error 100' };
    }
    if (typeof input.pin !== 'string' || !/^\d{6}$/.test(input.pin)) {
      return { status: 400, payload: graphError(100, '(#100) Param pin must be a 6-digit string.'), note: 'error 100' };
    }
    if (number.deregistrationIncomplete) {
      return { status: 500, payload: graphError(133000, MESSAGES[133000]!), note: 'error 133000' };
    }
    if (number.pinLockedUntil !== undefined && at < number.pinLockedUntil) {
      const hours = Math.ceil((number.pinLockedUntil - at) / HOUR);
      const details = `Too many PIN attempts. Try again in ${hours} hour${hours === 1 ? '' : 's'}`;
      return { status: 400, payload: graphError(133008, MESSAGES[133008]!, details), note: 'error 133008' };
    }
    if (number.codeVerificationStatus !== 'VERIFIED') {
      return { status: 400, payload: graphError(133006, MESSAGES[133006]!), note: 'error 133006' };
    }
    if (number.pin !== undefined && number.pin !== input.pin) {
      // Meta pauses PIN checks after repeated wrong guesses; the guess that reaches the limit is still a 133005.
      number.pinFailureTimes = number.pinFailureTimes.filter((time) => time > at - pinGuessWindowMs);
      number.pinFailureTimes.push(at);
      if (number.pinFailureTimes.length >= pinGuessLimit) {
        number.pinLockedUntil = at + pinLockMs;
        number.pinFailureTimes = [];
      }
      return { status: 400, payload: graphError(133005, MESSAGES[133005]!), note: 'error 133005' };
    }
    number.pinFailureTimes = [];
    const region = input.data_localization_region;
    if (region !== undefined && (typeof region !== 'string' || !/^[A-Z]{2}$/.test(region))) {
      return { status: 400, payload: graphError(100, '(#100) Invalid data_localization_region'), note: 'error 100' };
    }
    number.pin ??= input.pin; // With two-step verification off, the PIN sent becomes the PIN.
    number.registered = true;
    if (typeof region === 'string') number.region = region;
    else delete number.region;
    return { status: 200, payload: { success: true }, note: 'registered' };
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, graphError(1, `simulator failure: ${(error as Error).message}`));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}`;

  const simulator: GraphSimulator = {
    baseUrl,
    calls,
    addNumber(phoneNumberId, settings = {}) {
      const { backupPassword, ...fields } = settings;
      const number: SimulatedNumber = {
        registered: false,
        codeVerificationStatus: 'VERIFIED',
        nameStatus: 'APPROVED',
        newNameStatus: 'NONE',
        displayPhoneNumber: defaultDisplayNumber(phoneNumberId),
        ...fields,
        requestTimes: [],
        pinFailureTimes: [],
        faults: [],
        readFaults: [],
        ...lifecycle.initial(backupPassword),
      };
      numbers.set(phoneNumberId, number);
      return number;
    },
    number: (phoneNumberId) => numbers.get(phoneNumberId),
    inject(phoneNumberId, ...faults) {
      const number = numbers.get(phoneNumberId);
      if (!number) throw new Error(`simulator: no number ${phoneNumberId}; addNumber first`);
      number.faults.push(...faults);
    },
    injectRead(phoneNumberId, ...faults) {
      const number = numbers.get(phoneNumberId);
      if (!number) throw new Error(`simulator: no number ${phoneNumberId}; addNumber first`);
      number.readFaults.push(...faults);
    },
    injectLifecycle(phoneNumberId, ...faults) {
      const number = numbers.get(phoneNumberId);
      if (!number) throw new Error(`simulator: no number ${phoneNumberId}; addNumber first`);
      number.lifecycleFaults.push(...faults);
    },
    verificationCode(phoneNumberId) {
      const number = numbers.get(phoneNumberId);
      if (!number) throw new Error(`simulator: no number ${phoneNumberId}; addNumber first`);
      return number.verificationCode;
    },
    addBusiness(businessAccountId, listed) {
      for (const { phoneNumberId, displayPhoneNumber } of listed) {
        const number = numbers.get(phoneNumberId) ?? simulator.addNumber(phoneNumberId);
        number.displayPhoneNumber = displayPhoneNumber;
      }
      businesses.set(businessAccountId, { numberIds: listed.map((entry) => entry.phoneNumberId), listFaults: [] });
    },
    injectList(businessAccountId, ...faults) {
      const business = businesses.get(businessAccountId);
      if (!business) throw new Error(`simulator: no business ${businessAccountId}; addBusiness first`);
      business.listFaults.push(...faults);
    },
    listCalls: (businessAccountId) =>
      calls.filter((call) => call.operation === 'list_numbers' && (businessAccountId === undefined || call.phoneNumberId === businessAccountId)),
    setTokens(next) {
      tokens = new Set(next);
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    limitedCalls: (phoneNumberId) =>
      calls.filter((call) => (call.operation === 'register' || call.operation === 'deregister') && (phoneNumberId === undefined || call.phoneNumberId === phoneNumberId)),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return simulator;
}
