import type { Clock } from '../clock.ts';
import { policyForCode } from '../graph/error-codes.ts';
import type { GraphCallResult, GraphClient, GraphError, NumberState } from '../graph/port.ts';
import type { AttemptSummary, DeadLetterCategory, DeadLetterEnvelopeV1 } from '../jobs/dlq-envelope.v1.ts';
import { parseJob, type JobReason, type JobV1 } from '../jobs/job.v1.ts';
import type { AttemptLedger, AttemptOutcome, JobRecord, LedgerSnapshot } from '../ledger/port.ts';
import type { DeadLetterSink } from '../queue/port.ts';
import type { SecretStore } from '../secrets/port.ts';
import { appendAttempt, evaluateBudget, scopeFor, type BudgetPolicy, type BudgetScope, type BudgetVerdict, type LimitedOperation } from './budget.ts';
import { redactedRawBody } from './redaction.ts';

/** One SQS delivery of a job, as the worker sees it. */
export interface JobDelivery {
  body: string;
  messageId: string;
  /** SQS ApproximateReceiveCount: 1 on the first delivery. */
  receiveCount: number;
  /** 0 for jobs from producers; the CLI and scheduled redrive send generation + 1. */
  redriveGeneration: number;
}

export interface JobSettings {
  leaseMs: number;
  jobRecordMs: number;
  /** Deliveries after which a still-failing transient job is dead-lettered with its history. */
  maxDeliveries: number;
}

/** Everything `runJob` talks to. Domain code reaches the world only through these ports. */
export interface JobDeps {
  ledger: AttemptLedger;
  graph: GraphClient;
  secrets: SecretStore;
  deadLetters: DeadLetterSink;
  clock: Clock;
  budget: BudgetPolicy;
  settings: JobSettings;
  newId: () => string;
}

/** What happened to a job; one of these is logged per delivery. Never contains a PIN or token. */
export type JobOutcome = JobOutcomeCommon &
  (
    | { status: 'completed'; detail: string }
    | { status: 'duplicate'; detail: string }
    | { status: 'dead_lettered'; category: DeadLetterCategory; detail: string; envelope: DeadLetterEnvelopeV1 }
    | { status: 'retry'; retryAfterSeconds: number; detail: string }
  );

interface JobOutcomeCommon {
  jobKey: string;
  phoneNumberId?: string;
  action?: string;
  /** Graph requests this delivery sent (register/deregister), and state reads. */
  graphCalls: Array<{ operation: LimitedOperation | 'read_state'; outcome: string; code?: number; fbtraceId?: string; durationMs?: number }>;
  /** Attempts in the window after this delivery, for "attempt n of 10" in logs. */
  budgetUsed?: number;
  code?: number;
  fbtraceId?: string;
}

const CONFLICT_ROUNDS = 5;

/** Reasons that mean "register again even if registered": a name approval takes effect only by re-registering. */
export const REREGISTER_REASONS: ReadonlySet<JobReason> = new Set<JobReason>(['name_change', 'manual']);

/**
 * Runs one job delivery to its end: completed, duplicate, dead-lettered, or retry later.
 * Throws only on infrastructure failure (DynamoDB, SQS), which the caller treats as retry.
 * Every register/deregister is preceded by an atomic reservation on the ledger.
 */
export async function runJob(delivery: JobDelivery, deps: JobDeps): Promise<JobOutcome> {
  const parsed = parseJob(delivery.body);
  if (!parsed.ok) return deadLetterInvalid(delivery, parsed.error, deps);
  return new JobRun(parsed.job, delivery, deps).run();
}

async function deadLetterInvalid(delivery: JobDelivery, error: string, deps: JobDeps): Promise<JobOutcome> {
  const now = deps.clock.now();
  const raw = redactedRawBody(delivery.body);
  const envelope: DeadLetterEnvelopeV1 = {
    schemaVersion: 1,
    kind: 'wa-registrar.dead-letter',
    category: 'invalid_job',
    reason: `invalid job: ${error}`,
    hint: 'Fix the producer and send a corrected job; this message is kept only as evidence and is never redriven.',
    job: null,
    rawBody: raw.text,
    rawBodyBytes: raw.bytes,
    jobKey: delivery.messageId,
    attempts: [],
    receiveCount: delivery.receiveCount,
    sourceMessageId: delivery.messageId,
    deadLetteredAt: new Date(now).toISOString(),
    redriveGeneration: delivery.redriveGeneration,
  };
  await deps.deadLetters.send(envelope);
  return { status: 'dead_lettered', category: 'invalid_job', detail: envelope.reason, envelope, jobKey: delivery.messageId, graphCalls: [] };
}

