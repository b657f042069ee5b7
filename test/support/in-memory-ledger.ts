import type { BudgetScope, BudgetState } from '../../shared/domain/budget.ts';
import type {
  AttemptLedger,
  AttemptRecord,
  BlockRequest,
  FinishRequest,
  JobRecord,
  LedgerSnapshot,
  OutcomeUpdate,
  ReserveRequest,
} from '../../shared/ledger/port.ts';

/**
 * An in-memory AttemptLedger with the DynamoDB adapter's semantics (optimistic versions, all-or-nothing
 * reservations) and an optional per-call delay. For unit tests and for the benchmark that isolates the
 * worker's own concurrency from the emulator's speed; integration tests use the real adapter on moto.
 */
export class InMemoryAttemptLedger implements AttemptLedger {
  readonly #budgets = new Map<string, BudgetState>();
  readonly #jobs = new Map<string, JobRecord>();
  readonly #attempts = new Map<string, AttemptRecord[]>();
  readonly #lastSuccess = new Map<string, LedgerSnapshot['lastSuccess']>();
  readonly #delayMs: number;
  #throttledUntil: number | undefined;

  constructor(options: { delayMs?: number } = {}) {
    this.#delayMs = options.delayMs ?? 0;
  }

  async read(phoneNumberId: string, jobKey: string, scopes: BudgetScope[]): Promise<LedgerSnapshot> {
    await this.#delay();
    const budgets: LedgerSnapshot['budgets'] = {};
    for (const scope of scopes) budgets[scope] = structuredClone(this.#budgets.get(`${phoneNumberId}|${scope}`) ?? { scope, attemptTimes: [], version: 0 });
    const job = this.#jobs.get(`${phoneNumberId}|${jobKey}`);
    const lastSuccess = this.#lastSuccess.get(phoneNumberId);
    return {
      budgets,
      ...(job ? { job: structuredClone(job) } : {}),
      ...(lastSuccess ? { lastSuccess } : {}),
      ...(this.#throttledUntil !== undefined ? { throttledUntil: this.#throttledUntil } : {}),
    };
  }

  async reserve(request: ReserveRequest): Promise<'reserved' | 'conflict'> {
    await this.#delay();
    const version = (scope: BudgetScope) => this.#budgets.get(`${request.phoneNumberId}|${scope}`)?.version ?? 0;
    const jobKey = `${request.phoneNumberId}|${request.jobKey}`;
    if (version(request.spend.scope) !== request.spend.version) return 'conflict';
    if (request.alsoUnchanged.some((other) => version(other.scope) !== other.version)) return 'conflict';
    if ((this.#jobs.get(jobKey)?.version ?? 0) !== (request.expectedJob?.version ?? 0)) return 'conflict';
    const budgetKey = `${request.phoneNumberId}|${request.spend.scope}`;
    const current = this.#budgets.get(budgetKey);
    this.#budgets.set(budgetKey, {
      scope: request.spend.scope,
      attemptTimes: request.newAttemptTimes,
      ...(current?.blockedUntil !== undefined ? { blockedUntil: current.blockedUntil } : {}),
      version: request.spend.version + 1,
    });
    this.#history(request.phoneNumberId).push({
      attemptId: request.attemptId,
      phoneNumberId: request.phoneNumberId,
      operation: request.operation,
      scope: request.spend.scope,
      at: request.now,
      reason: request.reason,
      jobKey: request.jobKey,
      outcome: 'pending',
    });
    const previous = this.#jobs.get(jobKey);
    this.#jobs.set(jobKey, {
      jobKey: request.jobKey,
      version: (previous?.version ?? 0) + 1,
      status: 'in_progress',
      generation: request.generation,
      leaseOwner: request.leaseOwner,
      leaseUntil: request.leaseUntil,
      deregisterDone: previous?.deregisterDone ?? false,
      lastAttempt: { attemptId: request.attemptId, at: request.now, operation: request.operation, outcome: 'pending' },
    });
    return 'reserved';
  }

  async recordOutcome(update: OutcomeUpdate): Promise<void> {
    await this.#delay();
    const attempt = this.#history(update.phoneNumberId).find((entry) => entry.attemptId === update.attempt.attemptId);
    if (attempt) {
      Object.assign(attempt, {
        outcome: update.outcome,
        durationMs: update.durationMs,
        ...(update.httpStatus !== undefined ? { httpStatus: update.httpStatus } : {}),
        ...(update.code !== undefined ? { code: update.code } : {}),
        ...(update.fbtraceId !== undefined ? { fbtraceId: update.fbtraceId } : {}),
      });
    }
    if (update.outcome === 'success') this.#lastSuccess.set(update.phoneNumberId, { operation: update.attempt.operation, at: update.attempt.at });
    const job = this.#jobs.get(`${update.phoneNumberId}|${update.jobKey}`);
    if (!job || job.lastAttempt?.attemptId !== update.attempt.attemptId) return;
    job.version += 1;
    job.lastAttempt.outcome = update.outcome;
    if (update.deregisterDone) job.deregisterDone = true;
    if (update.completesJob) {
      job.status = 'completed';
      delete job.leaseOwner;
      delete job.leaseUntil;
    }
  }

  async finishJob(request: FinishRequest): Promise<'finished' | 'lost_lease'> {
    await this.#delay();
    const key = `${request.phoneNumberId}|${request.jobKey}`;
    const job = this.#jobs.get(key);
    if (job?.leaseOwner !== undefined && job.leaseOwner !== request.leaseOwner && (job.leaseUntil ?? 0) >= request.now) return 'lost_lease';
    this.#jobs.set(key, {
      jobKey: request.jobKey,
      version: (job?.version ?? 0) + 1,
      status: request.status,
      generation: request.generation,
      deregisterDone: job?.deregisterDone ?? request.deregisterDone ?? false,
      ...(job?.lastAttempt ? { lastAttempt: job.lastAttempt } : {}),
    });
    return 'finished';
  }

  async block(request: BlockRequest): Promise<void> {
    await this.#delay();
    for (const scope of request.scopes) {
      const key = `${request.phoneNumberId}|${scope}`;
      const current = this.#budgets.get(key) ?? { scope, attemptTimes: [], version: 0 };
      this.#budgets.set(key, { ...current, blockedUntil: request.until, version: current.version + 1 });
    }
  }

  async throttleApp(until: number): Promise<void> {
    await this.#delay();
    this.#throttledUntil = Math.max(this.#throttledUntil ?? 0, until);
  }

  async history(phoneNumberId: string): Promise<AttemptRecord[]> {
    await this.#delay();
    return structuredClone(this.#history(phoneNumberId));
  }

  async budgets(phoneNumberId: string): Promise<BudgetState[]> {
    await this.#delay();
    return [...this.#budgets.entries()].filter(([key]) => key.startsWith(`${phoneNumberId}|`)).map(([, budget]) => structuredClone(budget));
  }

  #history(phoneNumberId: string): AttemptRecord[] {
    const list = this.#attempts.get(phoneNumberId) ?? [];
    this.#attempts.set(phoneNumberId, list);
    return list;
  }

  #delay(): Promise<void> {
    return this.#delayMs > 0 ? new Promise((resolve) => setTimeout(resolve, this.#delayMs)) : Promise.resolve();
  }
}
