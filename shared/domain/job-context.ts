import { createHash } from 'node:crypto';
import type { NumberState } from '../graph/port.ts';
import type { JobAction, JobReason, JobV1 } from '../jobs/job.v1.ts';
import type { AppGates, JobDecision, JobRecord, LedgerChanges, LedgerSnapshot, NumberRecord } from '../ledger/port.ts';
import type { SecretLookup } from '../secrets/port.ts';
import { numberItemExpiry, slotLifetimeMs, type BudgetPolicy, type LimitedOperation } from './budget.ts';
import type { ReadInterpretation } from './interpret.ts';
import { DEAD_LETTER_REASONS, type ReasonKey } from './reasons.ts';

/** The requests each action needs at most (a 133000 repair aside): set_localization deregisters, then registers. */
export const OPERATIONS_OF_ACTION: Record<JobAction, LimitedOperation[]> = {
  register: ['register'],
  deregister: ['deregister'],
  set_localization: ['deregister', 'register'],
  migrate: ['register'],
};

/** Reasons that mean "register again even if registered": a name approval takes effect only by re-registering. */
export const REREGISTER_REASONS: ReadonlySet<JobReason> = new Set<JobReason>(['name_change', 'manual']);

/** The knobs `decide` and `settle` read. */
export interface JobPolicy {
  budget: BudgetPolicy;
  leaseMs: number;
  jobRecordMs: number;
  /** Requests with an unknown or transient outcome one job may make (TRANSIENT_ATTEMPTS_PER_JOB). */
  transientAttempts: number;
  /** Deliveries after which failing state reads dead-letter the job (MAX_DELIVERIES). */
  maxDeliveries: number;
  /** Longest wait a job spends on the queue; longer ones are dead-lettered with eligibleAt. */
  maxWaitMs: number;
  /** How long a PIN lockout holds when Meta's details say nothing readable (24 h). */
  pinLockMs: number;
}

/** One SQS delivery of a job, as the worker sees it. */
export interface JobDelivery {
  body: string;
  messageId: string;
  /** SQS ApproximateReceiveCount: 1 on the first delivery. */
  receiveCount: number;
  /** 0 for jobs from producers; the CLI and scheduled redrive send generation + 1. */
  redriveGeneration: number;
}

/** Everything `decide` looks at: data only. */
export interface DecideInput {
  job: JobV1;
  jobKey: string;
  jobHash: string;
  delivery: Pick<JobDelivery, 'messageId' | 'receiveCount' | 'redriveGeneration'>;
  snapshot: LedgerSnapshot;
  secrets: {
    token: SecretLookup;
    pin?: SecretLookup;
    /** migrate only: the On-Premises backup. */
    backup?: SecretLookup;
    /** This delivery stored the PIN itself (provision-if-missing): the register makes it the number's PIN. */
    provisioned?: true;
  };
  /** The latest state read of this delivery (none after a request: the state may have changed). */
  read?: ReadInterpretation;
  now: number;
  policy: JobPolicy;
}

/** A hash of what the job asks for (not its key): the same key with other content is another job. */
export function jobHashOf(job: JobV1): string {
  // Fields added later join only when set, so a job written before them keeps its hash.
  const content = [job.action, job.phoneNumberId, job.dataLocalizationRegion ?? '', job.reason, ...(job.pinPolicy ? [job.pinPolicy] : [])].join('|');
  return createHash('sha256').update(content).digest('hex').slice(0, 32);
}

/** The lease owner of a delivery: its receive count tells a redelivery from a concurrent duplicate. */
export const leaseOwnerOf = (delivery: DecideInput['delivery']) => `${delivery.messageId}#${delivery.receiveCount}`;

/** Whether a number is registered on Cloud API, from a known state; undefined when a field needed is missing. */
export function isConnected(state: NumberState): boolean | undefined {
  if (state.status === undefined) return undefined;
  if (state.status !== 'CONNECTED') return false;
  return state.platformType === undefined ? undefined : state.platformType === 'CLOUD_API';
}

/** Whether a known state shows the operation took effect. Missing fields never count as done. */
export function goalReached(operation: LimitedOperation, state: NumberState): boolean | undefined {
  const connected = isConnected(state);
  if (connected === undefined) return undefined;
  return operation === 'register' ? connected : !connected;
}

/** The job record this delivery writes from: the one read, or a fresh one for a new job or a new generation. */
export function baseJob(input: DecideInput): JobRecord {
  const record = input.snapshot.job;
  const generation = input.delivery.redriveGeneration;
  if (record && record.generation === generation) return record;
  return {
    jobKey: input.jobKey,
    version: record?.version ?? 0,
    status: 'in_progress',
    generation,
    jobHash: input.jobHash,
    // A redrive starts over, except for what the last request needs: its outcome may be unknown, and a register sent to
    // a number that was already connected cannot be confirmed by a state read (so it is not taken as done).
    progress: record?.progress.connectedBefore ? { connectedBefore: true } : {},
    uncertain: 0,
    ...(record?.lastAttempt ? { lastAttempt: record.lastAttempt } : {}),
  };
}

/** A write of some items with their versions bumped; expiry times from the policy. */
export function changesOf(
  input: Pick<DecideInput, 'job' | 'now' | 'policy'>,
  items: { number?: NumberRecord; job?: JobRecord; app?: AppGates; checkApp?: number; attempt?: LedgerChanges['attempt'] },
): LedgerChanges {
  const { now, policy } = input;
  return {
    phoneNumberId: input.job.phoneNumberId,
    ...(items.number ? { number: { ...items.number, version: items.number.version + 1 } } : {}),
    ...(items.job ? { job: { ...items.job, version: items.job.version + 1 } } : {}),
    ...(items.app ? { app: { ...items.app, version: items.app.version + 1 } } : {}),
    ...(items.checkApp !== undefined ? { checkApp: items.checkApp } : {}),
    ...(items.attempt ? { attempt: items.attempt } : {}),
    expiresAt: {
      number: items.number ? numberItemExpiry(items.number, now, policy.budget) : now + slotLifetimeMs(policy.budget),
      job: now + policy.jobRecordMs,
      attempt: now + policy.budget.windowMs + policy.budget.marginMs,
    },
  };
}

/** A dead-letter decision from the non-Graph playbook. */
export function decisionFor(key: ReasonKey, detail: string, extra: Omit<JobDecision, 'category' | 'reason' | 'hint'> = {}): JobDecision {
  const row = DEAD_LETTER_REASONS[key];
  return { category: row.category, reason: `${row.summary} ${detail}`.trim(), hint: row.hint, ...extra };
}

export const iso = (ms: number) => new Date(ms).toISOString();
