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

/** The attempt ledger's key layout, exactly as the DynamoDB adapter reads and writes it. */
export const LEDGER_TABLE = {
  nameSuffix: 'ledger',
  partitionKey: { name: LEDGER_KEYS.partitionKey, type: 'S' },
  sortKey: { name: LEDGER_KEYS.sortKey, type: 'S' },
  ttlAttribute: LEDGER_KEYS.ttlAttribute,
  billingMode: 'PAY_PER_REQUEST',
} as const;

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
} as const;
