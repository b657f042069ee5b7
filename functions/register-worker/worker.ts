import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { createAwsClients, type AwsClients } from '../../shared/aws-clients.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { worstCaseRequestMs, type WorkerConfig } from '../../shared/config.ts';
import { budgetPolicyFromConfig } from '../../shared/domain/budget.ts';
import { processFifoBatch } from '../../shared/domain/fifo-batch.ts';
import { runJob, UnrecordedAnswerError, type JobDelivery, type JobDeps, type JobOutcome, type UnrecordedAnswer } from '../../shared/domain/run-job.ts';
import { HttpGraphClient } from '../../shared/graph/http-graph-client.ts';
import { ANSWER_ATTRIBUTE, NOT_BEFORE_ATTRIBUTE, REDRIVE_GENERATION_ATTRIBUTE } from '../../shared/jobs/dlq-envelope.v1.ts';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import { createLogger, createMetrics, logJobOutcome, recordInfrastructureFailure, recordJobMetrics } from '../../shared/observability.ts';
import type { DeadLetterSink, JobQueue } from '../../shared/queue/port.ts';
import { MAX_VISIBILITY_SECONDS, SqsDeadLetterSink, SqsJobQueue } from '../../shared/queue/sqs-queue.ts';
import type { NumberSecrets, SecretStore } from '../../shared/secrets/port.ts';
import { generatePin } from '../../shared/pins/generate-pin.ts';
import { SecretsManagerStore } from '../../shared/secrets/secrets-manager-store.ts';

