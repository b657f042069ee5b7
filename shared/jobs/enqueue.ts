import {
  SendMessageBatchCommand,
  SendMessageCommand,
  type MessageAttributeValue,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { deduplicationId } from '../deduplication.ts';
import { REDRIVE_GENERATION_ATTRIBUTE } from './dlq-envelope.v1.ts';
import { validateJob, type JobV1, type JobV1Input } from './job.v1.ts';

/** A job that failed validation before anything was sent. */
export class InvalidJobError extends Error {
  override readonly name = 'InvalidJobError';
}

/** What `enqueueJobs` did with each job, in input order. */
export interface EnqueueResult {
  sent: Array<{ index: number; messageId: string; idempotencyKey: string }>;
  failed: Array<{ index: number; error: string }>;
}

export interface EnqueueOptions {
  /** Set only by redrives: lets the worker run a job whose earlier generation already finished. */
  redriveGeneration?: number;
}

/**
 * The SQS message for a job: the phone number id as message group (jobs for one number run in order,
 * never overlapping) and the idempotency key as deduplication id. Producers cannot get these wrong.
 * A job without an idempotency key gets a fresh one, so the worker's idempotency and SQS's agree.
 */
export function toJobMessage(input: JobV1Input, options: EnqueueOptions = {}): SendMessageBatchRequestEntry & { job: JobV1 } {
  const validated = validateJob(input);
  if (!validated.ok) throw new InvalidJobError(validated.error);
  const job: JobV1 = { ...validated.job, idempotencyKey: validated.job.idempotencyKey ?? randomUUID() };
  const generation = options.redriveGeneration ?? 0;
  const attributes: Record<string, MessageAttributeValue> =
    generation > 0 ? { [REDRIVE_GENERATION_ATTRIBUTE]: { DataType: 'Number', StringValue: String(generation) } } : {};
  return {
    Id: '0',
    job,
    MessageBody: JSON.stringify(job),
    MessageGroupId: job.phoneNumberId,
    MessageDeduplicationId: deduplicationId('job', job.idempotencyKey!, generation),
    ...(generation > 0 ? { MessageAttributes: attributes } : {}),
  };
}

/** Sends one job. Throws `InvalidJobError` (nothing sent) when the job is not valid. */
export async function enqueueJob(sqs: SQSClient, queueUrl: string, input: JobV1Input, options: EnqueueOptions = {}) {
  const { job, Id: _id, ...message } = toJobMessage(input, options);
  const output = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, ...message }));
  return { messageId: output.MessageId ?? '', idempotencyKey: job.idempotencyKey! };
}

/**
 * Sends many jobs in SendMessageBatch calls of 10. All jobs are validated first; if any is invalid,
 * nothing is sent and `InvalidJobError` lists them by index. Per-entry SQS failures are reported, not thrown.
 */
export async function enqueueJobs(
  sqs: SQSClient,
  queueUrl: string,
  inputs: JobV1Input[],
  options: EnqueueOptions & { onProgress?: (sent: number, total: number) => void } = {},
): Promise<EnqueueResult> {
  const messages = inputs.map((input, index) => {
    try {
      return { index, message: toJobMessage(input, options) };
    } catch (error) {
      return { index, error: (error as Error).message };
    }
  });
  const invalid = messages.filter((entry) => 'error' in entry);
  if (invalid.length > 0) {
    throw new InvalidJobError(invalid.map((entry) => `job ${entry.index}: ${(entry as { error: string }).error}`).join('\n'));
  }
  const result: EnqueueResult = { sent: [], failed: [] };
  const valid = messages as Array<{ index: number; message: ReturnType<typeof toJobMessage> }>;
  for (let start = 0; start < valid.length; start += 10) {
    const chunk = valid.slice(start, start + 10);
    const output = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map(({ message: { job: _job, ...entry } }, position) => ({ ...entry, Id: String(position) })),
      }),
    );
    for (const ok of output.Successful ?? []) {
      const entry = chunk[Number(ok.Id)]!;
      result.sent.push({ index: entry.index, messageId: ok.MessageId ?? '', idempotencyKey: entry.message.job.idempotencyKey! });
    }
    for (const failure of output.Failed ?? []) {
      const entry = chunk[Number(failure.Id)]!;
      result.failed.push({ index: entry.index, error: `${failure.Code}: ${failure.Message ?? 'SQS refused the message'}` });
    }
    options.onProgress?.(Math.min(start + chunk.length, valid.length), valid.length);
  }
  return result;
}
