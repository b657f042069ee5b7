import type { AttemptSummary, DeadLetterEnvelopeV1 } from '../jobs/dlq-envelope.v1.ts';
import type { JobV1 } from '../jobs/job.v1.ts';
import type { AttemptRecord, JobDecision } from '../ledger/port.ts';
import { occupiedTimes, scopeFor, type BudgetPolicy } from './budget.ts';
import type { NumberRecord } from '../ledger/port.ts';
import { iso } from './job-context.ts';
import { DEAD_LETTER_ALLOW, redactDeep, redactedRawBody } from './redaction.ts';
import { DEAD_LETTER_REASONS } from './reasons.ts';
import type { JobDelivery } from './job-context.ts';

/** Our own sentences (built from validated fields and codes) keep their error codes readable. */
const ENVELOPE_ALLOW = [...DEAD_LETTER_ALLOW, 'reason', 'hint'];

/** The dead letter for a decision: the job, the decision, and the job's requests from the ledger. */
export function buildEnvelope(args: {
  job: JobV1;
  jobKey: string;
  decision: JobDecision;
  delivery: JobDelivery;
  history: AttemptRecord[];
  number: NumberRecord;
  budget: BudgetPolicy;
  now: number;
}): DeadLetterEnvelopeV1 {
  const { job, decision, delivery, budget, now } = args;
  const attempts: AttemptSummary[] = args.history
    .filter((attempt) => attempt.jobKey === args.jobKey)
    .map((attempt) => ({
      at: iso(attempt.at),
      action: attempt.operation,
      outcome: attempt.outcome,
      ...(attempt.code !== undefined ? { code: attempt.code } : {}),
      ...(attempt.httpStatus !== undefined ? { httpStatus: attempt.httpStatus } : {}),
      ...(attempt.fbtraceId ? { fbtraceId: attempt.fbtraceId } : {}),
      ...(attempt.durationMs !== undefined ? { durationMs: attempt.durationMs } : {}),
    }));
  const operation = job.action === 'deregister' ? 'deregister' : 'register';
  const hold = decision.hold;
  const envelope: DeadLetterEnvelopeV1 = {
    schemaVersion: 1,
    kind: 'wa-registrar.dead-letter',
    category: decision.category,
    reason: decision.reason,
    hint: decision.hint,
    job,
    jobKey: args.jobKey,
    phoneNumberId: job.phoneNumberId,
    action: job.action,
    ...(decision.graphError ? { graphError: decision.graphError } : {}),
    ...(hold
      ? {
          hold: {
            cause: hold.cause,
            since: iso(hold.since),
            ...(hold.until !== undefined ? { until: iso(hold.until) } : {}),
            ...(hold.secretVersion ? { secretVersion: hold.secretVersion } : {}),
            ...(hold.code !== undefined ? { code: hold.code } : {}),
            ...(hold.businessAccountId !== undefined ? { businessAccountId: hold.businessAccountId } : {}),
          },
        }
      : {}),
    ...(decision.blockedUntil !== undefined ? { blockedUntil: iso(decision.blockedUntil) } : {}),
    ...(decision.eligibleAt !== undefined ? { eligibleAt: iso(decision.eligibleAt) } : {}),
    budget: {
      used: occupiedTimes(args.number, operation, now, budget).length,
      limit: budget.limit,
      windowHours: budget.windowMs / 3_600_000,
      scope: scopeFor(operation, budget),
    },
    attempts,
    receiveCount: delivery.receiveCount,
    sourceMessageId: delivery.messageId,
    deadLetteredAt: iso(now),
    redriveGeneration: delivery.redriveGeneration,
  };
  return redactDeep(envelope, ENVELOPE_ALLOW) as DeadLetterEnvelopeV1;
}

/** The dead letter for a message that is not a valid job: the body only as redacted evidence, never redriven. */
export function buildInvalidJobEnvelope(delivery: JobDelivery, error: string, now: number): DeadLetterEnvelopeV1 {
  const raw = redactedRawBody(delivery.body);
  const envelope: DeadLetterEnvelopeV1 = {
    schemaVersion: 1,
    kind: 'wa-registrar.dead-letter',
    category: 'invalid_job',
    reason: `invalid job: ${error}`,
    hint: DEAD_LETTER_REASONS.invalid_job.hint,
    job: null,
    rawBody: raw.text,
    rawBodyBytes: raw.bytes,
    jobKey: delivery.messageId,
    attempts: [],
    receiveCount: delivery.receiveCount,
    sourceMessageId: delivery.messageId,
    deadLetteredAt: iso(now),
    redriveGeneration: delivery.redriveGeneration,
  };
  return redactDeep(envelope, ENVELOPE_ALLOW) as DeadLetterEnvelopeV1;
}
