import {
  SendMessageBatchCommand,
  SendMessageCommand,
  type MessageAttributeValue,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { deduplicationId } from '../queue/sqs-queue.ts';
import { REDRIVE_GENERATION_ATTRIBUTE } from './dlq-envelope.v1.ts';
import { validateJob, type JobV1, type JobV1Input } from './job.v1.ts';

/** SendMessageBatch calls in flight at once during a bulk enqueue. */
const ENQUEUE_CONCURRENCY = 4;

/** The lane a number's jobs are sent in (a stable hash of the id). */
function laneOf(phoneNumberId: string): number {
  let hash = 0;
  for (const char of phoneNumberId) hash = (hash * 31 + char.charCodeAt(0)) % 1_000_003;
  return hash % ENQUEUE_CONCURRENCY;
}

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
 * Sends many jobs in SendMessageBatch calls of 10, a few at a time; one number's jobs keep their input
 * order. All jobs are validated first; if any is invalid, nothing is sent and `InvalidJobError` lists
 * them by index. Per-entry SQS failures are reported, not thrown.
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
  // Each number's jobs go through one lane, in input order, so FIFO order per number holds;
  // the lanes run side by side, since bulk sends are bound by round trips, not by SQS.
  const lanes = new Map<number, typeof valid>();
  for (const entry of valid) {
    const lane = laneOf(entry.message.job.phoneNumberId);
    lanes.set(lane, [...(lanes.get(lane) ?? []), entry]);
  }
  let sentCount = 0;
  const sendChunk = async (chunk: typeof valid) => {
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
    sentCount += chunk.length;
    options.onProgress?.(sentCount, valid.length);
  };
  await Promise.all(
    [...lanes.values()].map(async (entries) => {
      for (let start = 0; start < entries.length; start += 10) await sendChunk(entries.slice(start, start + 10));
    }),
  );
  result.sent.sort((a, b) => a.index - b.index);
  result.failed.sort((a, b) => a.index - b.index);
  return result;
}
