import type { DeadLetterEnvelopeV1 } from '../jobs/dlq-envelope.v1.ts';

/** Where jobs that must not be retried go, with everything a person needs to act. */
export interface DeadLetterSink {
  /** Sends the envelope; FIFO group = number, deduplication = job key + generation, so a repeat is dropped. */
  send(envelope: DeadLetterEnvelopeV1): Promise<void>;
}

/** Control over a job message that failed and will be redelivered. */
export interface RetryScheduler {
  /** Keeps the message invisible for `seconds` (SQS caps this at 12 h) so the retry waits that long. */
  delay(receiptHandle: string, seconds: number): Promise<void>;
}
