import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { deadLetterEnvelopeV1Schema, REDRIVE_GENERATION_ATTRIBUTE } from '../jobs/dlq-envelope.v1.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import { parseJob, type JobV1 } from '../jobs/job.v1.ts';
import type { DeadLetter } from './dead-letter.ts';
import type { DeadLetterQueue, HeldScan, RedriveTarget, ScanOptions } from './port.ts';

/** The dead-letter queue on SQS (FIFO). The only file of the module that talks to SQS. */
export class SqsDeadLetterQueue implements DeadLetterQueue {
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;

  constructor(sqs: SQSClient, queueUrl: string) {
    this.#sqs = sqs;
    this.#queueUrl = queueUrl;
  }

  scan(options: ScanOptions = {}): Promise<HeldScan> {
    return scanDeadLetters(this.#sqs, this.#queueUrl, options);
  }

  count(): Promise<{ visible: number; inFlight: number }> {
    return countMessages(this.#sqs, this.#queueUrl);
  }

  delete(message: DeadLetter): Promise<void> {
    return deleteDeadLetter(this.#sqs, this.#queueUrl, message);
  }
}

/** The job queue on SQS, as a redrive sends to it: the job message `enqueueJob` builds, with the next generation. */
export class SqsRedriveTarget implements RedriveTarget {
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;

  constructor(sqs: SQSClient, queueUrl: string) {
    this.#sqs = sqs;
    this.#queueUrl = queueUrl;
  }

  async send(job: JobV1, jobKey: string, generation: number): Promise<{ messageId: string }> {
    const sent = await enqueueJob(this.#sqs, this.#queueUrl, { ...job, idempotencyKey: jobKey }, { redriveGeneration: generation });
    return { messageId: sent.messageId };
  }
}

/** A scan never holds a message longer than this, however slow it is. */
const MAX_SCAN_VISIBILITY_SECONDS = 900;

const DEFAULT_SCAN: Required<Omit<ScanOptions, 'deadline'>> = {
  visibilityTimeoutSeconds: 30,
  waitTimeSeconds: 1,
  maxMessages: 100_000,
};

/**
 * Reads every message currently receivable on the (FIFO) dead-letter queue and holds them for a short
 * visibility timeout. Receiving continues until a receive comes back empty, because in a FIFO queue
 * the messages of a group in flight hide the rest of that group from later receives. If held messages
 * come back (the scan outlasted their timeout), the timeout doubles for the rest of the scan.
 * A group's messages beyond those returned with its head stay hidden until the head is deleted;
 * `countMessages` tells callers when the scan saw fewer than the queue holds.
 */
async function scanDeadLetters(sqs: SQSClient, queueUrl: string, options: ScanOptions = {}): Promise<HeldScan> {
  const settings = { ...DEFAULT_SCAN, ...options };
  const held = new Map<string, DeadLetter>();
  let truncated = false;
  let visibility = settings.visibilityTimeoutSeconds;
  // A backstop against a queue that never runs dry; each receive normally brings up to 10 new messages.
  let receivesLeft = Math.ceil(settings.maxMessages / 10) * 3 + 50;
  for (;;) {
    if (held.size >= settings.maxMessages || receivesLeft-- <= 0 || (settings.deadline !== undefined && Date.now() >= settings.deadline)) {
      truncated = true;
      break;
    }
    const output = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, settings.maxMessages - held.size),
        VisibilityTimeout: visibility,
        WaitTimeSeconds: settings.waitTimeSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    const received = (output.Messages ?? []).filter((message) => message.MessageId && message.ReceiptHandle);
    // Empty: everything receivable is held by this scan (or by someone else). Done.
    if (received.length === 0) break;
    let fresh = 0;
    for (const message of received) {
      if (!held.has(message.MessageId!)) fresh++;
      // A message seen again (its timeout ran out mid-scan) keeps only its newest receipt handle.
      held.set(message.MessageId!, readDeadLetter(message));
    }
    if (fresh < received.length) {
      // The scan is slower than the timeout (a deep queue, a slow endpoint): hold longer from now on, or
      // expired messages would keep coming back and hide the end of the queue.
      visibility = Math.min(MAX_SCAN_VISIBILITY_SECONDS, Math.max(1, visibility * 2));
    }
  }
  const messages = [...held.values()];
  const released = new Set<string>();
  return {
    messages,
    truncated,
    release: async (subset = messages) => {
      const pending = subset.filter((message) => !released.has(message.messageId));
      pending.forEach((message) => released.add(message.messageId));
      return changeVisibility(sqs, queueUrl, pending, 0);
    },
  };
}

/** Approximate visible + in-flight counts, to warn when a scan saw fewer messages than the queue holds. */
async function countMessages(sqs: SQSClient, queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const output = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(output.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(output.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/** Deletes one held message (tests use it to interrupt a redrive between send and delete). */
export async function deleteDeadLetter(sqs: SQSClient, queueUrl: string, message: DeadLetter): Promise<void> {
  await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.receiptHandle }));
}

async function changeVisibility(sqs: SQSClient, queueUrl: string, messages: DeadLetter[], seconds: number): Promise<string[]> {
  const problems: string[] = [];
  for (let start = 0; start < messages.length; start += 10) {
    const chunk = messages.slice(start, start + 10);
    try {
      const output = await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.receiptHandle,
            VisibilityTimeout: seconds,
          })),
        }),
      );
      for (const failure of output.Failed ?? []) {
        const message = chunk[Number(failure.Id)];
        problems.push(`could not release ${message?.messageId ?? '?'}: ${failure.Code ?? failure.Message ?? 'unknown error'}`);
      }
    } catch (error) {
      problems.push(`could not release ${chunk.length} message(s): ${(error as Error).message}`);
    }
  }
  return problems;
}

