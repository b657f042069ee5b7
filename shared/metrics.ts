/**
 * The one definition of the worker's metrics: names, namespace, dimensions and their values. The worker emits
 * exactly these (shared/observability.ts), the stack builds its alarms and dashboard from them
 * (infra/constructs/), and the tests import them. Plain data: no Powertools or CDK import, so the stack and the
 * local tools load it without either.
 */
import type { JobOutcome } from './domain/outcome.ts';
import { AUTO_REDRIVE_CATEGORIES, DEAD_LETTER_CATEGORIES, type DeadLetterCategory } from './jobs/dlq-envelope.v1.ts';
import { EVENT_DEAD_LETTER_REASON_NAMES } from './events/event-dead-letter.v1.ts';
import { WEBHOOK_FAILURE_STAGES, WEBHOOK_IGNORE_REASONS, WEBHOOK_REJECT_REASONS } from './webhooks/outcome.ts';

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
  /** Per business (Solution Partners), by `businessAccountId` and `outcome` (completed | dead_lettered): jobs whose business is known. */
  businessJobOutcome: 'BusinessJobOutcome',
  /** A migration from the On-Premises API was refused the PIN: the number is on neither API until a person acts. */
  migrationIncident: 'MigrationIncident',
  /** A delivery failed on DynamoDB, SQS, Secrets Manager or KMS (the worker's catch); SQS redelivers it. */
  infrastructureFailure: 'InfrastructureFailure',
  /** A job met a closed app-wide gate, by `gate` (token | throttle). */
  appGateClosed: 'AppGateClosed',
  /** Numbers whose name-approval re-register deadline is less than DEADLINE_WARN_DAYS away (or passed) and not met; every hour. */
  nameDeadlineAtRisk: 'NameDeadlineAtRisk',
  /** Webhook requests refused before their body was read (bad or missing signature, too large, ...), by `reason`. */
  webhookRejected: 'WebhookRejected',
  /** Verified webhook bodies or changes that publish nothing (answered 200, logged), by `reason`. */
  webhookIgnored: 'WebhookIgnored',
  /** Events the webhook receiver put on the bus, by `detailType`. */
  webhookEventPublished: 'WebhookEventPublished',
  /** Webhook changes already published: Meta's redeliveries and duplicates. */
  webhookDuplicate: 'WebhookDuplicate',
  /** Webhook changes (or requests, for `secret`) not published in this delivery, by `stage`: answered 500, Meta redelivers. */
  webhookFailed: 'WebhookFailed',
  /** The event resolver: one per event, by `outcome` (`eventOutcomes`; `failed`: DynamoDB, SQS or Secrets Manager failed, SQS redelivers) and `detailType`. */
  eventOutcome: 'EventOutcome',
  /** Events the resolver dead-lettered, by `reason` (`eventDeadLetterReasons`): each needs a person. */
  eventDeadLettered: 'EventDeadLettered',
  /** Number lists the resolver read from Graph (`GET /{waba-id}/phone_numbers`, every page): they spend the WABA's read budget. */
  numberListRead: 'NumberListRead',
  dimensions: {
    outcome: 'outcome',
    category: 'category',
    operation: 'operation',
    gate: 'gate',
    reason: 'reason',
    detailType: 'detailType',
    stage: 'stage',
    businessAccountId: 'businessAccountId',
  },
  outcomes: ['completed', 'duplicate', 'dead_lettered', 'retry', 'wait'],
  // The envelope schema's list: a category added there is emitted, charted and alarmed without a second edit.
  deadLetterCategories: DEAD_LETTER_CATEGORIES,
  graphOperations: ['register', 'deregister'],
  appGates: ['token', 'throttle'],
  webhookRejectReasons: WEBHOOK_REJECT_REASONS,
  webhookIgnoreReasons: WEBHOOK_IGNORE_REASONS,
  webhookFailureStages: WEBHOOK_FAILURE_STAGES,
  eventOutcomes: ['applied', 'recorded', 'dead_lettered', 'retry', 'failed'],
  eventDeadLetterReasons: EVENT_DEAD_LETTER_REASON_NAMES,
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
