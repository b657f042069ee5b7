import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createAwsClients, type AwsClients } from '../../shared/aws-clients.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { NumberDirectory } from '../../shared/events/number-directory.ts';
import { EVENT_DETAIL_TYPES } from '../../shared/events/registrar-events.v1.ts';
import { runEvent, type EventDeadLetterSink, type EventDeps, type EventOutcome, type JobSender } from '../../shared/events/run-event.ts';
import { HttpGraphClient } from '../../shared/graph/http-graph-client.ts';
import type { GraphClient } from '../../shared/graph/port.ts';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import type { AttemptLedger } from '../../shared/ledger/port.ts';
import { METRICS } from '../../shared/metrics.ts';
import { createLogger, createMetrics } from '../../shared/observability.ts';
import type { SecretStore } from '../../shared/secrets/port.ts';
import { SecretsManagerStore } from '../../shared/secrets/secrets-manager-store.ts';
import type { EventResolverConfig } from './config.ts';
import { SqsEventDeadLetters, SqsJobSender } from './sqs-senders.ts';

/** The resolver as built once per container. */
export interface EventResolver {
  deps: EventDeps;
  logger: Logger;
  metrics: Metrics;
  /** Handles one SQS batch of EventBridge events; records that must come back are reported, never thrown. */
  handleBatch(event: SQSEvent): Promise<SQSBatchResponse>;
}

/** Parts tests and the local run may replace. */
export interface ResolverOverrides {
  clock?: Clock;
  clients?: AwsClients;
  ledger?: AttemptLedger;
  graph?: Pick<GraphClient, 'listPhoneNumbers'>;
  secrets?: Pick<SecretStore, 'accessToken' | 'evict'>;
  jobs?: JobSender;
  deadLetters?: EventDeadLetterSink;
  logger?: Logger;
  metrics?: Metrics;
  /** Every delivery's outcome, as a value: tests read outcomes here, never from log lines. */
  onOutcome?: (outcome: EventOutcome) => void;
}

/** Builds the resolver: clients, adapters and the number cache live as long as the container. */
export function createResolver(config: EventResolverConfig, overrides: ResolverOverrides = {}): EventResolver {
  const clock = overrides.clock ?? systemClock;
  const clients = overrides.clients ?? createAwsClients();
  const ledger = overrides.ledger ?? new DynamoDbAttemptLedger(clients.dynamodb, config.LEDGER_TABLE_NAME);
  let listReads = 0;
  const directory = new NumberDirectory({
    ledger,
    graph: overrides.graph ?? new HttpGraphClient({ baseUrl: config.GRAPH_API_BASE_URL, version: config.GRAPH_API_VERSION, timeoutMs: config.GRAPH_TIMEOUT_MS }),
    secrets:
      overrides.secrets ??
      // The resolver reads only the token; no PIN is ever looked up, so the prefix names nothing.
      new SecretsManagerStore(clients.secretsManager, {
        tokenSecretId: config.TOKEN_SECRET_ID,
        ...(config.TOKEN_SECRET_PREFIX ? { tokenSecretPrefix: config.TOKEN_SECRET_PREFIX } : {}),
        pinSecretPrefix: '',
        maxAgeMs: config.SECRET_CACHE_SECONDS * 1000,
        clock,
      }),
    clock,
    refreshMs: config.LIST_REFRESH_MINUTES * 60_000,
    onList: () => {
      listReads += 1;
    },
  });
  const deps: EventDeps = {
    ledger,
    directory,
    jobs: overrides.jobs ?? new SqsJobSender(clients.sqs, config.JOB_QUEUE_URL),
    deadLetters: overrides.deadLetters ?? new SqsEventDeadLetters(clients.sqs, config.EVENTS_DEAD_LETTER_QUEUE_URL),
    clock,
    policy: { nameDeadlineMs: config.NAME_DEADLINE_DAYS * 24 * 3_600_000 },
  };
  const logger = overrides.logger ?? createLogger();
  logger.appendPersistentKeys({ component: 'event-resolver' });
  const metrics = overrides.metrics ?? createMetrics();

  const handleBatch = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const failed: string[] = [];
    const outcomes: EventOutcome[] = [];
    /** The detail types of events whose processing threw. */
    const failures: Array<string | undefined> = [];
    const readsBefore = listReads;
    // One at a time: events of one business share its list read, and a batch is at most 10 short events.
    for (const record of event.Records) {
      try {
        const outcome = await runEvent({ body: record.body, messageId: record.messageId }, deps);
        outcomes.push(outcome);
        overrides.onOutcome?.(outcome);
        logOutcome(logger, outcome, record.messageId);
        if (outcome.status === 'retry') failed.push(record.messageId);
      } catch (error) {
        // Infrastructure failed (DynamoDB, SQS, Secrets Manager): SQS delivers the event again.
        logger.error('event failed; it will be delivered again', { messageId: record.messageId, receiveCount: record.attributes.ApproximateReceiveCount, error: describeError(error) });
        failures.push(detailTypeOf(record.body));
        failed.push(record.messageId);
      }
    }
    recordEventMetrics(metrics, outcomes, failures, listReads - readsBefore);
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  };
  return { deps, logger, metrics, handleBatch };
}