/** Turns one SQS message into an ops view. Never throws: a body nobody can read is `unreadable`. */
export function readDeadLetter(message: Message): DeadLetter {
  const messageId = message.MessageId ?? '';
  const receiptHandle = message.ReceiptHandle ?? '';
  const sentAt = Number(message.Attributes?.SentTimestamp ?? 0);
  const groupId = message.Attributes?.MessageGroupId;
  const body = message.Body ?? '';
  const unreadable = (problem: string): DeadLetter => ({
    messageId,
    receiptHandle,
    category: 'unreadable',
    deadLetteredAt: sentAt,
    redriveGeneration: 0,
    ...(groupId && groupId !== 'invalid-jobs' ? { phoneNumberId: groupId } : {}),
    problem,
  });
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    raw = undefined;
  }
  if (typeof raw === 'object' && raw !== null && (raw as { kind?: unknown }).kind === 'wa-registrar.dead-letter') {
    const parsed = deadLetterEnvelopeV1Schema.safeParse(raw);
    if (!parsed.success) {
      return unreadable(
        `a dead-letter envelope that does not match schema v1: ${parsed.error.issues
          .map((issue) => `${issue.path.join('.') || 'envelope'}: ${issue.message}`)
          .join('; ')}`,
      );
    }
    const envelope = parsed.data;
    const phoneNumberId = envelope.phoneNumberId ?? envelope.job?.phoneNumberId;
    const action = envelope.action ?? envelope.job?.action;
    return {
      messageId,
      receiptHandle,
      category: envelope.category,
      ...(phoneNumberId === undefined ? {} : { phoneNumberId }),
      ...(action === undefined ? {} : { action }),
      ...(envelope.graphError?.code === undefined ? {} : { code: envelope.graphError.code }),
      deadLetteredAt: Date.parse(envelope.deadLetteredAt),
      ...(envelope.eligibleAt === undefined ? {} : { eligibleAt: Date.parse(envelope.eligibleAt) }),
      receiveCount: envelope.receiveCount,
      ...(envelope.job === null ? {} : { job: envelope.job }),
      jobKey: envelope.jobKey,
      redriveGeneration: envelope.redriveGeneration,
      envelope,
    };
  }
  // SQS's own redrive policy moves the original job message, not an envelope.
  const asJob = parseJob(body);
  if (asJob.ok) {
    const generation = Number(message.MessageAttributes?.[REDRIVE_GENERATION_ATTRIBUTE]?.StringValue ?? 0);
    return {
      messageId,
      receiptHandle,
      category: 'max_receives',
      phoneNumberId: asJob.job.phoneNumberId,
      action: asJob.job.action,
      deadLetteredAt: sentAt,
      job: asJob.job,
      // The worker keys a job without an idempotency key by its SQS message id, which SQS keeps when it moves it.
      jobKey: asJob.job.idempotencyKey ?? messageId,
      redriveGeneration: Number.isFinite(generation) ? generation : 0,
    };
  }
  return unreadable(`neither a dead-letter envelope nor a job: ${asJob.error}`);
}
