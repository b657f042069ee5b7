import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  DEAD_LETTER_CATEGORIES,
  deadLetterEnvelopeV1Schema,
  REDRIVE_GENERATION_ATTRIBUTE,
  type DeadLetterCategory,
  type DeadLetterEnvelopeV1,
} from '../jobs/dlq-envelope.v1.ts';
import { parseJob, type JobV1 } from '../jobs/job.v1.ts';

/**
 * Categories a dead-letter can show in ops views. Besides the worker's envelope categories:
 * - `max_receives`: a bare job that SQS itself moved after `maxReceiveCount` deliveries with no decision
 *   from the worker (it crashed or timed out each time). Redriven only by id.
 * - `unreadable`: neither an envelope nor a job. Never redriven; purge it once understood.
 */
export const VIEW_CATEGORIES = [...DEAD_LETTER_CATEGORIES, 'max_receives', 'unreadable'] as const;
export type ViewCategory = (typeof VIEW_CATEGORIES)[number];

/** One message on the dead-letter queue, read without removing it. */
export interface DeadLetter {
  messageId: string;
  /** Valid only while the scan that read it holds it. */
  receiptHandle: string;
  category: ViewCategory;
  phoneNumberId?: string;
  action?: string;
  /** Meta's error code, when Graph answered with one. */
  code?: number;
  /** Epoch ms. From the envelope, else when SQS received the message. */
  deadLetteredAt: number;
  /** Epoch ms; absent when only a person can fix the cause. */
  eligibleAt?: number;
  /** How often the job queue delivered the job (from the envelope). */
  receiveCount?: number;
  /** The job to send on redrive; absent for invalid or unreadable messages. */
  job?: JobV1;
  /** The worker's idempotency key for the job. */
  jobKey?: string;
  redriveGeneration: number;
  envelope?: DeadLetterEnvelopeV1;
  /** Why the message is `unreadable`, as a sentence. */
  problem?: string;
}

export interface ScanOptions {
  /** How long each read message stays hidden from other readers. Short, and released at the end anyway. */
  visibilityTimeoutSeconds?: number;
  /** Long-poll wait per receive. 0 against an emulator; 1 against SQS, whose short polls may miss messages. */
  waitTimeSeconds?: number;
  /** Stop reading after this many messages (the rest stay untouched). */
  maxMessages?: number;
  /** Epoch ms (wall clock) after which no more receives start: the scheduled redrive must end before its timeout. */
  deadline?: number;
}

/** Messages read from the DLQ and held invisible until `release`d or deleted. */
export interface HeldScan {
  messages: DeadLetter[];
  /** True when the scan stopped at `maxMessages` or `deadline` rather than at an empty receive. */
  truncated: boolean;
  /** Makes the given messages (default: all still held) visible again at once. Returns failures as sentences. */
  release(messages?: DeadLetter[]): Promise<string[]>;
}

/** A scan never holds a message longer than this, however slow it is. */
export const MAX_SCAN_VISIBILITY_SECONDS = 900;

export const DEFAULT_SCAN: Required<Omit<ScanOptions, 'deadline'>> = {
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
export async function scanDeadLetters(sqs: SQSClient, queueUrl: string, options: ScanOptions = {}): Promise<HeldScan> {
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
export async function countMessages(sqs: SQSClient, queueUrl: string): Promise<{ visible: number; inFlight: number }> {
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

/** Deletes one held message. Separate so callers (and tests) can see exactly where a redrive stops. */
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

/** Filters shared by `dlq list` and `dlq redrive`. Each given filter must match. */
export interface DeadLetterFilter {
  phoneNumberId?: string;
  category?: ViewCategory;
  code?: number;
}

export function matchesFilter(message: DeadLetter, filter: DeadLetterFilter): boolean {
  if (filter.phoneNumberId !== undefined && message.phoneNumberId !== filter.phoneNumberId) return false;
  if (filter.category !== undefined && message.category !== filter.category) return false;
  if (filter.code !== undefined && message.code !== filter.code) return false;
  return true;
}

/** Oldest first, then by message id, so listings are stable between runs. */
export function sortDeadLetters(messages: DeadLetter[]): DeadLetter[] {
  return [...messages].sort((a, b) => a.deadLetteredAt - b.deadLetteredAt || a.messageId.localeCompare(b.messageId));
}

export type { DeadLetterCategory };
