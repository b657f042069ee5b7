import type { Clock } from '../clock.ts';
import type { GraphCallResult, GraphClient } from '../graph/port.ts';
import { parseJob, type JobV1 } from '../jobs/job.v1.ts';
import type { AttemptLedger, AttemptRecord, LedgerChanges, LedgerSnapshot } from '../ledger/port.ts';
import type { DeadLetterSink } from '../queue/port.ts';
import type { NumberSecrets, SecretLookup, SecretStore } from '../secrets/port.ts';
import { backupOf } from '../secrets/secret-values.ts';
import { numberItemExpiry } from './budget.ts';
import { decide, type Step } from './decide.ts';
import { buildEnvelope, buildInvalidJobEnvelope } from './envelope.ts';
import { interpret, interpretRead, type ReadInterpretation } from './interpret.ts';
import { jobHashOf, type DecideInput, type JobPolicy } from './job-context.ts';
import { UnrecordedAnswerError, type GraphCallSummary, type JobDelivery, type JobOutcome, type UnrecordedAnswer } from './outcome.ts';
import { settle } from './settle.ts';
import { finished, releaseReservation } from './steps.ts';

export { UnrecordedAnswerError, type JobDelivery, type JobOutcome, type UnrecordedAnswer } from './outcome.ts';

/** Everything `runJob` talks to. Domain code reaches the world only through these ports. */
export interface JobDeps {
  ledger: AttemptLedger;
  graph: GraphClient;
  secrets: SecretStore;
  /** A migration's backup and PINs the worker provisions; without it, such jobs are dead-lettered as missing secrets. */
  numberSecrets?: NumberSecrets;
  /** A new random PIN (provision-if-missing). */
  generatePin?: () => string;
  deadLetters: DeadLetterSink;
  clock: Clock;
  policy: JobPolicy;
  /** The longest one Graph call with its ledger writes can take: no call starts with less time left. */
  worstCaseRequestMs: number;
  newId: () => string;
}

/** Rounds of read → decide → act in one delivery; each round either writes or calls Graph, so few are needed. */
const MAX_ROUNDS = 16;
/** Tries of one ledger call that throws (not a conflict); a write keeps its request token, so a retry is idempotent. */
const LEDGER_TRIES = 4;

/**
 * Runs one job delivery: read the ledger, decide, act, and read again, until the job completes, dead-letters,
 * waits or must retry. Throws only when infrastructure fails (DynamoDB, SQS, Secrets Manager) outside a request.
 */
export async function runJob(delivery: JobDelivery, deps: JobDeps, timeLeftMs: () => number = () => Number.POSITIVE_INFINITY): Promise<JobOutcome> {
  const parsed = parseJob(delivery.body);
  if (!parsed.ok) return deadLetterInvalid(delivery, parsed.error, deps);
  return new JobRun(parsed.job, delivery, deps, timeLeftMs).run();
}

async function deadLetterInvalid(delivery: JobDelivery, error: string, deps: JobDeps): Promise<JobOutcome> {
  const envelope = buildInvalidJobEnvelope(delivery, error, deps.clock.now());
  await deps.deadLetters.send(envelope);
  return { status: 'dead_lettered', category: 'invalid_job', detail: envelope.reason, envelope, jobKey: delivery.messageId, graphCalls: [] };
}

class JobRun {
  readonly #job: JobV1;
  readonly #delivery: JobDelivery;
  readonly #deps: JobDeps;
  readonly #jobKey: string;
  readonly #jobHash: string;
  readonly #graphCalls: GraphCallSummary[] = [];
  #token: SecretLookup | undefined;
  /** The business whose token is asked for: the job's, else the one the ledger learned for the number. */
  #business: string | undefined;
  #pin: SecretLookup | undefined;
  #backup: SecretLookup | undefined;
  /** This delivery stored the PIN it is about to register with. */
  #provisioned = false;
  #read: ReadInterpretation | undefined;
  #known: LedgerSnapshot | undefined;
  readonly #timeLeftMs: () => number;

  constructor(job: JobV1, delivery: JobDelivery, deps: JobDeps, timeLeftMs: () => number) {
    this.#timeLeftMs = timeLeftMs;
    this.#job = job;
    this.#delivery = delivery;
    this.#deps = deps;
    this.#jobKey = job.idempotencyKey ?? delivery.messageId;
    this.#jobHash = jobHashOf(job);
  }

