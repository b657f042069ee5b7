import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { REDRIVE_GENERATION_ATTRIBUTE } from '../../shared/jobs/dlq-envelope.v1.ts';
import { parseJob } from '../../shared/jobs/job.v1.ts';
import { SqsDeadLetterSink } from '../../shared/queue/sqs-queue.ts';
import { provisionLocalStack, type LocalStack } from '../../tools/local-stack.ts';
import { envelope, hoursFrom, receiveAll, uniquePrefix } from '../support/ops-helpers.ts';

const context = { getRemainingTimeInMillis: () => 60_000, functionName: 'scheduled-redrive', awsRequestId: 'test' } as unknown as Context;

describe('scheduled redrive handler (against moto)', () => {
  let stack: LocalStack;
  let sqs: SQSClient;
  let handler: (event: unknown, context: Context) => Promise<{ redriven: number; redrivenMessageIds: string[] }>;

  beforeAll(async () => {
    stack = await provisionLocalStack({ endpoint: process.env.AWS_ENDPOINT_URL!, region: 'eu-west-1', namePrefix: uniquePrefix('sched') });
    sqs = new SQSClient({ region: 'eu-west-1' });
    process.env.JOB_QUEUE_URL = stack.jobQueueUrl;
    process.env.DEAD_LETTER_QUEUE_URL = stack.deadLetterQueueUrl;
    process.env.DLQ_SCAN_WAIT_SECONDS = '0';
    process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
    // The module reads its environment at load, like a cold start.
    ({ handler } = (await import('../../functions/scheduled-redrive/handler.ts')) as never);
  });

  it('redrives only rate-limited dead-letters whose eligibleAt has passed, once, with the next generation', async () => {
    // Prepare
    const now = Date.now();
    const sink = new SqsDeadLetterSink(sqs, stack.deadLetterQueueUrl);
    const reopened = envelope({ category: 'rate_limited', phoneNumberId: '4100', code: 133016, eligibleAt: hoursFrom(now, -1), redriveGeneration: 2 });
    const stillClosed = envelope({ category: 'rate_limited', phoneNumberId: '4101', eligibleAt: hoursFrom(now, 5) });
    const wrongPin = envelope({ category: 'permanent_error', phoneNumberId: '4102', code: 133005 });
    const invalid = envelope({ category: 'invalid_job' });
    for (const item of [reopened, stillClosed, wrongPin, invalid]) await sink.send(item);

    // Act
    const first = await handler({}, context);
    const second = await handler({}, context);

    // Assess
    expect(first.redriven).toBe(1);
    expect(second.redriven).toBe(0);
    const jobs = await receiveAll(sqs, stack.jobQueueUrl);
    expect(jobs).toHaveLength(1);
    const job = parseJob(jobs[0]!.Body!);
    expect(job.ok && job.job).toMatchObject({ phoneNumberId: '4100', idempotencyKey: reopened.jobKey });
    expect(jobs[0]!.MessageAttributes?.[REDRIVE_GENERATION_ATTRIBUTE]?.StringValue).toBe('3');
    expect(jobs[0]!.Attributes?.MessageGroupId).toBe('4100');
    // The other three stay, and visible again right away (released, not left invisible).
    const left = await receiveAll(sqs, stack.deadLetterQueueUrl, 0);
    expect(left.map((message) => JSON.parse(message.Body!).jobKey).sort()).toEqual(
      [stillClosed.jobKey, wrongPin.jobKey, invalid.jobKey].sort(),
    );
  });
});
