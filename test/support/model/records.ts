import type { DeadLetterEnvelopeV1 } from '../../../shared/jobs/dlq-envelope.v1.ts';
import type { AppGates } from '../../../shared/ledger/port.ts';

/**
 * What a model run remembers: every delivery, Graph request, outcome, operator action and dead letter, in one
 * order (`seq`). The invariants read only this and the simulator's call log; the report prints it.
 */

/** The outcome hook's argument (the worker's `onOutcome`), read loosely. */
export interface ModelOutcome {
  status: 'completed' | 'duplicate' | 'dead_lettered' | 'retry' | 'wait' | string;
  jobKey: string;
  phoneNumberId?: string;
  action?: string;
  category?: string;
  detail?: string;
  graphCalls?: unknown[];
}

/** One SQS record handed to the worker. */
export interface Delivery {
  invocation: number;
  messageId: string;
  receiptHandle: string;
  jobKey: string;
  generation: number;
  body: string;
  action: string;
  phoneNumberId: string;
  receiveCount: number;
}

/** The simulator's view of a number just before a request was sent: what a pre-flight read could have shown. */
export interface NumberConditions {
  now: number;
  verification?: string;
  pinLockedUntil?: number;
  registered?: boolean;
  /** Secrets Manager holds a usable PIN for the number (not what a cache may still serve). */
  pinStored: boolean;
  /** Digests of Meta's PIN for the number and of the PIN labelled AWSCURRENT, when there are such PINs. */
  metaPin?: string;
  currentPin?: string;
  /** Businesses whose own token is stored now. */
  ownTokens: string[];
  /** The ledger right before the call: the rotation it marks, the number's business as known (the job's, else the ledger's). */
  pinRotation?: string;
  business?: string;
  /** The app's gates on the ledger right before the call, and when its invocation started. */
  gates?: AppGates;
  gatesAtStart?: AppGates;
}

export interface GraphEvent {
  /** Global order when the worker started the call and when it got the result. */
  startSeq: number;
  endSeq?: number;
  invocation: number;
  delivery?: Delivery;
  phoneNumberId: string;
  operation: 'register' | 'deregister' | 'read_state';
  /** Index in `simulator.calls`, matched after the call. */
  simIndex?: number;
  answeredWith?: string;
  pinDigest?: string;
  tokenDigest?: string;
  before: NumberConditions;
  /** A crash hit the delivery after this answer and before any ledger write for the number: the answer may be lost. */
  lost: boolean;
  /**
   * The worker's client timed out: whatever the simulator logged as its answer never reached the worker (on a loaded
   * machine the model's 100 ms Graph timeout can pass before a prompt answer arrives).
   */
  timedOut?: boolean;
  /** The client threw instead of returning a result (its contract says it never does). */
  threw?: string;
  /** Calls count since the call started, to find its entry in `simulator.calls`. */
  callsBefore: number;
}

export interface OutcomeEvent {
  seq: number;
  outcome: ModelOutcome;
  delivery?: Delivery;
}

/** Operator actions that may legitimately allow a refused secret again (see invariant 2). */
export interface OperatorEvent {
  seq: number;
  kind: 'hold_clear' | 'hold_clear_token' | 'store_pin' | 'store_token';
  phoneNumberId?: string;
  digest?: string;
  /** hold_clear: which of the number's holds the command removed (`wa-registrar hold clear` removes the account hold first). */
  cleared?: 'hold' | 'accountHold';
}

/** What an account update means, by the model's own reading of Meta's documentation (not the resolver's table). */
export type AccountEffect = 'restricts' | 'lifts' | 'informational';

/** A change at Meta (the model's truth) and what its webhook says about it. */
export interface MetaChange {
  seq: number;
  changeId: string;
  field: 'phone_number_name_update' | 'security' | 'account_update';
  businessAccountId: string;
  /** `entry[].time` (unix seconds) and the same in ms: the event time the resolver sees. */
  time: number;
  eventAt: number;
  /** When it happened on the model clock (the event time is this, cut to the second). */
  happenedAt: number;
  value: Record<string, unknown>;
  /** Name decisions and security events: the number they concern. */
  phoneNumberId?: string;
  decision?: string;
  security?: 'PIN_CHANGED' | 'PIN_RESET_REQUEST';
  account?: AccountEffect;
  /** A PIN_CHANGED that echoes wa-registrar's own PIN set (a rotation's setSecret): not a PIN someone else chose. */
  echo?: boolean;
}

