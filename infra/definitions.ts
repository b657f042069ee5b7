/**
 * The one definition of the queues and the ledger table. The CDK constructs build the cloud
 * resources from it and `tools/emulator-resources.ts` provisions the emulator from it, so local and
 * cloud cannot drift; `test/infra/emulator-resources.test.ts` checks both against the synthesized template.
 *
 * Plain data on purpose: no aws-cdk-lib import, so the local tools load it in milliseconds.
 */
import { LEDGER_KEYS } from '../shared/ledger/items.ts';

/** Worker timeout. Graph calls time out after 30 s and one number's jobs in a batch run in sequence. */
export const WORKER_TIMEOUT_SECONDS = 180;

/** Scheduled redrive timeout: one run moves at most a few hundred messages. */
export const REDRIVE_TIMEOUT_SECONDS = 60;

/**
 * Webhook receiver timeout. A delivery verifies, claims, puts and marks: a second or two. Meta waits a few seconds for
 * the answer and redelivers on a timeout, so a longer timeout would only keep a stuck delivery's claim longer.
 */
export const RECEIVER_TIMEOUT_SECONDS = 10;

/**
 * Receiver env CLAIM_TIMEOUT_SECONDS: a claim older than this is a dead delivery's and is taken over. Above the
 * receiver's timeout, so no live delivery's claim is ever taken over (a duplicate, never a loss, if it were).
 */
export const RECEIVER_CLAIM_TIMEOUT_SECONDS = 60;

/**
 * Event resolver timeout. A batch holds up to 10 events, resolved one after the other; an event may read a business's
 * number list from Graph (a few pages of RESOLVER_GRAPH_TIMEOUT_MS at most each) besides its ledger writes and one job send.
 */
export const RESOLVER_TIMEOUT_SECONDS = 300;

/** The resolver's Graph timeout (env GRAPH_TIMEOUT_MS): it only reads number lists, which answer in well under a second. */
export const RESOLVER_GRAPH_TIMEOUT_MS = 10_000;

/** Deadline watch timeout: one Query and one read per listed number. */
export const DEADLINE_WATCH_TIMEOUT_SECONDS = 60;

/** The deadline watch raises NameDeadlineAtRisk for an unmet name-approval deadline closer than this (env DEADLINE_WARN_DAYS). */
export const DEADLINE_WARN_DAYS = 3;

/**
 * PIN rotation function timeout. Secrets Manager invokes it once per step; the longest, setSecret, is a ledger read and
 * write, two secret reads and one Graph call of PIN_ROTATION_GRAPH_TIMEOUT_MS at most (a rollback adds two writes).
 */
export const PIN_ROTATION_TIMEOUT_SECONDS = 60;

/** The rotation's Graph timeout (env GRAPH_TIMEOUT_MS): `POST /{id}` and a state read, which answer in about a second. */
export const PIN_ROTATION_GRAPH_TIMEOUT_MS = 15_000;

/** The worker dead-letters a job itself after this many deliveries (worker env MAX_DELIVERIES). */
export const WORKER_MAX_DELIVERIES = 6;

/** A FIFO queue as both the stack and the emulator create it. */
export interface QueueDefinition {
  /** Suffix of the queue name; `.fifo` is appended. */
  readonly nameSuffix: string;
  readonly fifo: true;
  /** The producer sets MessageDeduplicationId (the job's idempotency key), so content is never hashed. */
  readonly contentBasedDeduplication: false;
  readonly visibilityTimeoutSeconds: number;
  readonly retentionSeconds: number;
  /** Set on the job queue only: receives before SQS moves a message to the dead-letter queue. */
  readonly maxReceiveCount?: number;
}

const DAY = 24 * 60 * 60;

/** Dead letters wait for a person: SQS's longest retention. FIFO resets the enqueue time on a move, so a job gets the full 14 days here. */
export const DEAD_LETTER_QUEUE = {
  nameSuffix: 'dead-letters',
  fifo: true,
  contentBasedDeduplication: false,
  // The scheduled redrive receives from here; 6x its timeout, as for the job queue.
  visibilityTimeoutSeconds: 6 * REDRIVE_TIMEOUT_SECONDS,
  retentionSeconds: 14 * DAY,
} as const satisfies QueueDefinition;

