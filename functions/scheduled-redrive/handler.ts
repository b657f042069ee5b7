import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { systemClock } from '../../shared/clock.ts';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import { AwsHoldProbe, redriveDeadLetters, SqsDeadLetterQueue, SqsRedriveTarget, type RedriveReport } from '../../shared/dead-letters/index.ts';
import { loadScheduledRedriveConfig } from './config.ts';

const config = loadScheduledRedriveConfig(process.env);
// Receives long-poll up to DLQ_SCAN_WAIT_SECONDS, so SQS gets a longer request timeout than the reads.
const sqs = new SQSClient({ maxAttempts: 3, requestHandler: { connectionTimeout: 2_000, requestTimeout: 25_000 } });
const jobs = new SqsRedriveTarget(sqs, config.JOB_QUEUE_URL);
const deadLetters = new SqsDeadLetterQueue(sqs, config.DEAD_LETTER_QUEUE_URL);
const readOptions = { maxAttempts: 3, requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 } };
const holds = new AwsHoldProbe(new DynamoDbAttemptLedger(new DynamoDBClient(readOptions), config.LEDGER_TABLE_NAME), new SecretsManagerClient(readOptions), {
  tokenSecretId: config.TOKEN_SECRET_ID,
  pinSecretPrefix: config.PIN_SECRET_PREFIX,
  ...(config.TOKEN_SECRET_PREFIX ? { tokenSecretPrefix: config.TOKEN_SECRET_PREFIX } : {}),
});
const logger = new Logger({ serviceName: 'wa-registrar', persistentKeys: { component: 'scheduled-redrive' } });

/** Leaves this much of the invocation for releasing held messages and logging. */
const SAFETY_MS = 15_000;

/** What one run did, by message id (ids and categories only: envelopes never leave the queue in logs). */
export interface ScheduledRedriveSummary {
  redriven: number;
  skipped: number;
  failed: number;
  truncated: boolean;
  redrivenMessageIds: string[];
}

/**
 * EventBridge (every 15 min) → `dlq redrive --eligible`: rate-limited dead-letters go back to the job queue once
 * their window has reopened, held ones (PIN, token, verification) once their hold is lifted. Failures are logged and
 * then thrown, so the invocation counts as failed for alarms; EventBridge's retry is safe because a re-sent job has
 * the same deduplication id and generation.
 */
export const handler = middy(async (_event: unknown, context: Context): Promise<ScheduledRedriveSummary> => {
  const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : 60_000;
  const report: RedriveReport = await redriveDeadLetters(
    {
      jobs,
      deadLetters,
      clock: systemClock,
      scan: { visibilityTimeoutSeconds: 120, waitTimeSeconds: config.DLQ_SCAN_WAIT_SECONDS },
      holds,
    },
    { mode: { kind: 'eligible' }, deadline: Date.now() + Math.max(1_000, remaining - SAFETY_MS) },
  );
  const summary: ScheduledRedriveSummary = {
    redriven: report.redriven.length,
    skipped: report.skipped.length,
    failed: report.failed.length,
    truncated: report.truncated,
    redrivenMessageIds: report.redriven.map((job) => job.messageId),
  };
  logger.info('scheduled redrive finished', {
    ...summary,
    redrivenJobs: report.redriven.map(({ messageId, phoneNumberId, jobKey, generation, holdLifted }) => ({ messageId, phoneNumberId, jobKey, generation, ...(holdLifted ? { holdLifted } : {}) })),
  });
  for (const problem of report.releaseProblems) logger.warn('could not release a dead-letter; it reappears after its timeout', { problem });
  if (report.failed.length > 0) {
    logger.error('some dead-letters could not be redriven', { failures: report.failed });
    throw new Error(`${report.failed.length} dead-letter(s) could not be redriven; see the log for ids and causes`);
  }
  return summary;
}).use(injectLambdaContext(logger, { resetKeys: true }));