/** Whether a state read shows the operation took effect. Unknown fields never count as "done". */
export function goalReached(operation: LimitedOperation, state: NumberState): boolean {
  const connected = state.status === 'CONNECTED' && (state.platformType === undefined || state.platformType === 'CLOUD_API');
  if (operation === 'register') return connected;
  // After a deregister Meta's status value is undocumented: anything but a connected Cloud API number counts.
  return state.status !== undefined && !connected;
}

/** Retry delay for a transient failure: 30 s doubling per delivery, at most 15 minutes. */
export function backoffSeconds(receiveCount: number): number {
  return Math.min(900, 30 * 2 ** Math.max(0, receiveCount - 1));
}

class JobRun {
  readonly #job: JobV1;
  readonly #delivery: JobDelivery;
  readonly #deps: JobDeps;
  readonly #jobKey: string;
  readonly #leaseOwner: string;
  readonly #graphCalls: JobOutcomeCommon['graphCalls'] = [];
  /** 133000: a register found an unfinished deregistration and must deregister first. */
  #repairing = false;
  #stateChecked = false;
  /** set_localization found the number not registered: no deregister is needed. */
  #notRegistered = false;
  #budgetUsed: number | undefined;
  #lastError: { error: GraphError; httpStatus: number } | undefined;

  constructor(job: JobV1, delivery: JobDelivery, deps: JobDeps) {
    this.#job = job;
    this.#delivery = delivery;
    this.#deps = deps;
    this.#jobKey = job.idempotencyKey ?? delivery.messageId;
    // The receive count tells a redelivery (whose earlier receive has ended) from a concurrent duplicate.
    this.#leaseOwner = `${delivery.messageId}#${delivery.receiveCount}`;
  }

  async run(): Promise<JobOutcome> {
    const scopes = this.#scopes();
    for (let round = 0; round < CONFLICT_ROUNDS; round++) {
      const snapshot = await this.#deps.ledger.read(this.#job.phoneNumberId, this.#jobKey, scopes);
      const outcome = await this.#step(snapshot);
      if (outcome !== 'reread') return outcome;
    }
    return this.#retry(5, 'the ledger kept changing under this job (another worker on the same number); retrying shortly');
  }

  /** Decides and performs the next step from a fresh ledger snapshot. 'reread' asks for a new snapshot. */
  async #step(snapshot: LedgerSnapshot): Promise<JobOutcome | 'reread'> {
    const now = this.#deps.clock.now();
    const record = snapshot.job;
    const generation = this.#delivery.redriveGeneration;

    if (record && record.generation >= generation && (record.status === 'completed' || record.status === 'dead_lettered')) {
      return this.#outcome({ status: 'duplicate', detail: `job already ${record.status.replace('_', '-')}; nothing sent` });
    }
    if (record && record.status === 'in_progress' && !this.#mayTakeOver(record, now)) {
      const waitSeconds = Math.max(30, Math.ceil(((record.leaseUntil ?? now) - now) / 1000));
      return this.#retry(waitSeconds, 'another delivery of this job is in progress; retrying after its lease');
    }

    // While Meta throttles the app, any request would be refused and still count: wait it out.
    if (snapshot.throttledUntil !== undefined && snapshot.throttledUntil > now) {
      return this.#retry((snapshot.throttledUntil - now) / 1000, `Meta throttles the app until ${iso(snapshot.throttledUntil)}; nothing sent until then`);
    }

    const operation = this.#nextOperation(record);

