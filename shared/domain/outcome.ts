import type { GraphCallResult } from '../graph/port.ts';
import type { DeadLetterCategory, DeadLetterEnvelopeV1 } from '../jobs/dlq-envelope.v1.ts';
import type { AttemptRecord } from '../ledger/port.ts';
import type { LimitedOperation } from './budget.ts';
import type { JobDelivery as BaseDelivery } from './job-context.ts';

/** A Graph answer the ledger did not take (it failed past its retries). Holds no secret: versions and codes only. */
export interface UnrecordedAnswer {
  attempt: AttemptRecord;
  result: GraphCallResult;
}

/** One SQS delivery of a job; a carried answer is recorded before anything else. */
export type JobDelivery = BaseDelivery & { answer?: UnrecordedAnswer };

/**
 * Meta answered, but the answer could not be written. The batch layer carries it on a fresh copy of the job, so the
 * redelivery records it (a refusal stays a refusal) instead of asking Meta again.
 */
export class UnrecordedAnswerError extends Error {
  override readonly name = 'UnrecordedAnswerError';
  readonly answer: UnrecordedAnswer;
  constructor(answer: UnrecordedAnswer, cause: unknown) {
    super(`Meta answered the ${answer.attempt.operation} but the ledger did not take the answer`, { cause });
    this.answer = answer;
  }
}

/** One Graph call a delivery made. */
export interface GraphCallSummary {
  operation: LimitedOperation | 'read_state';
  outcome: string;
  code?: number;
  fbtraceId?: string;
  durationMs?: number;
}

/** What happened to a job delivery. Never contains a PIN or token. */
export type JobOutcome = {
  jobKey: string;
  phoneNumberId?: string;
  /** The number's business (from the job, else the ledger), when known. */
  businessAccountId?: string;
  action?: string;
  graphCalls: GraphCallSummary[];
  detail: string;
} & (
  | { status: 'completed' | 'duplicate' }
  | { status: 'dead_lettered'; category: DeadLetterCategory; envelope: DeadLetterEnvelopeV1 }
  /** A failure: the message returns after the delay, and its receive counts. */
  | { status: 'retry'; retryAfterSeconds: number }
  /** Spent nothing and failed nothing: the job is carried back to the queue until `until`. */
  | { status: 'wait'; until: number }
);

