import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A stand-in for Meta's Graph API registration endpoints, for tests, benchmarks and the local run.
 * It implements the documented contract on its own (it shares no code with the client under test):
 * per-number state, the two-step PIN, the 10-requests-per-72-hours limit with 133016 and a 72 h block,
 * Graph's error JSON, and fault knobs. Listens on 127.0.0.1 only.
 */

/** A scripted answer for the next request(s) to a number; consumed in order, one per register/deregister. */
export type SimulatedFault =
  /** No fault: answer this request normally (to interleave faults with normal answers). */
  | { type: 'pass' }
  /** HTTP 500 with a non-JSON body; the request is not applied. */
  | { type: 'http500' }
  /** Apply the request, then answer HTTP 500: the caller cannot know it worked. */
  | { type: 'apply_then_http500' }
  /** Never answer (the caller's timeout fires); not applied. */
  | { type: 'hang' }
  /** Apply the request, then never answer. */
  | { type: 'apply_then_hang' }
  /** Close the connection without an answer; not applied. */
  | { type: 'drop' }
  /** Answer with a Graph error. */
  | { type: 'graph_error'; code: number; httpStatus?: number; details?: string; subcode?: number; headers?: Record<string, string> };

export interface SimulatedNumber {
  pin?: string;
  registered: boolean;
  region?: string;
  codeVerificationStatus: 'VERIFIED' | 'NOT_VERIFIED' | 'EXPIRED';
  nameStatus: string;
  /** Times (ms) of register/deregister requests, for the moving window. */
  requestTimes: number[];
  blockedUntil?: number;
  faults: SimulatedFault[];
}

export interface SimulatorCall {
  method: string;
  phoneNumberId: string;
  operation: 'register' | 'deregister' | 'read_state' | 'other';
  /** The parsed JSON body as received, for assertions on exact types (the PIN must arrive as a string). */
  body?: unknown;
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
}

export interface GraphSimulator {
  baseUrl: string;
  calls: SimulatorCall[];
  /** Adds or replaces a number (registered false, PIN unset, VERIFIED by default). */
  addNumber(phoneNumberId: string, settings?: Partial<Omit<SimulatedNumber, 'requestTimes' | 'faults'>>): SimulatedNumber;
  number(phoneNumberId: string): SimulatedNumber | undefined;
  /** Queues faults for a number's next register/deregister requests. */
  inject(phoneNumberId: string, ...faults: SimulatedFault[]): void;
  setLatency(ms: number): void;
  /** register/deregister requests received (not state reads). */
  limitedCalls(phoneNumberId?: string): SimulatorCall[];
  stop(): Promise<void>;
}

const HOUR = 3_600_000;

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
  133010: '(#133010) Phone number not registered',
  133015: '(#133015) Deletion in progress',
  133004: '(#133004) Server temporarily unavailable',
  131000: '(#131000) Unknown error',
  131016: '(#131016) Service unavailable',
  100: '(#100) Invalid parameter',
  190: 'Access token is expired or invalid',
  613: '(#613) Custom rate limit reached',
  80008: '(#80008) Use-case rate limit reached',
};

/** Starts the simulator on 127.0.0.1 on a free port. */
export async function startGraphSimulator(options: GraphSimulatorOptions = {}): Promise<GraphSimulator> {
  const tokens = new Set(options.tokens ?? ['sim-token']);
  const now = options.now ?? (() => Date.now());
  const limit = options.limit ?? 10;
  const windowMs = options.windowMs ?? 72 * HOUR;
  const blockMs = options.blockMs ?? 72 * HOUR;
  let latencyMs = options.latencyMs ?? 0;
  const numbers = new Map<string, SimulatedNumber>();
  const calls: SimulatorCall[] = [];
  const sockets = new Set<Socket>();

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
      request.method === 'GET' && operationPath === undefined
        ? 'read_state'
        : request.method === 'POST' && (operationPath === 'register' || operationPath === 'deregister')
          ? operationPath
          : 'other';
    const call: SimulatorCall = { method: request.method ?? '', phoneNumberId, operation, ...(body !== undefined ? { body } : {}), at: now(), answeredWith: '' };
    calls.push(call);
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    const answer = (status: number, payload: unknown, note: string, headers?: Record<string, string>) => {
      call.answeredWith = note;
      send(response, status, payload, headers);
    };

    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (!token || !tokens.has(token)) return answer(401, graphError(190, MESSAGES[190]!), 'error 190');
    const number = numbers.get(phoneNumberId);
    if (!number) return answer(400, graphError(100, `(#100) Unsupported request: object '${phoneNumberId}' does not exist`), 'error 100');

    if (operation === 'read_state') {
      return answer(200, {
        id: phoneNumberId,
        status: number.registered ? 'CONNECTED' : 'DISCONNECTED',
        platform_type: number.registered ? 'CLOUD_API' : 'NOT_APPLICABLE',
        code_verification_status: number.codeVerificationStatus,
        name_status: number.nameStatus,
        is_pin_enabled: number.pin !== undefined,
      }, 'state');
    }
    if (operation === 'other') return answer(400, graphError(100, '(#100) Unsupported post request'), 'error 100');

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

    const fault = number.faults.shift();
    if (fault?.type === 'http500') {
      call.answeredWith = 'http 500';
      response.writeHead(500, { 'content-type': 'text/html' });
      return void response.end('<html>Internal Server Error</html>');
    }
    if (fault?.type === 'hang') {
      call.answeredWith = 'hang';
      return;
    }
    if (fault?.type === 'drop') {
      call.answeredWith = 'dropped';
      return void request.socket.destroy();
    }
    if (fault?.type === 'graph_error') {
      return answer(fault.httpStatus ?? 400, graphError(fault.code, MESSAGES[fault.code] ?? `(#${fault.code}) Error`, fault.details, fault.subcode), `error ${fault.code}`, fault.headers);
    }

    const result = apply(number, operation, body);
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
  }

  function apply(number: SimulatedNumber, operation: 'register' | 'deregister', body: unknown) {
    if (operation === 'deregister') {
      if (!number.registered) return { status: 400, payload: graphError(133010, MESSAGES[133010]!), note: 'error 133010' };
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
    if (number.codeVerificationStatus !== 'VERIFIED') {
      return { status: 400, payload: graphError(133006, MESSAGES[133006]!), note: 'error 133006' };
    }
    if (number.pin !== undefined && number.pin !== input.pin) {
      return { status: 400, payload: graphError(133005, MESSAGES[133005]!), note: 'error 133005' };
    }
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

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    calls,
    addNumber(phoneNumberId, settings = {}) {
      const number: SimulatedNumber = {
        registered: false,
        codeVerificationStatus: 'VERIFIED',
        nameStatus: 'APPROVED',
        ...settings,
        requestTimes: [],
        faults: [],
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
}
