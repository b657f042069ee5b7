import type { SQSRecord } from 'aws-lambda';
import type { Clock } from '../../../shared/clock.ts';
import { toRecord } from '../../../tools/sqs-poller.ts';

/** A message attribute as Lambda shows it (and as `jobQueue.carry` passes it). */
export type MessageAttributes = Record<string, { dataType: string; stringValue: string }>;

/** One message on the model queue. */
export interface QueueMessage {
  messageId: string;
  body: string;
  groupId: string;
  dedupId: string;
  attributes: MessageAttributes;
  sentAt: number;
  /** Order of sending: FIFO order within a group. */
  seq: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** Receipt handle of the latest receive; undefined until received. */
  receiptHandle?: string;
  /** In flight (invisible) until then; visible when `<= now` or never received. */
  visibleAt: number;
}

export interface FifoQueueOptions {
  /** The job queue's visibility timeout (the stack sets 1080 s). */
  visibilityTimeoutSeconds?: number;
  /** After this many receives the next receive moves the message to SQS's own DLQ (the redrive policy). */
  maxReceiveCount?: number;
  /** FIFO deduplication interval (SQS: 5 minutes). */
  dedupWindowMs?: number;
  /** ChangeMessageVisibility's upper bound (SQS: 12 h). */
  maxVisibilitySeconds?: number;
}

/** What SQS answers to ChangeMessageVisibility with a bad receipt handle or value. */
class QueueRequestError extends Error {
  override readonly name = 'QueueRequestError';
}

/**
 * SQS FIFO as far as the worker can tell it apart: message groups (a group with a message in flight
 * delivers nothing else), deduplication within 5 minutes, receive counts, a visibility timeout on the
 * shared ManualClock, and the queue's own redrive after `maxReceiveCount` receives ("SQS-moved").
 */
export class FifoQueue {
  readonly #clock: Clock;
  readonly #visibilityMs: number;
  readonly #maxReceiveCount: number;
  readonly #dedupWindowMs: number;
  readonly #maxVisibilitySeconds: number;
  readonly #messages: QueueMessage[] = [];
  readonly #dedup = new Map<string, { at: number; messageId: string }>();
  #seq = 0;
  #handles = 0;
  /** Messages SQS moved to the dead-letter queue by itself: the worker never decided about them. */
  readonly moved: QueueMessage[] = [];

  constructor(clock: Clock, options: FifoQueueOptions = {}) {
    this.#clock = clock;
    this.#visibilityMs = (options.visibilityTimeoutSeconds ?? 1080) * 1000;
    this.#maxReceiveCount = options.maxReceiveCount ?? 10;
    this.#dedupWindowMs = options.dedupWindowMs ?? 5 * 60_000;
    this.#maxVisibilitySeconds = options.maxVisibilitySeconds ?? 43_200;
  }

  /** SendMessage. A deduplication id seen within the interval is accepted and silently dropped, as SQS does. */
  send(message: { body: string; groupId: string; dedupId: string; attributes?: MessageAttributes }): { accepted: boolean; messageId: string } {
    const now = this.#clock.now();
    const seen = this.#dedup.get(message.dedupId);
    if (seen && now - seen.at < this.#dedupWindowMs) return { accepted: false, messageId: seen.messageId };
    this.#seq += 1;
    const messageId = `m${this.#seq}`;
    this.#dedup.set(message.dedupId, { at: now, messageId });
    this.#messages.push({
      messageId,
      body: message.body,
      groupId: message.groupId,
      dedupId: message.dedupId,
      attributes: message.attributes ?? {},
      sentAt: now,
      seq: this.#seq,
      receiveCount: 0,
      visibleAt: now,
    });
    return { accepted: true, messageId };
  }

  /** ReceiveMessage: up to `max` messages, a group's in order, skipping every group with a message in flight. */
  receive(max: number): QueueMessage[] {
    const now = this.#clock.now();
    const batch: QueueMessage[] = [];
    const blocked = new Set(this.#messages.filter((message) => this.#inFlight(message, now)).map((message) => message.groupId));
    for (const message of [...this.#messages]) {
      if (batch.length >= max) break;
      if (blocked.has(message.groupId)) continue;
      if (message.receiveCount >= this.#maxReceiveCount) {
        this.#remove(message);
        this.moved.push(message);
        continue;
      }
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      this.#handles += 1;
      message.receiptHandle = `rh-${message.messageId}-${this.#handles}`;
      message.visibleAt = now + this.#visibilityMs;
      batch.push(message);
    }
    return batch;
  }

  /** DeleteMessage; false when the handle is not the message's latest (SQS may then keep the message). */
  delete(receiptHandle: string): boolean {
    const message = this.#messages.find((candidate) => candidate.receiptHandle === receiptHandle);
    if (!message) return false;
    this.#remove(message);
    return true;
  }

  /** ChangeMessageVisibility: the message stays in flight for `seconds` more; its next receive counts. */
  changeVisibility(receiptHandle: string, seconds: number): void {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > this.#maxVisibilitySeconds) {
      throw new QueueRequestError(`InvalidParameterValue: VisibilityTimeout ${seconds} is not an integer in 0..${this.#maxVisibilitySeconds}`);
    }
    const now = this.#clock.now();
    const message = this.#messages.find((candidate) => candidate.receiptHandle === receiptHandle);
    if (!message || !this.#inFlight(message, now)) {
      throw new QueueRequestError('ReceiptHandleIsInvalid: the message is not in flight with this receipt handle');
    }
    message.visibleAt = now + seconds * 1000;
  }

  /** The earliest time a message becomes deliverable (its group has nothing in flight); undefined when empty. */
  nextVisibleAt(): number | undefined {
    const now = this.#clock.now();
    const groupFree = new Map<string, number>();
    for (const message of this.#messages) {
      const free = this.#inFlight(message, now) ? message.visibleAt : now;
      groupFree.set(message.groupId, Math.max(groupFree.get(message.groupId) ?? now, free));
    }
    return groupFree.size === 0 ? undefined : Math.min(...groupFree.values());
  }

  get size(): number {
    return this.#messages.length;
  }

  /** Messages still on the queue (for reports). */
  pending(): readonly QueueMessage[] {
    return this.#messages;
  }

  /** The message as Lambda hands it to the handler (the shape `SqsPoller` builds from a real receive). */
  toRecord(message: QueueMessage): SQSRecord {
    return toRecord(
      {
        MessageId: message.messageId,
        ReceiptHandle: message.receiptHandle!,
        Body: message.body,
        Attributes: {
          ApproximateReceiveCount: String(message.receiveCount),
          SentTimestamp: String(message.sentAt),
          SenderId: 'model',
          ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
          MessageGroupId: message.groupId,
          MessageDeduplicationId: message.dedupId,
          SequenceNumber: String(message.seq).padStart(20, '0'),
        },
        MessageAttributes: Object.fromEntries(
          Object.entries(message.attributes).map(([key, value]) => [key, { DataType: value.dataType, StringValue: value.stringValue }]),
        ),
      },
      'https://sqs.model.local/000000000000/jobs.fifo',
    );
  }

  #inFlight(message: QueueMessage, now: number): boolean {
    return message.receiptHandle !== undefined && message.visibleAt > now;
  }

  #remove(message: QueueMessage): void {
    this.#messages.splice(this.#messages.indexOf(message), 1);
  }
}
