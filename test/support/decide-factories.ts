import { HOUR_MS, MINUTE_MS } from '../../shared/clock.ts';
import type { ReadInterpretation } from '../../shared/domain/interpret.ts';
import { jobHashOf, type DecideInput, type JobPolicy } from '../../shared/domain/job-context.ts';
import type { NumberState } from '../../shared/graph/port.ts';
import { validateJob, type JobV1, type JobV1Input } from '../../shared/jobs/job.v1.ts';
import { emptyNumber, type JobRecord, type LedgerSnapshot, type NumberRecord } from '../../shared/ledger/port.ts';
import type { SecretLookup } from '../../shared/secrets/port.ts';

/** Factories for the pure decision core's unit tests. */
export const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
export const NUMBER = '106540352242922';

export const policy: JobPolicy = {
  budget: { limit: 10, windowMs: 72 * HOUR_MS, marginMs: 15 * MINUTE_MS, shared: true, blockMs: 72 * HOUR_MS },
  leaseMs: 15 * MINUTE_MS,
  jobRecordMs: 14 * 24 * HOUR_MS,
  transientAttempts: 3,
  maxDeliveries: 6,
  maxWaitMs: 12 * HOUR_MS,
  pinLockMs: 24 * HOUR_MS,
};

export const found = (value: string, version: string, fresh = false): SecretLookup => ({ kind: 'found', value, version, fresh });
/** Read from Secrets Manager in this delivery (not from the cache). */
export const TOKEN = found('EAAG-unit-token', 'tok-v1', true);
export const PIN = found('012345', 'pin-v1', true);
export const CACHED_TOKEN = found('EAAG-unit-token', 'tok-v1');
export const CACHED_PIN = found('012345', 'pin-v1');

export function jobOf(input: Partial<JobV1Input> = {}): JobV1 {
  const result = validateJob({ action: 'register', phoneNumberId: NUMBER, reason: 'account_creation', idempotencyKey: 'job-1', ...input });
  if (!result.ok) throw new Error(result.error);
  return result.job;
}

export const state = (overrides: Partial<NumberState> = {}): ReadInterpretation => ({
  kind: 'state',
  state: { status: 'DISCONNECTED', platformType: 'NOT_APPLICABLE', codeVerificationStatus: 'VERIFIED', nameStatus: 'APPROVED', ...overrides },
});
/** A migration's On-Premises backup as the store returns it. */
const BACKUP = found(JSON.stringify({ data: 'b2Zm', password: 'backup-password' }), 'backup-v1', true);

export const CONNECTED = state({ status: 'CONNECTED', platformType: 'CLOUD_API' });

export function numberWith(overrides: Partial<NumberRecord> = {}): NumberRecord {
  return { ...emptyNumber(NUMBER), version: 3, ...overrides };
}

export function record(job: JobV1, overrides: Partial<JobRecord> = {}): JobRecord {
  return { jobKey: job.idempotencyKey!, version: 2, status: 'in_progress', generation: 0, jobHash: jobHashOf(job), progress: {}, uncertain: 0, ...overrides };
}

/** A decide input with sane defaults: a verified, unregistered number, token and PIN found, no read yet. */
export function inputOf(
  job: JobV1,
  overrides: Partial<Omit<DecideInput, 'snapshot'>> & { snapshot?: Partial<LedgerSnapshot> } = {},
): DecideInput {
  const { snapshot, ...rest } = overrides;
  return {
    job,
    jobKey: job.idempotencyKey!,
    jobHash: jobHashOf(job),
    delivery: { messageId: 'm-1', receiveCount: 1, redriveGeneration: 0 },
    snapshot: { number: numberWith(), app: { version: 1 }, ...snapshot },
    secrets: { token: TOKEN, ...(job.action === 'deregister' ? {} : { pin: PIN }), ...(job.action === 'migrate' ? { backup: BACKUP } : {}) },
    now: T0,
    policy,
    ...rest,
  };
}

/** `count` requests spread one per hour, the newest one hour ago. */
export function spentHourly(count: number, operation: 'register' | 'deregister' = 'register') {
  return Array.from({ length: count }, (_, index) => ({ at: T0 - (count - index) * HOUR_MS, operation }));
}