export const JOB_QUEUE = {
  nameSuffix: 'jobs',
  fifo: true,
  contentBasedDeduplication: false,
  // At least 6x the function timeout (AWS's guidance for SQS event sources), so a batch that is
  // still running, or being retried by the poller after a throttle, is never handed out twice.
  visibilityTimeoutSeconds: 6 * WORKER_TIMEOUT_SECONDS,
  // A job may be parked for up to a day (133008/133009) several times; it must never expire silently.
  retentionSeconds: 14 * DAY,
  // Backstop only: the worker dead-letters with its own envelope after WORKER_MAX_DELIVERIES.
  // SQS moves a message here only if the worker crashed on it repeatedly.
  maxReceiveCount: 10,
} as const satisfies QueueDefinition;

/** A standard (not FIFO) queue: the event path's buffer and its dead-letter queue. */
interface StandardQueueDefinition {
  readonly visibilityTimeoutSeconds: number;
  readonly retentionSeconds: number;
  readonly maxReceiveCount?: number;
}

/** The event path's dead letters wait for a person, like the jobs': SQS's longest retention. */
export const EVENTS_DEAD_LETTER_QUEUE = {
  // Nothing consumes it; an operator peeking with `aws sqs receive-message` holds a message this long.
  visibilityTimeoutSeconds: 30,
  retentionSeconds: 14 * DAY,
} as const satisfies StandardQueueDefinition;

/** EventBridge → the event resolver. Standard: events have no order that matters, and the resolver is idempotent. */
export const EVENT_BUFFER_QUEUE = {
  // At least 6x the resolver's timeout, as for the job queue.
  visibilityTimeoutSeconds: 6 * RESOLVER_TIMEOUT_SECONDS,
  // An event waits out a long resolver or Graph outage instead of expiring.
  retentionSeconds: 14 * DAY,
  // An event whose Graph reads failed 5 times, 30 minutes apart (the visibility timeout), needs a person.
  maxReceiveCount: 5,
} as const satisfies StandardQueueDefinition;

/** The attempt ledger's key layout, exactly as the DynamoDB adapter reads and writes it. */
export const LEDGER_TABLE = {
  nameSuffix: 'ledger',
  partitionKey: { name: LEDGER_KEYS.partitionKey, type: 'S' },
  sortKey: { name: LEDGER_KEYS.sortKey, type: 'S' },
  ttlAttribute: LEDGER_KEYS.ttlAttribute,
  billingMode: 'PAY_PER_REQUEST',
} as const;

if (RECEIVER_CLAIM_TIMEOUT_SECONDS <= RECEIVER_TIMEOUT_SECONDS) {
  // A claim must outlive every delivery that may still hold it.
  throw new Error('RECEIVER_CLAIM_TIMEOUT_SECONDS must exceed RECEIVER_TIMEOUT_SECONDS');
}

if (JOB_QUEUE.maxReceiveCount <= WORKER_MAX_DELIVERIES) {
  // The redrive policy must stay a backstop: if SQS moved messages first, jobs would reach the
  // DLQ without the worker's envelope (reason, code, next allowed time).
  throw new Error('JOB_QUEUE.maxReceiveCount must exceed WORKER_MAX_DELIVERIES');
}

/**
 * esbuild settings shared by the stack's NodejsFunction bundling and `bench/bundle.bench.ts`,
 * so the benchmark measures exactly what is deployed.
 */
export const BUNDLE = {
  platform: 'node',
  format: 'esm',
  target: 'node24',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  // Prefer packages' ESM builds: better tree shaking, no CJS wrappers at load.
  mainFields: ['module', 'main'],
  // CJS dependencies inside an ESM bundle still call require(); give them one.
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
} as const;

/** Handler entries, relative to the repository root. */
export const ENTRIES = {
  worker: 'functions/register-worker/handler.ts',
  scheduledRedrive: 'functions/scheduled-redrive/handler.ts',
  webhookReceiver: 'functions/webhook-receiver/handler.ts',
  eventResolver: 'functions/event-resolver/handler.ts',
  deadlineWatch: 'functions/deadline-watch/handler.ts',
  pinRotation: 'functions/pin-rotation/handler.ts',
} as const;
