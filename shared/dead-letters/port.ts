import type { JobV1 } from '../jobs/job.v1.ts';
import type { DeadLetter } from './dead-letter.ts';

/** How a scan reads the queue. */
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

/** Messages read from the dead-letter queue and held invisible until `release`d or deleted. */
export interface HeldScan {
  messages: DeadLetter[];
  /** True when the scan stopped at `maxMessages` or `deadline` rather than at an empty receive. */
  truncated: boolean;
  /** Makes the given messages (default: all still held) visible again at once. Returns failures as sentences. */
  release(messages?: DeadLetter[]): Promise<string[]>;
}

/** The dead-letter queue, as the redrive, the listing and the purge use it. The adapter is `SqsDeadLetterQueue`. */
export interface DeadLetterQueue {
  /**
   * Reads every message currently receivable and holds them for a short visibility timeout. In a FIFO queue a
   * group's messages beyond those returned with its head stay hidden until the head is deleted; `count` tells
   * callers when a scan saw fewer than the queue holds.
   */
  scan(options?: ScanOptions): Promise<HeldScan>;
  /** Approximate visible and in-flight counts. */
  count(): Promise<{ visible: number; inFlight: number }>;
  /** Deletes one held message for good. */
  delete(message: DeadLetter): Promise<void>;
}

/** Where a redrive sends a job back: the job queue. */
export interface RedriveTarget {
  /**
   * Sends the job under its key with this redrive generation. The same key and generation give the same FIFO
   * deduplication id, so a repeated send after an interrupted redrive is dropped.
   */
  send(job: JobV1, jobKey: string, generation: number): Promise<{ messageId: string }>;
}
