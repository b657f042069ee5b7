import { DEAD_LETTER_CATEGORIES, type DeadLetterEnvelopeV1 } from '../jobs/dlq-envelope.v1.ts';
import type { JobV1 } from '../jobs/job.v1.ts';

/**
 * Categories a dead-letter can have once read back. Besides the worker's envelope categories:
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

/** Filters shared by `dlq list` and `dlq redrive`. Each given filter must match. */
export interface DeadLetterFilter {
  phoneNumberId?: string;
  category?: ViewCategory;
  code?: number;
}

/** Whether the message passes every filter given. */
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
