import { AsyncLocalStorage } from 'node:async_hooks';
import type { AppGates } from '../../../shared/ledger/port.ts';
import type { GraphSimulator } from '../../../tools/graph-simulator.ts';
import type { Delivery, GraphEvent, NumberConditions, Records } from './records.ts';

/** The container died (or a call never returned and Lambda timed out): nothing after it happens. */
class CrashError extends Error {
  override readonly name = 'CrashError';
}

/** An injected infrastructure failure (DynamoDB, Secrets Manager or SQS said no). */
class InjectedFaultError extends Error {
  override readonly name = 'InjectedFaultError';
}

export type PortName = 'ledger' | 'secrets' | 'deadLetters' | 'jobQueue';

/** One Lambda invocation in progress. Port calls find theirs through AsyncLocalStorage. */
export interface Invocation {
  id: number;
  /** Set by a crash: every later call of this invocation throws CrashError. */
  dead: boolean;
  /** Per group (number): the records in batch order, and which one the worker is on. */
  groups: Map<string, { deliveries: Delivery[]; current: number }>;
  /** Graph answers per number not yet followed by a ledger write (a crash now would lose them). */
  unrecorded: Map<string, GraphEvent[]>;
  /** The app's gates on the ledger when the invocation started (what every delivery of it read, or later). */
  gatesAtStart?: AppGates;
}

export const invocations = new AsyncLocalStorage<Invocation>();

/** A fault armed by the program: the `nth` call of a port from now (or the first after a Graph answer) fails. */
export interface ArmedFault {
  port: PortName;
  atCall?: number;
  /** Fires on the first call of the port after a Graph answer matching this (e.g. /^error 133005$/). */
  afterAnswer?: RegExp;
  answerSeen?: boolean;
  effect: 'error' | 'crash';
  /** before: the call does not happen; after: it happens, then the caller sees the failure. */
  when: 'before' | 'after';
  fired?: boolean;
}

/** Methods that are synchronous on their port (a fault there is thrown, not rejected). */
const SYNC_METHODS = new Set(['evict']);
/** Ledger methods that only read; any other call that names a number counts as recording a Graph answer. */
const LEDGER_READ = /^(read|get|history|budgets|number|appGates|snapshot|list|status|find|query|scan|load)/i;

export interface InstrumentHooks {
  records: Records;
  faults: ArmedFault[];
  callCounts: Record<PortName, number>;
  /** Simulator call indexes already matched to a Graph event. */
  claimed: Set<number>;
  /** Called when a Graph call returned (after matching it to the simulator's log). */
  graphDone(event: GraphEvent): void;
  /** Scans what crosses the port for secrets. */
  scan(source: string, value: unknown): void;
}

/**
 * Wraps a port in a Proxy that counts its calls, fires armed faults, stops a crashed invocation, and hands
 * arguments and results to the secret scan. Generic on purpose: it never depends on the port's method names.
 */
export function instrumentPort<T extends object>(target: T, port: PortName, hooks: InstrumentHooks): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      // The secret store's answers are the secrets themselves; everything else the worker writes is scanned.
      const scan = port === 'secrets' ? () => undefined : hooks.scan;
      return (...args: unknown[]) => {
        const invocation = invocations.getStore();
        if (!invocation) return observe(Reflect.apply(value, object, args), (result) => scan(`${port}.${property}`, result));
        const sync = SYNC_METHODS.has(property);
        const fail = (error: Error) => (sync ? raise(error) : Promise.reject(error));
        if (invocation.dead) return fail(new CrashError(`${port}.${property} after the crash`));
        const fault = takeFault(hooks, port);
        scan(`${port}.${property} arguments`, args);
        if (fault?.when === 'before') return fail(fire(fault, invocation, hooks, `${port}.${property}`));
        const settle = (result: unknown) => {
          scan(`${port}.${property} result`, result);
          if (port === 'ledger' && !LEDGER_READ.test(property)) markRecorded(invocation, args);
          if (fault) throw fire(fault, invocation, hooks, `${port}.${property}`);
          return result;
        };
        const result = Reflect.apply(value, object, args);
        return sync ? settle(result) : Promise.resolve(result).then(settle);
      };
    },
  });
}

function observe(result: unknown, scan: (value: unknown) => void): unknown {
  if (result instanceof Promise) return result.then((value) => (scan(value), value));
  scan(result);
  return result;
}

function raise(error: Error): never {
  throw error;
}

function takeFault(hooks: InstrumentHooks, port: PortName): ArmedFault | undefined {
  const index = hooks.callCounts[port]++;
  return hooks.faults.find((fault) => !fault.fired && fault.port === port && (fault.atCall === index || fault.answerSeen === true));
}

function fire(fault: ArmedFault, invocation: Invocation, hooks: InstrumentHooks, where: string): Error {
  fault.fired = true;
  if (fault.effect === 'error') {
    hooks.records.note(`      ! injected error ${fault.when} ${where}`);
    return new InjectedFaultError(`injected failure of ${where}`);
  }
  hooks.records.note(`      ! crash ${fault.when} ${where}: invocation ${invocation.id} dies`);
  invocation.dead = true;
  for (const events of invocation.unrecorded.values()) for (const event of events) event.lost = true;
  return new CrashError(`crash in ${where}`);
}