    // A request of this job whose outcome is unknown may have taken effect: read the state before spending again.
    // So may a request that repeats what already took effect for this number: confirm it instead of spending.
    const uncertain = record?.lastAttempt?.operation === operation && isUncertain(record.lastAttempt.outcome) ? record.lastAttempt : undefined;
    if (!this.#stateChecked && (uncertain || this.#mayBeRedundant(operation, snapshot))) {
      this.#stateChecked = true;
      const checked = await this.#confirmByState(operation, uncertain);
      if (checked !== 'not_done') return checked;
    }
    // A localization change deregisters only a number that can be registered again right after.
    if (!this.#stateChecked && this.#job.action === 'set_localization' && operation === 'deregister') {
      this.#stateChecked = true;
      const checked = await this.#checkBeforeLocalizationChange();
      if (checked !== 'proceed') return checked;
    }

    const verdict = this.#budgetVerdict(operation, snapshot, now);
    if (!verdict.allowed) return this.#deadLetterForBudget(operation, verdict);

    const token = await this.#deps.secrets.accessToken();
    if (token.kind !== 'found') {
      return this.#deadLetter('missing_secret', this.#secretProblem('access token', token), 'Store the Graph API token in the token secret (TOKEN_SECRET_ID), then redrive the job by id.');
    }
    let pin: string | undefined;
    if (operation === 'register') {
      const lookup = await this.#deps.secrets.pin(this.#job.phoneNumberId);
      if (lookup.kind !== 'found') {
        return this.#deadLetter(
          'missing_secret',
          this.#secretProblem(`PIN for ${this.#job.phoneNumberId}`, lookup),
          'Store the number\'s 6-digit two-step PIN as the secret PIN_SECRET_PREFIX + phoneNumberId (a string like "012345", or {"pin":"012345"}), then redrive the job by id.',
        );
      }
      pin = lookup.value;
    }

    const attemptId = this.#deps.newId();
    const spend = snapshot.budgets[scopeFor(operation, this.#deps.budget)]!;
    const reserved = await this.#deps.ledger.reserve({
      phoneNumberId: this.#job.phoneNumberId,
      operation,
      reason: this.#job.reason,
      jobKey: this.#jobKey,
      generation: this.#delivery.redriveGeneration,
      leaseOwner: this.#leaseOwner,
      leaseUntil: now + this.#deps.settings.leaseMs,
      now,
      attemptId,
      spend,
      alsoUnchanged: Object.values(snapshot.budgets).filter((budget) => budget.scope !== spend.scope),
      ...(record ? { expectedJob: record } : {}),
      newAttemptTimes: appendAttempt(spend, now, this.#deps.budget),
      attemptExpiresAt: now + this.#deps.budget.windowMs,
      budgetExpiresAt: Math.max(now + this.#deps.budget.windowMs, spend.blockedUntil ?? 0),
      jobExpiresAt: now + this.#deps.settings.jobRecordMs,
    });
    if (reserved === 'conflict') return 'reread';
    this.#budgetUsed = verdict.used + 1;

    const result =
      operation === 'register'
        ? await this.#deps.graph.register(
            {
              phoneNumberId: this.#job.phoneNumberId,
              pin: pin!,
              ...(this.#job.dataLocalizationRegion ? { dataLocalizationRegion: this.#job.dataLocalizationRegion } : {}),
            },
            token.value,
          )
        : await this.#deps.graph.deregister(this.#job.phoneNumberId, token.value);
    return this.#handleResult(operation, { attemptId, at: now }, result);
  }

  async #handleResult(operation: LimitedOperation, attempt: { attemptId: string; at: number }, result: GraphCallResult): Promise<JobOutcome | 'reread'> {
    const outcome = attemptOutcomeOf(result);
    const policy = result.kind === 'graph_error' ? policyForCode(result.error.code) : undefined;
    const done = result.kind === 'success' || (operation === 'deregister' && policy?.action === 'goal_reached_if_deregister');
    const continuesWithRegister = operation === 'deregister' && this.#needsRegisterAfterDeregister();
    const error = result.kind === 'graph_error' ? result.error : undefined;
    if (result.kind === 'graph_error') this.#lastError = { error: result.error, httpStatus: result.httpStatus };
    this.#graphCalls.push({
      operation,
      outcome: result.kind === 'no_answer' ? `no_answer:${result.why}` : result.kind,
      ...(error ? { code: error.code } : {}),
      ...(error?.fbtraceId ? { fbtraceId: error.fbtraceId } : {}),
      durationMs: result.durationMs,
    });
    await this.#deps.ledger.recordOutcome({
      phoneNumberId: this.#job.phoneNumberId,
      jobKey: this.#jobKey,
      attempt: { ...attempt, operation },
      outcome: done ? 'success' : outcome,
      ...('httpStatus' in result && result.httpStatus !== undefined ? { httpStatus: result.httpStatus } : {}),
      ...(error ? { code: error.code } : {}),
      ...(error?.subcode !== undefined ? { subcode: error.subcode } : {}),
      ...(error?.fbtraceId ? { fbtraceId: error.fbtraceId } : {}),
      durationMs: result.durationMs,
      ...(done && continuesWithRegister ? { deregisterDone: true } : {}),
      ...(done && !continuesWithRegister ? { completesJob: { expiresAt: this.#deps.clock.now() + this.#deps.settings.jobRecordMs } } : {}),
    });

    if (done && continuesWithRegister) {
      this.#repairing = false;
      return 'reread';
    }
    if (done) return this.#outcome({ status: 'completed', detail: `${operation} succeeded` });

    if (result.kind === 'no_answer') {
      return this.#retryTransient(backoffSeconds(this.#delivery.receiveCount), `no usable answer from Graph (${result.why}${result.httpStatus ? ` ${result.httpStatus}` : ''}); the retry reads the number's state first`);
    }
    const graphError = result.kind === 'graph_error' ? result : undefined;
    if (!graphError || !policy) throw new Error('unreachable: a Graph result that is neither success, error nor no answer');
    const now = this.#deps.clock.now();
    switch (policy.action) {
      case 'block': {
        const until = now + this.#deps.budget.blockMs;
        const scopes: BudgetScope[] = [scopeFor(operation, this.#deps.budget)];
        await this.#deps.ledger.block({ phoneNumberId: this.#job.phoneNumberId, scopes, until, now });
        return this.#deadLetter('rate_limited', `Meta refused the ${operation} with 133016 (attempt limit) and blocks it until ${iso(until)}`, policy.hint, {
          blockedUntil: until,
          eligibleAt: until,
        });
      }
      case 'retry': {
        const delay =
          policy.kind === 'throttled'
            ? Math.max(graphError.regainAfterSeconds ?? 0, policy.minDelaySeconds, backoffSeconds(this.#delivery.receiveCount))
            : Math.max(policy.minDelaySeconds, backoffSeconds(this.#delivery.receiveCount));
        // A throttle holds for the whole app: every other job waits too instead of spending attempts on refusals.
        if (policy.kind === 'throttled') await this.#deps.ledger.throttleApp(now + Math.max(graphError.regainAfterSeconds ?? 0, policy.minDelaySeconds) * 1000);
        return this.#retryTransient(delay, `Graph error ${graphError.error.code}: ${policy.hint}`);
      }
      case 'repair': {
        if (operation === 'register' && !this.#repairing) {
          this.#repairing = true;
          return 'reread';
        }
        return this.#retryTransient(backoffSeconds(this.#delivery.receiveCount), `Graph error 133000 during ${operation}: ${policy.hint}`);
      }
      case 'goal_reached_if_deregister':
        return this.#deadLetter('permanent_error', `Meta answered 133010 (not registered) to a register request`, 'Check the number in WhatsApp Manager; a person must look at it before any retry.');
      case 'dead_letter':
        return this.#deadLetter(policy.category, `Meta refused the ${operation} with error ${graphError.error.code}`, policy.hint, {
          ...(policy.parkSeconds ? { eligibleAt: now + policy.parkSeconds * 1000 } : {}),
        });
    }
  }

  /**
   * Before deregistering for a localization change: a number Meta does not know, or one whose verification
   * has lapsed (the register after would fail with 133006 and leave it offline), is dead-lettered with nothing
   * spent; a number not registered needs no deregister.
   */
  async #checkBeforeLocalizationChange(): Promise<JobOutcome | 'reread' | 'proceed'> {
    const token = await this.#deps.secrets.accessToken();
    if (token.kind !== 'found') {
      return this.#deadLetter('missing_secret', this.#secretProblem('access token', token), 'Store the Graph API token in the token secret (TOKEN_SECRET_ID), then redrive the job by id.');
    }
    const read = await this.#deps.graph.readState(this.#job.phoneNumberId, token.value);
    this.#graphCalls.push({ operation: 'read_state', outcome: read.kind, ...(read.kind === 'unknown' && read.code !== undefined ? { code: read.code } : {}) });
    if (read.kind === 'unknown' && read.code === 100) {
      return this.#deadLetter('permanent_error', `Meta does not know phone number id ${this.#job.phoneNumberId}, or the token cannot see it (error 100 on the state read); nothing was sent`, 'Check the phone number id and the token\'s WABA access, then send a corrected job.');
    }
    if (read.kind === 'unknown') {
      return this.#retryTransient(backoffSeconds(this.#delivery.receiveCount), `the state read before the localization change failed (${read.why}); nothing is sent until the state is known`);
    }
    const verification = read.state.codeVerificationStatus;
    if (verification !== undefined && verification !== 'VERIFIED') {
      return this.#deadLetter(
        'needs_verification',
        `the number's verification is ${verification}: deregistering now would leave it offline, because the register after it would fail (133006); nothing was sent`,
        'Verify the number again (request_code, then verify_code with the code the owner receives), then redrive the job by id.',
      );
    }
    if (!goalReached('register', read.state)) {
      this.#notRegistered = true;
      return 'reread';
    }
    return 'proceed';
  }

  /**
   * Whether this request would repeat the number's last successful operation (e.g. a second register job
   * for a number already registered). Re-registering is intended only after a name change or by hand.
   */
  #mayBeRedundant(operation: LimitedOperation, snapshot: LedgerSnapshot): boolean {
    if (snapshot.lastSuccess?.operation !== operation || this.#repairing) return false;
    if (operation === 'deregister') return this.#job.action === 'deregister';
    return this.#job.action === 'register' && !REREGISTER_REASONS.has(this.#job.reason);
  }

  /**
   * Reads the number's state before spending: after an uncertain request of this job, or when the request
   * looks redundant. Never treats a failed read as "not done".
   */
  async #confirmByState(operation: LimitedOperation, uncertain: JobRecord['lastAttempt']): Promise<JobOutcome | 'reread' | 'not_done'> {
    const token = await this.#deps.secrets.accessToken();
    if (token.kind !== 'found') {
      return this.#deadLetter('missing_secret', this.#secretProblem('access token', token), 'Store the Graph API token in the token secret (TOKEN_SECRET_ID), then redrive the job by id.');
    }
    const read = await this.#deps.graph.readState(this.#job.phoneNumberId, token.value);
    this.#graphCalls.push({ operation: 'read_state', outcome: read.kind, ...(read.kind === 'unknown' && read.code !== undefined ? { code: read.code } : {}) });
    if (read.kind === 'unknown') {
      const why = uncertain ? `an earlier ${operation} has an unknown outcome` : `the number may already be ${operation}ed`;
      return this.#retryTransient(backoffSeconds(this.#delivery.receiveCount), `${why} and the state read failed (${read.why}); nothing is sent until the state is known`);
    }
    if (!goalReached(operation, read.state)) return 'not_done';
    if (!uncertain) {
      await this.#finish('completed');
      return this.#outcome({ status: 'completed', detail: `number already ${operation}ed (state ${read.state.status}); nothing sent` });
    }
    await this.#deps.ledger.recordOutcome({
      phoneNumberId: this.#job.phoneNumberId,
      jobKey: this.#jobKey,
      attempt: { attemptId: uncertain.attemptId, at: uncertain.at, operation },
      outcome: 'success',
      durationMs: 0,
      ...(operation === 'deregister' && this.#needsRegisterAfterDeregister() ? { deregisterDone: true } : {}),
    });
    if (operation === 'deregister' && this.#needsRegisterAfterDeregister()) return 'reread';
    await this.#finish('completed');
    return this.#outcome({ status: 'completed', detail: `the earlier ${operation} took effect (state ${read.state.status}); no second request sent` });
  }

  #scopes(): BudgetScope[] {
    const operations: LimitedOperation[] = this.#job.action === 'deregister' ? ['deregister'] : this.#job.action === 'register' ? ['register'] : ['deregister', 'register'];
    // A register may need a repair (deregister + register), so it reads the deregister counter too.
    if (this.#job.action === 'register') operations.push('deregister');
    return [...new Set(operations.map((operation) => scopeFor(operation, this.#deps.budget)))];
  }

  #needsRegisterAfterDeregister(): boolean {
    return this.#job.action === 'set_localization' || this.#repairing;
  }

  #nextOperation(record: JobRecord | undefined): LimitedOperation {
    if (this.#job.action === 'deregister') return 'deregister';
    if (this.#job.action === 'set_localization') return record?.deregisterDone || this.#notRegistered ? 'register' : 'deregister';
    return this.#repairing ? 'deregister' : 'register';
  }

  /** A job held by another delivery can be taken over when its lease ran out or it is an earlier receive of this same message. */
  #mayTakeOver(record: JobRecord, now: number): boolean {
    if (record.leaseOwner === undefined || record.leaseOwner === this.#leaseOwner || (record.leaseUntil ?? 0) <= now) return true;
    if (record.generation < this.#delivery.redriveGeneration) return true;
    const [messageId, count] = record.leaseOwner.split('#');
    return messageId === this.#delivery.messageId && Number(count) < this.#delivery.receiveCount;
  }

  /** A deregister that must be followed by a register reserves room for both before it is sent. */
  #budgetVerdict(operation: LimitedOperation, snapshot: LedgerSnapshot, now: number): BudgetVerdict {
    const policy = this.#deps.budget;
    const own = snapshot.budgets[scopeFor(operation, policy)]!;
    const registerAfter = operation === 'deregister' && this.#needsRegisterAfterDeregister();
    if (!registerAfter) return evaluateBudget(own, now, policy);
    if (policy.shared) return evaluateBudget(own, now, policy, 2);
    const ownVerdict = evaluateBudget(own, now, policy);
    if (!ownVerdict.allowed) return ownVerdict;
    const registerVerdict = evaluateBudget(snapshot.budgets.register!, now, policy);
    return registerVerdict.allowed ? ownVerdict : registerVerdict;
  }

  async #deadLetterForBudget(operation: LimitedOperation, verdict: Exclude<BudgetVerdict, { allowed: true }>): Promise<JobOutcome> {
    const policy = this.#deps.budget;
    this.#budgetUsed = verdict.used;
    const windowHours = policy.windowMs / 3_600_000;
    const registerAfter = operation === 'deregister' && this.#needsRegisterAfterDeregister();
    const reason =
      verdict.why === 'blocked'
        ? `Meta blocked ${operation} for ${this.#job.phoneNumberId} until ${iso(verdict.until)} (133016); nothing was sent`
        : `the attempt budget for ${this.#job.phoneNumberId} is spent (${verdict.used} of ${policy.limit} in ${windowHours} h${registerAfter ? '; a deregister needs room for the register after it' : ''}); nothing was sent`;
    return this.#deadLetter(
      'rate_limited',
      reason,
      `The job becomes eligible for redrive at ${iso(verdict.until)}; the scheduled redrive sends it back then. Do not call Meta by hand meanwhile.`,
      { eligibleAt: verdict.until, ...(verdict.why === 'blocked' ? { blockedUntil: verdict.until } : {}) },
    );
  }

  #secretProblem(what: string, lookup: { kind: 'missing' } | { kind: 'malformed'; problem: string }): string {
    return lookup.kind === 'missing' ? `no ${what} is stored in Secrets Manager; nothing was sent` : `the ${what} secret is unusable: ${lookup.problem}; nothing was sent`;
  }

  #retryTransient(delaySeconds: number, detail: string): Promise<JobOutcome> | JobOutcome {
    if (this.#delivery.receiveCount >= this.#deps.settings.maxDeliveries) {
      return this.#deadLetter('retries_exhausted', `${detail} — still failing after ${this.#delivery.receiveCount} deliveries`, 'Look at the attempts and Graph errors below; fix the cause, then redrive the job by id. The ledger still guards the budget.');
    }
    return this.#retry(delaySeconds, detail);
  }

  #retry(retryAfterSeconds: number, detail: string): JobOutcome {
    return this.#outcome({ status: 'retry', retryAfterSeconds: Math.ceil(retryAfterSeconds), detail });
  }

  async #deadLetter(
    category: DeadLetterCategory,
    reason: string,
    hint: string,
    times: { blockedUntil?: number; eligibleAt?: number } = {},
  ): Promise<JobOutcome> {
    const now = this.#deps.clock.now();
    const history = await this.#deps.ledger.history(this.#job.phoneNumberId);
    const attempts: AttemptSummary[] = history
      .filter((attempt) => attempt.jobKey === this.#jobKey)
      .map((attempt) => ({
        at: iso(attempt.at),
        action: attempt.operation,
        outcome: attempt.outcome,
        ...(attempt.code !== undefined ? { code: attempt.code } : {}),
        ...(attempt.httpStatus !== undefined ? { httpStatus: attempt.httpStatus } : {}),
        ...(attempt.fbtraceId ? { fbtraceId: attempt.fbtraceId } : {}),
        ...(attempt.durationMs !== undefined ? { durationMs: attempt.durationMs } : {}),
      }));
    const policy = this.#deps.budget;
    const scope = scopeFor(this.#job.action === 'deregister' ? 'deregister' : 'register', policy);
    const used = history.filter((attempt) => attempt.scope === scope && attempt.at > now - policy.windowMs).length;
    const envelope: DeadLetterEnvelopeV1 = {
      schemaVersion: 1,
      kind: 'wa-registrar.dead-letter',
      category,
      reason,
      hint,
      job: this.#job,
      jobKey: this.#jobKey,
      phoneNumberId: this.#job.phoneNumberId,
      action: this.#job.action,
      ...(this.#lastError
        ? {
            graphError: {
              code: this.#lastError.error.code,
              ...(this.#lastError.error.subcode !== undefined ? { subcode: this.#lastError.error.subcode } : {}),
              ...(this.#lastError.error.message ? { message: this.#lastError.error.message } : {}),
              ...(this.#lastError.error.details ? { details: this.#lastError.error.details } : {}),
              ...(this.#lastError.error.fbtraceId ? { fbtraceId: this.#lastError.error.fbtraceId } : {}),
              httpStatus: this.#lastError.httpStatus,
            },
          }
        : {}),
      ...(times.blockedUntil !== undefined ? { blockedUntil: iso(times.blockedUntil) } : {}),
      ...(times.eligibleAt !== undefined ? { eligibleAt: iso(times.eligibleAt) } : {}),
      budget: { used, limit: policy.limit, windowHours: policy.windowMs / 3_600_000, scope },
      attempts,
      receiveCount: this.#delivery.receiveCount,
      sourceMessageId: this.#delivery.messageId,
      deadLetteredAt: iso(now),
      redriveGeneration: this.#delivery.redriveGeneration,
    };
    // Dead-letter first, then mark the job: a crash in between redelivers it, and the DLQ's deduplication drops the repeat.
    await this.#deps.deadLetters.send(envelope);
    await this.#finish('dead_lettered');
    return this.#outcome({ status: 'dead_lettered', category, detail: reason, envelope });
  }

  async #finish(status: 'completed' | 'dead_lettered'): Promise<void> {
    const now = this.#deps.clock.now();
    await this.#deps.ledger.finishJob({
      phoneNumberId: this.#job.phoneNumberId,
      jobKey: this.#jobKey,
      status,
      generation: this.#delivery.redriveGeneration,
      leaseOwner: this.#leaseOwner,
      now,
      expiresAt: now + this.#deps.settings.jobRecordMs,
    });
  }

  #outcome<T extends { status: string }>(specific: T): JobOutcome {
    const error = this.#lastError?.error;
    return {
      ...specific,
      jobKey: this.#jobKey,
      phoneNumberId: this.#job.phoneNumberId,
      action: this.#job.action,
      graphCalls: this.#graphCalls,
      ...(this.#budgetUsed !== undefined ? { budgetUsed: this.#budgetUsed } : {}),
      ...(error ? { code: error.code } : {}),
      ...(error?.fbtraceId ? { fbtraceId: error.fbtraceId } : {}),
    } as unknown as JobOutcome;
  }
}

function isUncertain(outcome: AttemptOutcome): boolean {
  return outcome === 'pending' || outcome === 'unknown';
}

/** How the ledger records a Graph result: only a definite error counts as not taken effect. */
function attemptOutcomeOf(result: GraphCallResult): AttemptOutcome {
  if (result.kind === 'success') return 'success';
  if (result.kind === 'no_answer') return 'unknown';
  const policy = policyForCode(result.error.code);
  return policy.action === 'retry' && policy.checkStateFirst ? 'unknown' : 'rejected';
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
