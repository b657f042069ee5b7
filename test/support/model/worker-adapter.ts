/**
 * The one place where the model meets the worker's construction API and the production helpers it reuses: how
 * the worker is built on the model's ports, how the operator's `hold clear` runs, how a carried job's message
 * looks, and how the ledger says a job ended. A change in those APIs is a change in this file only.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createWorker } from '../../../functions/register-worker/worker.ts';
import type { Clock } from '../../../shared/clock.ts';
import { loadConfig, type WorkerConfig } from '../../../shared/config.ts';
import { budgetPolicyFromConfig } from '../../../shared/domain/budget.ts';
import type { JobOutcome } from '../../../shared/domain/run-job.ts';
import type { GraphClient } from '../../../shared/graph/port.ts';
import { GRAPH_CODE_TABLE } from '../../../shared/graph/error-codes.ts';
import type { AttemptLedger } from '../../../shared/ledger/port.ts';
import { clearNumberHold, clearTokenGate } from '../../../bin/ops/holds.ts';
import type { CarriedJob, DeadLetterSink, JobQueue } from '../../../shared/queue/port.ts';
import { carriedAttributes, deduplicationId } from '../../../shared/queue/sqs-queue.ts';
import type { SecretStore } from '../../../shared/secrets/port.ts';
import { createLogger, createMetrics } from '../../../shared/observability.ts';
import type { MessageAttributes } from './fifo-queue.ts';
import type { ModelOutcome } from './records.ts';

export interface ModelWorkerDeps {
  clock: Clock;
  graph: GraphClient;
  ledger: AttemptLedger;
  secrets: SecretStore;
  deadLetters: DeadLetterSink;
  jobQueue: JobQueue;
  onOutcome(outcome: ModelOutcome): void;
}

export interface ModelWorker {
  handleBatch(event: SQSEvent): Promise<SQSBatchResponse>;
}

/** The worker's configuration in the model: the defaults the suite's invariants assume. */
export function modelConfig(graphBaseUrl: string): WorkerConfig {
  return loadConfig({
    GRAPH_API_BASE_URL: graphBaseUrl,
    GRAPH_API_VERSION: 'v25.0',
    LEDGER_TABLE_NAME: 'model-ledger',
    JOB_QUEUE_URL: 'https://sqs.model.local/000000000000/jobs.fifo',
    DEAD_LETTER_QUEUE_URL: 'https://sqs.model.local/000000000000/dead-letters.fifo',
    TOKEN_SECRET_ID: 'model/token',
    TOKEN_SECRET_PREFIX: 'model/token/',
    PIN_SECRET_PREFIX: 'model/pin/',
    ATTEMPT_LIMIT: '10',
    ATTEMPT_WINDOW_HOURS: '72',
    WINDOW_MARGIN_MINUTES: '15',
    TRANSIENT_ATTEMPTS_PER_JOB: '3',
    MAX_DELIVERIES: '6',
    SECRET_CACHE_SECONDS: '300',
  });
}

/** Builds the real worker on the model's ports, with the real logger at DEBUG (its output is scanned for secrets). */
export function buildWorker(config: WorkerConfig, deps: ModelWorkerDeps): ModelWorker {
  const logger = createLogger();
  logger.setLogLevel('DEBUG');
  const { onOutcome, ...ports } = deps;
  const worker = createWorker(config, {
    ...ports,
    logger,
    metrics: createMetrics(),
    onOutcome: (outcome: JobOutcome) => onOutcome(outcome.status === 'dead_lettered' ? { ...outcome, category: outcome.category } : outcome),
  });
  return { handleBatch: (event) => worker.handleBatch(event) };
}

/** The SQS message a carried job becomes: the production adapter's attributes and deduplication id. */
export function carriedMessage(job: CarriedJob): { dedupId: string; attributes: MessageAttributes } {
  const attributes = Object.fromEntries(
    Object.entries(carriedAttributes(job)).map(([key, value]) => [key, { dataType: value.DataType, stringValue: value.StringValue }]),
  );
  return { dedupId: deduplicationId('carry', job.jobKey, job.generation, job.carryId), attributes };
}

/**
 * The operator's `wa-registrar hold clear <phoneNumberId> [--force]` (or `--token`), as the CLI runs it.
 * 'cleared' and 'no_hold' mean the command went through; 'refused' that it declined (a PIN lock still running).
 * `cleared` says which hold went: the account hold (the CLI clears it first) or the number's own hold.
 */
export async function clearHold(
  ledger: AttemptLedger,
  config: WorkerConfig,
  target: { phoneNumberId: string; force: boolean } | { token: true },
  now: number,
): Promise<{ result: 'cleared' | 'no_hold' | 'refused'; cleared?: 'hold' | 'accountHold' }> {
  const policy = budgetPolicyFromConfig(config);
  if ('token' in target) return { result: (await clearTokenGate(ledger, { now, policy })).cleared ? 'cleared' : 'no_hold' };
  const result = await clearNumberHold(ledger, target.phoneNumberId, { now, policy, force: target.force });
  if (result.cleared) return { result: 'cleared', cleared: result.hold.cause === 'account_restricted' ? 'accountHold' : 'hold' };
  return { result: result.why === 'no_hold' ? 'no_hold' : 'refused' };
}

/**
 * Whether the ledger's job record says the job ended (completed or dead-lettered) at this generation or a later
 * one: the worker's own truth, for a job whose ending delivery failed after its last write (so no outcome said so).
 */
export async function ledgerSaysEnded(ledger: AttemptLedger, phoneNumberId: string, jobKey: string, generation: number): Promise<boolean> {
  const job = (await ledger.read(phoneNumberId, jobKey)).job;
  return job !== undefined && job.generation >= generation && (job.status === 'completed' || job.status === 'dead_lettered');
}

/** Every Meta code in the error table (each row's codes and its range's ends), plus one the table does not know. */
export function errorTableCodes(): number[] {
  return [...new Set([...GRAPH_CODE_TABLE.flatMap((row) => [...row.codes, ...(row.range ?? [])]), 999_999])];
}