/** The worker's collaborators: the job dependencies plus what the batch layer needs. */
export interface Worker {
  deps: JobDeps;
  queue: JobQueue;
  logger: Logger;
  metrics: Metrics;
  config: WorkerConfig;
  /**
   * Handles one SQS batch; failed records are reported, never thrown. With the Lambda context, no request
   * starts that could be cut off by the invocation's timeout: the job is carried to a new delivery instead.
   */
  handleBatch(event: SQSEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<SQSBatchResponse>;
}

/** Parts tests, the fault suite and the local run may replace (an injectable clock above all). */
export interface WorkerOverrides {
  clock?: Clock;
  clients?: AwsClients;
  graph?: JobDeps['graph'];
  ledger?: JobDeps['ledger'];
  secrets?: SecretStore;
  numberSecrets?: NumberSecrets;
  deadLetters?: DeadLetterSink;
  jobQueue?: JobQueue;
  logger?: Logger;
  metrics?: Metrics;
  /** Every delivery's outcome, as a value: the local run and tests read outcomes here, never from log lines. */
  onOutcome?: (outcome: JobOutcome) => void;
}

/** A skipped record this close to the queue's maxReceiveCount is carried instead, so SQS never moves it. */
const CARRY_MARGIN_RECEIVES = 3;

/** Builds the worker once per container: clients, adapters and caches live as long as the container. */
export function createWorker(config: WorkerConfig, overrides: WorkerOverrides = {}): Worker {
  const clock = overrides.clock ?? systemClock;
  const clients = overrides.clients ?? createAwsClients();
  const store = new SecretsManagerStore(clients.secretsManager, {
    tokenSecretId: config.TOKEN_SECRET_ID,
    pinSecretPrefix: config.PIN_SECRET_PREFIX,
    ...(config.TOKEN_SECRET_PREFIX ? { tokenSecretPrefix: config.TOKEN_SECRET_PREFIX } : {}),
    ...(config.BACKUP_SECRET_PREFIX ? { backupSecretPrefix: config.BACKUP_SECRET_PREFIX } : {}),
    maxAgeMs: config.SECRET_CACHE_SECONDS * 1000,
    clock,
  });
  const deps: JobDeps = {
    ledger: overrides.ledger ?? new DynamoDbAttemptLedger(clients.dynamodb, config.LEDGER_TABLE_NAME),
    graph:
      overrides.graph ??
      new HttpGraphClient({ baseUrl: config.GRAPH_API_BASE_URL, version: config.GRAPH_API_VERSION, timeoutMs: config.GRAPH_TIMEOUT_MS }),
    secrets: overrides.secrets ?? store,
    numberSecrets: overrides.numberSecrets ?? store,
    generatePin: () => generatePin(),
    deadLetters: overrides.deadLetters ?? new SqsDeadLetterSink(clients.sqs, config.DEAD_LETTER_QUEUE_URL),
    clock,
    policy: {
      budget: budgetPolicyFromConfig(config),
      leaseMs: config.JOB_LEASE_SECONDS * 1000,
      jobRecordMs: config.JOB_RECORD_DAYS * 24 * 3_600_000,
      transientAttempts: config.TRANSIENT_ATTEMPTS_PER_JOB,
      maxDeliveries: config.MAX_DELIVERIES,
      maxWaitMs: MAX_VISIBILITY_SECONDS * 1000,
      pinLockMs: config.PIN_LOCK_HOURS * 3_600_000,
    },
    worstCaseRequestMs: worstCaseRequestMs(config),
    newId: orderedId,
  };
  const worker: Worker = {
    deps,
    queue: overrides.jobQueue ?? new SqsJobQueue(clients.sqs, config.JOB_QUEUE_URL),
    logger: overrides.logger ?? createLogger(),
    metrics: overrides.metrics ?? createMetrics(),
    config,
    handleBatch: (event, context) => handleBatch(worker, overrides.onOutcome, event, context),
  };
  return worker;
}

let idSequence = 0;
/** Unique ids that sort in creation order within a container, so requests in the same millisecond list in order. */
function orderedId(): string {
  idSequence += 1;
  return `${idSequence.toString(36).padStart(8, '0')}-${randomUUID().slice(0, 13)}`;
}

/** The SQS record as a job delivery, with the time a carried job may run again. */
function toDelivery(record: SQSRecord): JobDelivery & { notBefore?: number } {
  const generation = Number(record.messageAttributes?.[REDRIVE_GENERATION_ATTRIBUTE]?.stringValue ?? 0);
  const notBefore = Number(record.messageAttributes?.[NOT_BEFORE_ATTRIBUTE]?.stringValue);
  const answer = parseAnswer(record.messageAttributes?.[ANSWER_ATTRIBUTE]?.stringValue);
  return {
    ...(answer ? { answer } : {}),
    body: record.body,
    messageId: record.messageId,
    receiveCount: Math.max(1, Number(record.attributes.ApproximateReceiveCount) || 1),
    redriveGeneration: Number.isInteger(generation) && generation > 0 ? generation : 0,
    ...(Number.isFinite(notBefore) ? { notBefore } : {}),
  };
}

async function handleBatch(
  worker: Worker,
  onOutcome: WorkerOverrides['onOutcome'],
  event: SQSEvent,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<SQSBatchResponse> {
  const { deps, queue, logger } = worker;
  const outcomes: JobOutcome[] = [];
  const started = performance.now();
  const remainingAtStart = context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY;
  const timeLeftMs = () => remainingAtStart - (performance.now() - started);
  const records = event.Records.map((record) => ({ record, messageId: record.messageId, groupId: record.attributes.MessageGroupId ?? record.messageId }));

  /** Sends the job back as a fresh message (a wait); if that fails, hides this one instead (the receive then counts). */
  const carry = async (record: SQSRecord, delivery: ReturnType<typeof toDelivery>, notBefore: number, jobKey: string, unrecorded?: UnrecordedAnswer): Promise<'done' | 'failed'> => {
    // A copy keeps an answer its original carried, until a delivery records it.
    const answer = unrecorded ?? delivery.answer;
    try {
      await queue.carry({
        body: record.body,
        groupId: record.attributes.MessageGroupId ?? delivery.messageId,
        jobKey,
        generation: delivery.redriveGeneration,
        notBefore,
        carryId: `${delivery.messageId}#${delivery.receiveCount}`,
        ...(answer ? { answer: JSON.stringify(answer) } : {}),
      });
      return 'done';
    } catch (error) {
      logger.warn('could not carry a waiting job; it returns after a visibility delay', { messageId: delivery.messageId, error: describeError(error) });
      await queue.delay(record.receiptHandle, (notBefore - deps.clock.now()) / 1000).catch(() => undefined);
      return 'failed';
    }
  };

  const { failedIds, skipped } = await processFifoBatch(records, async ({ record }) => {
    const delivery = toDelivery(record);
    const now = deps.clock.now();
    if (delivery.notBefore !== undefined && delivery.notBefore > now) {
      await queue.delay(record.receiptHandle, (delivery.notBefore - now) / 1000);
      return 'failed';
    }
    if (timeLeftMs() < deps.worstCaseRequestMs) {
      logger.info('job handed back unstarted: too little time left in this invocation', { messageId: record.messageId });
      return carry(record, delivery, now, delivery.messageId);
    }
    try {
      const outcome = await runJob(delivery, deps, timeLeftMs);
      outcomes.push(outcome);
      onOutcome?.(outcome);
      logJobOutcome(logger, outcome, worker.config.ATTEMPT_LIMIT, record.messageId);
      if (outcome.status === 'wait') return carry(record, delivery, outcome.until, outcome.jobKey);
      if (outcome.status !== 'retry') return 'done';
      await queue.delay(record.receiptHandle, outcome.retryAfterSeconds);
      return 'failed';
    } catch (error) {
      // Infrastructure failed (DynamoDB, SQS, Secrets Manager): SQS redelivers after the visibility timeout.
      logger.error('job failed; it will be redelivered', { messageId: record.messageId, receiveCount: delivery.receiveCount, error: describeError(error) });
      recordInfrastructureFailure(worker.metrics);
      // Meta's answer must survive: the copy records it first, so a refusal is never sent again. Until then the
      // number's later jobs in this batch wait too: they could not know the answer.
      if (error instanceof UnrecordedAnswerError) {
        const carried = await carry(record, delivery, deps.clock.now(), delivery.messageId, error.answer);
        return carried === 'done' ? 'done_stop_group' : 'failed';
      }
      return 'failed';
    }
  });

  // Records behind a failed one were not run. Their group stays blocked while its head is in flight, so they
  // may become visible at once; one close to maxReceiveCount is carried, so SQS never moves an unrun job.
  const carried = new Set<string>();
  for (const { record } of skipped) {
    const delivery = toDelivery(record);
    if (delivery.receiveCount >= worker.config.JOB_QUEUE_MAX_RECEIVES - CARRY_MARGIN_RECEIVES) {
      if ((await carry(record, delivery, deps.clock.now(), delivery.messageId)) === 'done') carried.add(record.messageId);
    } else {
      await queue.delay(record.receiptHandle, 0).catch(() => undefined);
    }
  }
  recordJobMetrics(worker.metrics, outcomes);
  return { batchItemFailures: failedIds.filter((id) => !carried.has(id)).map((itemIdentifier) => ({ itemIdentifier })) };
}

/** A carried answer, if the attribute holds one; anything unreadable is ignored (the job then reads the state). */
function parseAnswer(raw: string | undefined): UnrecordedAnswer | undefined {
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw) as UnrecordedAnswer;
    return typeof parsed?.attempt?.attemptId === 'string' && typeof parsed.result?.kind === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Error name and message only: never the SDK request, which may carry a secret. */
function describeError(error: unknown): { name: string; message: string } {
  return error instanceof Error ? { name: error.name, message: error.message } : { name: 'Unknown', message: String(error) };
}
