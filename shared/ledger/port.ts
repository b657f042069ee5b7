import type { BudgetScope, BudgetState, LimitedOperation } from '../domain/budget.ts';
import type { JobReason } from '../jobs/job.v1.ts';

/**
 * What a request's outcome is known to be.
 * - `pending`: reserved and about to be sent, or sent with no answer recorded (the worker died): unknown.
 * - `unknown`: sent, but the answer does not say whether it took effect (timeout, 5xx, 131000...).
 * - `rejected`: Meta answered with an error that means it did not take effect.
 * - `success`: Meta confirmed it.
 */
export type AttemptOutcome = 'pending' | 'success' | 'rejected' | 'unknown';

/** The job's idempotency record: what this job has done so far, so redeliveries neither repeat nor skip a step. */
export interface JobRecord {
  jobKey: string;
  /** Optimistic-lock version; every write bumps it. */
  version: number;
  status: 'in_progress' | 'completed' | 'dead_lettered';
  /** Redrive generation this record belongs to; a redrive with a higher generation may run the job again. */
  generation: number;
  /** The SQS message id of the delivery that holds the job; a redelivery of the same message may take over. */
  leaseOwner?: string;
  leaseUntil?: number;
  /** set_localization: the deregister step took effect, so a redelivery resumes at the register. */
  deregisterDone: boolean;
  lastAttempt?: { attemptId: string; at: number; operation: LimitedOperation; outcome: AttemptOutcome };
}

/** Everything the worker needs to decide, read in one round trip. */
export interface LedgerSnapshot {
  budgets: Partial<Record<BudgetScope, BudgetState>>;
  job?: JobRecord;
  /** The last register or deregister that took effect for this number, by any job. */
  lastSuccess?: { operation: LimitedOperation; at: number };
  /** Meta throttles the app until then (epoch ms): no job sends anything before. */
  throttledUntil?: number;
}

/** One request as the ledger keeps it (the audit trail). */
export interface AttemptRecord {
  attemptId: string;
  phoneNumberId: string;
  operation: LimitedOperation;
  scope: BudgetScope;
  at: number;
  reason: JobReason;
  jobKey: string;
  outcome: AttemptOutcome;
  httpStatus?: number;
  code?: number;
  subcode?: number;
  fbtraceId?: string;
  durationMs?: number;
}

export interface ReserveRequest {
  phoneNumberId: string;
  operation: LimitedOperation;
  reason: JobReason;
  jobKey: string;
  generation: number;
  leaseOwner: string;
  leaseUntil: number;
  now: number;
  attemptId: string;
  /** The counter to spend from, with the version read: the write fails if anyone wrote since. */
  spend: BudgetState;
  /** Other counters whose read must still hold (the register counter when a deregister needs one after it). */
  alsoUnchanged: BudgetState[];
  /** The expected job record (absent if none was read); the write fails if it changed. */
  expectedJob?: JobRecord;
  /** Times to store in the spent counter (already pruned, with this request appended). */
  newAttemptTimes: number[];
  /** When the ledger items may be deleted by TTL. */
  attemptExpiresAt: number;
  budgetExpiresAt: number;
  jobExpiresAt: number;
}

export interface OutcomeUpdate {
  phoneNumberId: string;
  jobKey: string;
  attempt: Pick<AttemptRecord, 'attemptId' | 'at' | 'operation'>;
  outcome: AttemptOutcome;
  httpStatus?: number;
  code?: number;
  subcode?: number;
  fbtraceId?: string;
  durationMs: number;
  /** set_localization: mark the deregister step as done in the same write. */
  deregisterDone?: boolean;
  /** The request finished the job: mark it completed in the same write (saves a round trip). */
  completesJob?: { expiresAt: number };
}

export interface FinishRequest {
  phoneNumberId: string;
  jobKey: string;
  status: 'completed' | 'dead_lettered';
  generation: number;
  /** Only the delivery holding the job may finish it; absent when the job never needed a lease. */
  leaseOwner: string;
  now: number;
  expiresAt: number;
  deregisterDone?: boolean;
}

export interface BlockRequest {
  phoneNumberId: string;
  scopes: BudgetScope[];
  until: number;
  now: number;
}

/**
 * The atomic attempt ledger: one per-number budget per scope, one record per request, one record per job.
 * Every method is a single round trip; `reserve` is the only way to spend an attempt.
 */
export interface AttemptLedger {
  read(phoneNumberId: string, jobKey: string, scopes: BudgetScope[]): Promise<LedgerSnapshot>;
  /** Claims one request slot. `conflict` means something changed since `read`: read again and re-decide. */
  reserve(request: ReserveRequest): Promise<'reserved' | 'conflict'>;
  recordOutcome(update: OutcomeUpdate): Promise<void>;
  /** `lost_lease` means another delivery took the job over meanwhile; its record stands. */
  finishJob(request: FinishRequest): Promise<'finished' | 'lost_lease'>;
  /** Records that Meta blocked the number (133016); nothing in these scopes is sent until `until`. */
  block(request: BlockRequest): Promise<void>;
  /** Records that Meta throttles the app (codes 4, 17, 32, 613, 80007, 80008) until `until`; keeps the later time. */
  throttleApp(until: number): Promise<void>;
  /** The number's requests still on the ledger, oldest first. */
  history(phoneNumberId: string): Promise<AttemptRecord[]>;
  /** The number's budget counters (for status views). */
  budgets(phoneNumberId: string): Promise<BudgetState[]>;
}