// Every status the resolver reports is charted: a new status fails the type check here.
type Uncharted = Exclude<EventOutcome['status'] | 'failed', (typeof METRICS.eventOutcomes)[number]>;
const everyOutcomeCharted: [Uncharted] extends [never] ? true : never = true;
void everyOutcomeCharted;

/** One line per event: ids, outcome and why. Never the event itself. */
function logOutcome(logger: Logger, outcome: EventOutcome, messageId: string): void {
  const line = { messageId, ...outcome, outcome: outcome.status };
  if (outcome.status === 'applied' || outcome.status === 'recorded') logger.info('event outcome', line);
  else logger.warn('event outcome', line);
}

/** A detail type as a dimension: one of the contract's, or `other` (a malformed event's text never becomes one). */
const dimensionOf = (detailType: string | undefined) => ((EVENT_DETAIL_TYPES as readonly string[]).includes(detailType ?? '') ? detailType! : 'other');

/** The detail type a body names, for the `failed` outcome's dimension; nothing when it is not readable. */
function detailTypeOf(body: string): string | undefined {
  try {
    const detailType = (JSON.parse(body) as Record<string, unknown> | null)?.['detail-type'];
    return typeof detailType === 'string' ? detailType : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `EventOutcome` by outcome and detail type (`failed` for events whose processing threw), `EventDeadLettered` by
 * reason, `NumberListRead`; each published at once.
 */
function recordEventMetrics(metrics: Metrics, outcomes: EventOutcome[], failures: Array<string | undefined>, listReads: number): void {
  const { dimensions } = METRICS;
  const counts = new Map<string, number>();
  const deadLettered = new Map<string, number>();
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  for (const outcome of outcomes) {
    bump(counts, `${outcome.status}|${dimensionOf(outcome.detailType)}`);
    if (outcome.reason) bump(deadLettered, outcome.reason);
  }
  for (const detailType of failures) bump(counts, `failed|${dimensionOf(detailType)}`);
  for (const [key, count] of counts) {
    const [status, detailType] = key.split('|') as [string, string];
    const single = metrics.singleMetric();
    single.addDimension(dimensions.outcome, status);
    single.addDimension(dimensions.detailType, detailType);
    single.addMetric(METRICS.eventOutcome, MetricUnit.Count, count);
  }
  for (const [reason, count] of deadLettered) {
    const single = metrics.singleMetric();
    single.addDimension(dimensions.reason, reason);
    single.addMetric(METRICS.eventDeadLettered, MetricUnit.Count, count);
  }
  if (listReads > 0) metrics.singleMetric().addMetric(METRICS.numberListRead, MetricUnit.Count, listReads);
}

/** Error name and message only: never the SDK request. */
function describeError(error: unknown): { name: string; message: string } {
  return error instanceof Error ? { name: error.name, message: error.message } : { name: 'Unknown', message: String(error) };
}