  async run(): Promise<JobOutcome> {
    const { secrets } = this.#deps;
    this.#business = this.#job.businessAccountId;
    this.#token = await secrets.accessToken(this.#tokenOptions());
    if (this.#job.action !== 'deregister') this.#pin = await secrets.pin(this.#job.phoneNumberId);
    if (this.#job.action === 'migrate') this.#backup = await this.#readBackup();
    if (this.#delivery.answer) {
      const outcome = await this.#recordCarried(this.#delivery.answer);
      if (outcome) return outcome;
    }
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const snapshot = await this.#readLedger();
      // The ledger knows the number's business though the job did not say: its own token, if it has one.
      if (this.#business === undefined && snapshot.number.businessAccountId !== undefined) {
        this.#business = snapshot.number.businessAccountId;
        this.#token = await this.#deps.secrets.accessToken(this.#tokenOptions());
      }
      const input = this.#input(snapshot);
      const step = decide(input, this.#deps.newId());
      const outcome = await this.#act(step, input);
      if (outcome) return outcome;
    }
    return this.#outcome({ status: 'wait', until: this.#deps.clock.now() + 5_000, detail: 'the ledger kept changing under this job; trying again shortly' });
  }

  #input(snapshot: LedgerSnapshot): DecideInput {
    return {
      job: this.#job,
      jobKey: this.#jobKey,
      jobHash: this.#jobHash,
      delivery: this.#delivery,
      snapshot,
      secrets: {
        token: this.#token!,
        ...(this.#pin ? { pin: this.#pin } : {}),
        ...(this.#backup ? { backup: this.#backup } : {}),
        ...(this.#provisioned ? { provisioned: true as const } : {}),
      },
      ...(this.#read ? { read: this.#read } : {}),
      // Taken right before the decision, so a reservation's time is never earlier than needed.
      now: this.#deps.clock.now(),
      policy: this.#deps.policy,
    };
  }

  /** Performs one step; returns the delivery's outcome when the delivery ends. */
  async #act(step: Step, input: DecideInput): Promise<JobOutcome | undefined> {
    const { deps } = { deps: this.#deps };
    switch (step.kind) {
      case 'duplicate':
        return this.#outcome({ status: 'duplicate', detail: step.detail });
      case 'retry':
        return this.#outcome({ status: 'retry', retryAfterSeconds: Math.ceil(step.delaySeconds), detail: step.detail });
      case 'wait':
        if (step.changes) await this.#commit(step.changes).catch(() => 'conflict');
        return this.#outcome({ status: 'wait', until: step.until, detail: step.detail });
      case 'refresh_secrets':
        if (step.token) this.#token = await deps.secrets.accessToken(this.#tokenOptions({ fresh: true }));
        if (step.pin) this.#pin = await deps.secrets.pin(this.#job.phoneNumberId, { fresh: true });
        return undefined;
      case 'provision_pin':
        return this.#provisionPin();
      case 'read_state': {
        if (this.#timeLeftMs() < deps.worstCaseRequestMs) return this.#carryOn();
        const token = this.#token as Extract<SecretLookup, { kind: 'found' }>;
        const result = await deps.graph.readState(this.#job.phoneNumberId, token.value);
        this.#read = interpretRead(result);
        this.#graphCalls.push({
          operation: 'read_state',
          outcome: result.kind,
          ...(result.kind === 'unknown' && result.code !== undefined ? { code: result.code } : {}),
        });
        return undefined;
      }
      case 'write': {
        if ((await this.#commit(step.changes)) === 'conflict') return undefined;
        return step.then === 'complete' ? this.#outcome({ status: 'completed', detail: step.detail }) : undefined;
      }
      case 'dead_letter':
        return this.#deadLetter(step, input);
      case 'send':
        return this.#send(step);
    }
  }

  async #send(step: Extract<Step, { kind: 'send' }>): Promise<JobOutcome | undefined> {
    const deps = this.#deps;
    if (this.#timeLeftMs() < deps.worstCaseRequestMs) return this.#carryOn();
    if ((await this.#commit(step.changes)) === 'conflict') return undefined;
    const attempt = (step.changes.attempt as { create: AttemptRecord }).create;
    const token = (this.#token as Extract<SecretLookup, { kind: 'found' }>).value;
    const result =
      step.operation === 'register'
        ? await deps.graph.register(
            {
              phoneNumberId: this.#job.phoneNumberId,
              pin: (this.#pin as Extract<SecretLookup, { kind: 'found' }>).value,
              ...(this.#job.dataLocalizationRegion ? { dataLocalizationRegion: this.#job.dataLocalizationRegion } : {}),
              ...(this.#job.action === 'migrate' && this.#backup?.kind === 'found' ? { backup: backupOf(this.#backup.value) } : {}),
            },
            token,
          )
        : await deps.graph.deregister(this.#job.phoneNumberId, token);
    // The state may have changed: any later decision needs a new read.
    this.#read = undefined;
    const error = result.kind === 'graph_error' ? result.error : undefined;
    this.#graphCalls.push({
      operation: step.operation,
      outcome: result.kind === 'no_answer' ? `no_answer:${result.why}` : result.kind,
      ...(error ? { code: error.code } : {}),
      ...(error?.fbtraceId ? { fbtraceId: error.fbtraceId } : {}),
      durationMs: result.durationMs,
    });
    const timed = { ...attempt, durationMs: result.durationMs };
    try {
      return await this.#record(timed, result);
    } catch (error) {
      // Meta answered but the ledger would not take it: the batch layer carries the answer on the message.
      throw new UnrecordedAnswerError({ attempt: timed, result }, error);
    }
  }

  #tokenOptions(extra: { fresh?: boolean } = {}) {
    return { ...extra, ...(this.#business !== undefined ? { businessAccountId: this.#business } : {}) };
  }

  async #readBackup(): Promise<SecretLookup> {
    const numberSecrets = this.#deps.numberSecrets;
    if (!numberSecrets) return { kind: 'malformed', problem: 'this worker has no access to backup secrets' };
    return numberSecrets.backup(this.#job.phoneNumberId);
  }

  /**
   * Stores a new PIN as the number's PIN secret (only if it still has none) and goes on with it. Should another
   * delivery have stored one meanwhile, that one is read and used instead: one number, one PIN.
   */
  async #provisionPin(): Promise<undefined> {
    const { numberSecrets, generatePin, secrets } = this.#deps;
    if (!numberSecrets || !generatePin) throw new Error('provision_pin decided without PIN provisioning wired in');
    const created = await numberSecrets.createPin(this.#job.phoneNumberId, generatePin());
    if (created.kind === 'exists') {
      this.#pin = await secrets.pin(this.#job.phoneNumberId, { fresh: true });
      return undefined;
    }
    this.#pin = created;
    this.#provisioned = created.kind === 'found';
    return undefined;
  }

  /** Writes a request's answer to the ledger (re-read and re-applied on conflict) and says how the delivery goes on. */
  async #record(attempt: AttemptRecord, result: GraphCallResult): Promise<JobOutcome | undefined> {
    const deps = this.#deps;
    const answer = interpret(attempt.operation, result) as Exclude<ReturnType<typeof interpret>, { kind: 'state' }>;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const snapshot = await this.#readLedger();
      const settled = settle({ job: this.#job, jobKey: this.#jobKey, now: deps.clock.now(), policy: deps.policy }, snapshot, attempt, answer);
      if ((await this.#commit(settled.changes)) === 'conflict') continue;
      // Only after the answer is on the ledger: a cache that fails to forget must not keep the answer from it (the hold
      // names the refused version anyway, so a stale cached value is read again).
      if (settled.evict) {
        try {
          deps.secrets.evict(settled.evict);
        } catch {
          // The hold makes the worker read the secret again.
        }
      }
      const next = settled.next;
      if (next.kind === 'continue' || next.kind === 'dead_letter') return undefined;
      if (next.kind === 'complete') return this.#outcome({ status: 'completed', detail: next.detail });
      if (next.kind === 'retry') return this.#outcome({ status: 'retry', retryAfterSeconds: Math.ceil(next.delaySeconds), detail: next.detail });
      return this.#outcome({ status: 'wait', until: next.until, detail: next.detail });
    }
    throw new Error('the ledger kept changing while recording a Graph answer');
  }

  /** A carried answer (see UnrecordedAnswerError) is written before anything else is decided. */
  async #recordCarried(carried: UnrecordedAnswer): Promise<JobOutcome | undefined> {
    const snapshot = await this.#readLedger();
    const last = snapshot.job?.lastAttempt;
    if (last?.attemptId !== carried.attempt.attemptId || last.outcome !== 'pending') return undefined;
    return this.#record(carried.attempt, carried.result);
  }

  /** Stores the decision (unless stored), sends the envelope, then marks the job dead-lettered. */
  async #deadLetter(step: Extract<Step, { kind: 'dead_letter' }>, input: DecideInput): Promise<JobOutcome | undefined> {
    const deps = this.#deps;
    if (step.changes && (await this.#commit(step.changes)) === 'conflict') return undefined;
    const history = await this.#withRetries(() => deps.ledger.history(this.#job.phoneNumberId));
    const envelope = buildEnvelope({
      job: this.#job,
      jobKey: this.#jobKey,
      decision: step.decision,
      delivery: this.#delivery,
      history,
      number: input.snapshot.number,
      budget: deps.policy.budget,
      now: deps.clock.now(),
    });
    await deps.deadLetters.send(envelope);
    if (step.finish) await this.#finishDeadLettered();
    return this.#outcome({ status: 'dead_lettered', category: step.decision.category, envelope, detail: step.decision.reason });
  }

  async #finishDeadLettered(): Promise<void> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const snapshot = await this.#readLedger();
      const job = snapshot.job;
      if (!job || job.generation !== this.#delivery.redriveGeneration || job.status !== 'in_progress') return;
      const released = snapshot.number.reserved.some((slot) => slot.jobKey === this.#jobKey) ? releaseReservation(snapshot.number, this.#jobKey) : undefined;
      const changes: LedgerChanges = {
        phoneNumberId: this.#job.phoneNumberId,
        job: { ...finished(job, 'dead_lettered'), version: job.version + 1 },
        ...(released ? { number: { ...released, version: released.version + 1 } } : {}),
        expiresAt: this.#expiry(released),
      };
      if ((await this.#commit(changes)) === 'committed') return;
    }
  }

  #expiry(number: LedgerSnapshot['number'] | undefined): LedgerChanges['expiresAt'] {
    const now = this.#deps.clock.now();
    const { budget, jobRecordMs } = this.#deps.policy;
    const window = now + budget.windowMs + budget.marginMs;
    return { number: number ? numberItemExpiry(number, now, budget) : window, job: now + jobRecordMs, attempt: window };
  }

  /** Hands the job back to continue in a new delivery: this invocation could time out mid-request. */
  #carryOn(): JobOutcome {
    return this.#outcome({ status: 'wait', until: this.#deps.clock.now(), detail: 'too little time left in this invocation for another request; continuing in the next delivery' });
  }

  /**
   * The ledger as this delivery last saw it: read once, then kept up to date from its own commits. Every write is
   * conditional on the versions it was decided from, so a stale view only costs a conflict, a fresh read and a
   * second decision; it saves a read before each write. Reads are retried like writes: a state read's answer
   * (a 190, a throttle) must reach the ledger, not be asked for again.
   */
  async #readLedger(): Promise<LedgerSnapshot> {
    this.#known ??= await this.#withRetries(() => this.#deps.ledger.read(this.#job.phoneNumberId, this.#jobKey));
    return this.#known;
  }

  async #commit(changes: LedgerChanges): Promise<'committed' | 'conflict'> {
    const token = this.#deps.newId();
    const known = this.#known;
    this.#known = undefined;
    const result = await this.#withRetries(() => this.#deps.ledger.commit(changes, token));
    if (result === 'committed' && known) {
      this.#known = { number: changes.number ?? known.number, app: changes.app ?? known.app, ...(changes.job ? { job: changes.job } : known.job ? { job: known.job } : {}) };
    }
    return result;
  }

  async #withRetries<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (attempt >= LEDGER_TRIES) throw error;
        await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
      }
    }
  }

  #outcome(specific: Pick<JobOutcome, 'detail'> & Record<string, unknown>): JobOutcome {
    return {
      ...specific,
      jobKey: this.#jobKey,
      phoneNumberId: this.#job.phoneNumberId,
      ...(this.#business !== undefined ? { businessAccountId: this.#business } : {}),
      action: this.#job.action,
      graphCalls: this.#graphCalls,
    } as JobOutcome;
  }
}
