import type { DeadLetterEnvelopeV1 } from '../jobs/dlq-envelope.v1.ts';

/** Where jobs that must not be retried go, with everything a person needs to act. */
export interface DeadLetterSink {
  /** Sends the envelope; FIFO group = number, deduplication = job key + generation + category, so a repeat is dropped. */
  send(envelope: DeadLetterEnvelopeV1): Promise<void>;
}

/** A job sent back to the queue as a fresh message (see JobQueue.carry). */
export interface CarriedJob {
  body: string;
  /** The FIFO group: the phone number id. */
  groupId: string;
  jobKey: string;
  generation: number;
  /** Epoch ms before which the worker only hides the message again. */
  notBefore: number;
  /** Unique per carry: the FIFO deduplication id must not drop the copy as a repeat of the original. */
  carryId: string;
  /** A Graph answer the ledger did not take, as JSON (codes and secret versions only, never a secret). */
  answer?: string;
}

/** Control over job messages, for the batch layer. */
export interface JobQueue {
  /** A failure: keeps the message invisible for `seconds` (SQS caps this at 12 h); its next receive counts. */
  delay(receiptHandle: string, seconds: number): Promise<void>;
  /**
   * A wait that spent nothing: sends the job again as a new message (receive count starts over) that the worker
   * keeps hidden until `notBefore`. The caller then acknowledges the original. Waits never count toward
   * SQS's maxReceiveCount this way.
   */
  carry(job: CarriedJob): Promise<void>;
}
