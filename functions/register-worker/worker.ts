import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { createAwsClients, type AwsClients } from '../../shared/aws-clients.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import type { WorkerConfig } from '../../shared/config.ts';
import { budgetPolicyFromConfig } from '../../shared/domain/budget.ts';
import { processFifoBatch } from '../../shared/domain/fifo-batch.ts';
import { runJob, type JobDeps, type JobDelivery, type JobOutcome } from '../../shared/domain/run-job.ts';
import { HttpGraphClient } from '../../shared/graph/http-graph-client.ts';
import { REDRIVE_GENERATION_ATTRIBUTE } from '../../shared/jobs/dlq-envelope.v1.ts';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import { createLogger, createMetrics, logJobOutcome, recordJobMetrics } from '../../shared/observability.ts';
import type { RetryScheduler } from '../../shared/queue/port.ts';
import { SqsDeadLetterSink, SqsRetryScheduler } from '../../shared/queue/sqs-queue.ts';
import { SecretsManagerStore } from '../../shared/secrets/secrets-manager-store.ts';

/** The worker's collaborators: the job dependencies plus what the batch layer needs. */
export interface Worker {
  deps: JobDeps;
  retries: RetryScheduler;
  logger: Logger;
  metrics: Metrics;
  attemptLimit: number;
  /** Longest one job can take (a state read, a deregister and a register at the Graph timeout, plus AWS calls). */
  worstCaseJobMs: number;
  /**
   * Handles one SQS batch; failed records are reported, never thrown. With the Lambda context, a job
   * that could not finish before the invocation times out is handed back unstarted instead.
   */
  handleBatch(event: SQSEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<SQSBatchResponse>;
}

/** Parts tests and the local run may replace (an injectable clock above all). */
export interface WorkerOverrides {
  clock?: Clock;
  clients?: AwsClients;
  graph?: JobDeps['graph'];
  ledger?: JobDeps['ledger'];
  logger?: Logger;
  metrics?: Metrics;
}

/** Builds the worker once per container: clients, adapters and caches live as long as the container. */
export function createWorker(config: WorkerConfig, overrides: WorkerOverrides = {}): Worker {
  const clock = overrides.clock ?? systemClock;
  const clients = overrides.clients ?? createAwsClients();
  const deps: JobDeps = {
    ledger: overrides.ledger ?? new DynamoDbAttemptLedger(clients.dynamodb, config.LEDGER_TABLE_NAME),
    graph:
      overrides.graph ??
      new HttpGraphClient({ baseUrl: config.GRAPH_API_BASE_URL, version: config.GRAPH_API_VERSION, timeoutMs: config.GRAPH_TIMEOUT_MS }),
    secrets: new SecretsManagerStore(clients.secretsManager, {
      tokenSecretId: config.TOKEN_SECRET_ID,
      pinSecretPrefix: config.PIN_SECRET_PREFIX,
      maxAgeMs: config.SECRET_CACHE_SECONDS * 1000,
      clock,
    }),
    deadLetters: new SqsDeadLetterSink(clients.sqs, config.DEAD_LETTER_QUEUE_URL),
    clock,
    budget: budgetPolicyFromConfig(config),
    settings: {
      leaseMs: config.JOB_LEASE_SECONDS * 1000,
      jobRecordMs: config.JOB_RECORD_DAYS * 24 * 3_600_000,
      maxDeliveries: config.MAX_DELIVERIES,
    },
    newId: orderedId,
  };
  const retries = new SqsRetryScheduler(clients.sqs, config.JOB_QUEUE_URL);
  const logger = overrides.logger ?? createLogger();
  const metrics = overrides.metrics ?? createMetrics();
  const worker: Worker = {
    deps,
    retries,
    logger,
    metrics,
    attemptLimit: config.ATTEMPT_LIMIT,
    worstCaseJobMs: 3 * config.GRAPH_TIMEOUT_MS + 10_000,
    handleBatch: (event, context) => handleBatch(worker, event, context),
  };
  return worker;
}

let idSequence = 0;
/** Unique ids that sort in creation order within a container, so requests in the same millisecond list in order. */
function orderedId(): string {
  idSequence += 1;
  return `${idSequence.toString(36).padStart(8, '0')}-${randomUUID().slice(0, 13)}`;
}

/** The SQS record as a job delivery. */
export function toDelivery(record: SQSRecord): JobDelivery {
  const generation = Number(record.messageAttributes?.[REDRIVE_GENERATION_ATTRIBUTE]?.stringValue ?? 0);
  return {
    body: record.body,
    messageId: record.messageId,
    receiveCount: Math.max(1, Number(record.attributes.ApproximateReceiveCount) || 1),
    redriveGeneration: Number.isInteger(generation) && generation > 0 ? generation : 0,
  };
}

async function handleBatch(worker: Worker, event: SQSEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<SQSBatchResponse> {
  const outcomes: JobOutcome[] = [];
  const started = performance.now();
  const remainingAtStart = context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY;
  // Jobs for one number run in sequence; a long group must not be cut off mid-request by the Lambda timeout.
  const timeLeft = () => remainingAtStart - (performance.now() - started);
  const records = event.Records.map((record) => ({
    record,
    messageId: record.messageId,
    // Standard queues have no group: each record is its own group, all in parallel.
    groupId: record.attributes.MessageGroupId ?? record.messageId,
  }));
  const failedIds = await processFifoBatch(records, async ({ record }) => {
    const delivery = toDelivery(record);
    if (timeLeft() < worker.worstCaseJobMs) {
      worker.logger.info('job handed back unstarted: too little time left in this invocation', { messageId: record.messageId });
      await worker.retries.delay(record.receiptHandle, 0).catch(() => undefined); // best effort: else it returns after the visibility timeout
      return 'failed';
    }
    try {
      const outcome = await runJob(delivery, worker.deps);
      outcomes.push(outcome);
      logJobOutcome(worker.logger, outcome, worker.attemptLimit, record.messageId);
      if (outcome.status !== 'retry') return 'done';
      await worker.retries.delay(record.receiptHandle, outcome.retryAfterSeconds);
      return 'failed';
    } catch (error) {
      // Infrastructure failed (DynamoDB, SQS, Secrets Manager): SQS redelivers after the visibility timeout.
      worker.logger.error('job failed; it will be redelivered', {
        messageId: record.messageId,
        receiveCount: delivery.receiveCount,
        error: describeError(error),
      });
      return 'failed';
    }
  });
  recordJobMetrics(worker.metrics, outcomes);
  return { batchItemFailures: failedIds.map((itemIdentifier) => ({ itemIdentifier })) };
}

/** Error name and message only: never the SDK request, which may carry a secret. */
function describeError(error: unknown): { name: string; message: string } {
  return error instanceof Error ? { name: error.name, message: error.message } : { name: 'Unknown', message: String(error) };
}
