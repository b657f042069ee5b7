/**
 * The one definition of the worker's metrics: names, namespace, dimensions and their values. The worker emits
 * exactly these (shared/observability.ts), the stack builds its alarms and dashboard from them
 * (infra/constructs/), and the tests import them. Plain data: no Powertools or CDK import, so the stack and the
 * local tools load it without either.
 */
import type { JobOutcome } from './domain/outcome.ts';
import { AUTO_REDRIVE_CATEGORIES, DEAD_LETTER_CATEGORIES, type DeadLetterCategory } from './jobs/dlq-envelope.v1.ts';

/** An app-wide gate a job can meet: Meta's throttle, or the token Meta refused (190/0). */
export type AppGate = 'token' | 'throttle';

export const METRICS = {
  /** CloudWatch namespace of every metric the worker emits (Powertools `namespace`). */
  namespace: 'WaRegistrar',
  /** Powertools adds it to every metric as the `service` dimension. */
  service: 'wa-registrar',
  /** Per delivery, by `outcome` (and `category` for dead letters). */
  jobOutcome: 'JobOutcome',
  /** Milliseconds of each register/deregister request, by `operation`. */
  graphLatency: 'GraphLatency',
  /** Every dead letter the worker sends, by `category`. */
  deadLettered: 'DeadLettered',
  /** Meta answered 133016: the number is blocked for 72 hours. The one outcome the ledger exists to prevent. */
  numberBlocked: 'NumberBlocked',
  /** A delivery failed on DynamoDB, SQS, Secrets Manager or KMS (the worker's catch); SQS redelivers it. */
  infrastructureFailure: 'InfrastructureFailure',
  /** A job met a closed app-wide gate, by `gate` (token | throttle). */
  appGateClosed: 'AppGateClosed',
  dimensions: { outcome: 'outcome', category: 'category', operation: 'operation', gate: 'gate' },
  outcomes: ['completed', 'duplicate', 'dead_lettered', 'retry', 'wait'],
  // The envelope schema's list: a category added there is emitted, charted and alarmed without a second edit.
  deadLetterCategories: DEAD_LETTER_CATEGORIES,
  graphOperations: ['register', 'deregister'],
  appGates: ['token', 'throttle'],
} as const satisfies {
  outcomes: readonly JobOutcome['status'][];
  appGates: readonly AppGate[];
  [key: string]: unknown;
};

// Every outcome the worker can report is charted: a new status fails the type check here.
type Uncharted = Exclude<JobOutcome['status'], (typeof METRICS.outcomes)[number]>;
const everyOutcomeCharted: [Uncharted] extends [never] ? true : never = true;
void everyOutcomeCharted;

/**
 * Dead-letter categories that need a person: every category the scheduled redrive does not send back by itself
 * (today all but rate_limited). Each has an alarm that notifies on every new arrival.
 */
export const PERSON_CATEGORIES: readonly DeadLetterCategory[] = DEAD_LETTER_CATEGORIES.filter(
  (category) => !AUTO_REDRIVE_CATEGORIES.includes(category),
);