/** One `verify confirm`: what it answered and the number's holds on the ledger before and after. */
export interface VerificationRecord {
  seq: number;
  phoneNumberId: string;
  ok: boolean;
  before: { hold?: string; accountHold?: string };
  after: { hold?: string; accountHold?: string };
}

/** One POST to the receiver. */
export interface WebhookPost {
  seq: number;
  changeIds: string[];
  signature: 'valid' | 'wrong_secret' | 'malformed' | 'missing' | 'tampered';
  status: number;
  /** The receiver's outcome, read loosely. */
  published: string[];
  duplicates: string[];
  unmarked: string[];
  failed: string[];
  ignored: string[];
  /** Refused requests: what the receiver's side effects looked like before and after (they must be equal). */
  before?: string;
  after?: string;
}

/** One event the receiver put on the (model) bus. */
export interface PublishedEvent {
  seq: number;
  changeId: string;
  detailType: string;
}

/** A job the resolver sent, as far as the invariants read it. */
interface ResolverJob {
  idempotencyKey: string;
  action: string;
  reason?: string;
  phoneNumberId: string;
}

/** One delivery of an event to the resolver, and what it did. */
export interface ResolvedEvent {
  startSeq: number;
  seq: number;
  at: number;
  messageId: string;
  changeId?: string;
  detailType?: string;
  /** The resolver's outcome (undefined when it threw: the message comes back). */
  status?: string;
  phoneNumberIds: string[];
  jobs: ResolverJob[];
  detail?: string;
}

export interface DeadLetterRecord {
  seq: number;
  at: number;
  messageId: string;
  envelope: DeadLetterEnvelopeV1;
  /** Dropped by the DLQ's FIFO deduplication (same job key, generation and category within 5 minutes). */
  deduped: boolean;
  redriven: boolean;
}

/** One job identity: its key and redrive generation. */
export const jobId = (jobKey: string, generation: number) => `${jobKey}#g${generation}`;

export class Records {
  #seq = 0;
  readonly graph: GraphEvent[] = [];
  readonly outcomes: OutcomeEvent[] = [];
  readonly operator: OperatorEvent[] = [];
  readonly deadLetters: DeadLetterRecord[] = [];
  /** The events path: Meta's changes, the webhook POSTs, what was published and what the resolver did. */
  readonly changes: MetaChange[] = [];
  readonly posts: WebhookPost[] = [];
  readonly published: PublishedEvent[] = [];
  readonly resolved: ResolvedEvent[] = [];
  /** Registrations and deregistrations someone made outside wa-registrar (the `external` step). */
  readonly external: Array<{ seq: number; at: number; phoneNumberId: string; registered: boolean }> = [];
  /** Digests of the PINs PIN rotations generated (stored AWSPENDING, then maybe set at Meta). */
  readonly rotationPins = new Set<string>();
  /** Rotation steps: when a rotation step ran (seq) for which number, and whether the ledger marked a rotation after it. */
  readonly rotations: Array<{ seq: number; phoneNumberId: string; marked: boolean }> = [];
  readonly verifications: VerificationRecord[] = [];
  /** Jobs put on the queue (by the program or a redrive): the first body sent under each identity. */
  readonly enqueued = new Map<string, { jobKey: string; generation: number; phoneNumberId: string; body: string }>();
  /** Readable timeline for the counterexample report. */
  readonly trace: string[] = [];
  /** Violations found while running (secret leaks, livelocks); the invariants add theirs on top. */
  readonly runtimeViolations: string[] = [];

  nextSeq(): number {
    this.#seq += 1;
    return this.#seq;
  }

  note(line: string): void {
    this.trace.push(line);
  }

  violation(text: string): void {
    if (!this.runtimeViolations.includes(text)) this.runtimeViolations.push(text);
  }
}