/** A ledger write naming a number: the answers received for it so far are on the ledger (or being written). */
function markRecorded(invocation: Invocation, args: unknown[]): void {
  const text = safeJson(args);
  for (const phoneNumberId of invocation.unrecorded.keys()) {
    if (text.includes(`"${phoneNumberId}"`)) invocation.unrecorded.delete(phoneNumberId);
  }
}

export function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, inner: unknown) =>
      inner instanceof Map ? Object.fromEntries(inner) : inner instanceof Set ? [...inner] : inner,
    ) ?? '';
  } catch {
    return String(value);
  }
}

/**
 * Wraps the real HttpGraphClient without changing what it does: each call is attributed to the delivery the
 * worker is on, the simulator's view of the number is taken just before (what a pre-flight read would show),
 * and a crashed invocation sends nothing more.
 */
export function instrumentGraph<T extends object>(
  client: T,
  hooks: InstrumentHooks,
  conditionsOf: (phoneNumberId: string) => NumberConditions,
  simulator: GraphSimulator,
  ledgerView: (phoneNumberId: string) => Promise<Pick<NumberConditions, 'pinRotation' | 'business' | 'gates'>>,
): T {
  const operations: Record<string, GraphEvent['operation']> = { register: 'register', deregister: 'deregister', readState: 'read_state' };
  return new Proxy(client, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      const operation = typeof property === 'string' ? operations[property] : undefined;
      if (typeof value !== 'function' || operation === undefined) return value;
      return async (...args: unknown[]) => {
        const invocation = invocations.getStore();
        if (invocation?.dead) throw new CrashError(`graph ${operation} after the crash`);
        const first = args[0];
        const phoneNumberId = typeof first === 'string' ? first : String((first as { phoneNumberId?: unknown }).phoneNumberId);
        const group = invocation?.groups.get(phoneNumberId);
        const event: GraphEvent = {
          startSeq: hooks.records.nextSeq(),
          invocation: invocation?.id ?? 0,
          ...(group?.deliveries[group.current] ? { delivery: group.deliveries[group.current] } : {}),
          phoneNumberId,
          operation,
          before: conditionsOf(phoneNumberId),
          lost: false,
          callsBefore: simulator.calls.length,
        };
        hooks.records.graph.push(event);
        // The ledger as the call leaves (no other delivery writes the number meanwhile: one group per number).
        const view = await ledgerView(phoneNumberId);
        const body = event.delivery?.body;
        const jobBusiness = body === undefined ? undefined : (JSON.parse(body) as { businessAccountId?: string }).businessAccountId;
        const business = jobBusiness ?? view.business;
        Object.assign(event.before, view, business === undefined ? {} : { business }, invocation?.gatesAtStart ? { gatesAtStart: invocation.gatesAtStart } : {});
        try {
          const result = (await Reflect.apply(value, object, args)) as { kind?: unknown; why?: unknown } | undefined;
          // The client gave up before the answer came (a machine under load can make 100 ms pass): the worker never had it.
          if ((result?.kind === 'no_answer' && result.why === 'timeout') || (result?.kind === 'unknown' && /timed out/.test(String(result.why)))) event.timedOut = true;
          return result;
        } catch (error) {
          event.threw = (error as Error).name;
          throw error;
        } finally {
          event.endSeq = hooks.records.nextSeq();
          matchSimulatorCall(event, simulator, hooks);
          hooks.graphDone(event);
          // An answer arriving after its invocation died reached nobody.
          if (invocation?.dead) event.lost = true;
          else if (invocation) invocation.unrecorded.set(phoneNumberId, [...(invocation.unrecorded.get(phoneNumberId) ?? []), event]);
        }
      };
    },
  });
}

/**
 * Matches a Graph event to its entry in the simulator's call log (the first unclaimed call for the same number
 * and operation made after the event started), copies the answer and the secret digests, and arms the faults
 * waiting for such an answer. Called again at the end of an invocation for calls the log showed late.
 */
export function matchSimulatorCall(event: GraphEvent, simulator: GraphSimulator, hooks: InstrumentHooks): void {
  if (event.simIndex !== undefined) return;
  const index = simulator.calls.findIndex(
    (call, position) =>
      position >= event.callsBefore && !hooks.claimed.has(position) && call.phoneNumberId === event.phoneNumberId && call.operation === event.operation,
  );
  if (index < 0) return;
  hooks.claimed.add(index);
  const call = simulator.calls[index]!;
  event.simIndex = index;
  event.answeredWith = call.answeredWith;
  if (call.pinUsed !== undefined) event.pinDigest = call.pinUsed;
  if (call.tokenUsed !== undefined) event.tokenDigest = call.tokenUsed;
  for (const fault of hooks.faults) {
    if (!fault.fired && fault.afterAnswer?.test(call.answeredWith)) fault.answerSeen = true;
  }
}
