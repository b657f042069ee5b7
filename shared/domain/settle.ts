import type { AttemptRecord, JobDecision, JobRecord, LedgerChanges, LedgerSnapshot, NumberRecord } from '../ledger/port.ts';
import { decisionHold } from '../ledger/port.ts';
import type { LimitedOperation } from './budget.ts';
import type { Interpretation } from './interpret.ts';
import { changesOf, iso, type DecideInput } from './job-context.ts';
import { isSagaDeregister } from './decide.ts';
import { backoffSeconds } from './read-failures.ts';
import { finished, releaseReservation } from './steps.ts';
import { throttledApp } from './throttle.ts';
import { withTokenGate } from './token-gates.ts';

/** What the delivery does once a request's answer is written. */
type AfterRequest =
  | { kind: 'continue' }
  | { kind: 'complete'; detail: string }
  | { kind: 'retry'; delaySeconds: number; detail: string }
  | { kind: 'wait'; until: number; detail: string }
  /** The decision is stored on the job: the next round dead-letters it. */
  | { kind: 'dead_letter' };

export interface Settlement {
  changes: LedgerChanges;
  next: AfterRequest;
  /** Cached secrets Meta refused. */
  evict?: { token?: boolean | string; pinOf?: string };
}

/**
 * Writes a request's answer into the ledger items read after it: the attempt's outcome, the number's block, hold
 * or last success, the app's gates, and the job's progress or terminal decision, all in one write.
 */
export function settle(
  input: Pick<DecideInput, 'job' | 'jobKey' | 'now' | 'policy'>,
  snapshot: LedgerSnapshot,
  attempt: AttemptRecord,
  answer: Exclude<Interpretation, { kind: 'state' }>,
): Settlement {
  const { now, policy } = input;
  const operation = attempt.operation;
  const own = snapshot.job?.lastAttempt?.attemptId === attempt.attemptId ? snapshot.job : undefined;
  const succeeded = answer.kind === 'took_effect';
  const outcome = succeeded ? 'success' : answer.outcome;
  const recorded: AttemptRecord = {
    ...attempt,
    outcome,
    ...(answer.kind === 'failed' && answer.graphError?.code !== undefined ? { code: answer.graphError.code } : {}),
    ...(answer.httpStatus !== undefined ? { httpStatus: answer.httpStatus } : {}),
    ...(attempt.durationMs !== undefined ? { durationMs: attempt.durationMs } : {}),
    ...(answer.kind === 'failed' && answer.graphError?.subcode !== undefined ? { subcode: answer.graphError.subcode } : {}),
    ...(answer.kind === 'failed' && answer.graphError?.fbtraceId ? { fbtraceId: answer.graphError.fbtraceId } : {}),
  };
  // TTL may have removed an old request's item: never recreate it.
  const attemptWrite = attempt.at + policy.budget.windowMs > now ? { attempt: { update: recorded } } : {};
  let number: NumberRecord = succeeded ? { ...snapshot.number, lastSuccess: { operation, at: attempt.at } } : snapshot.number;
  let job: JobRecord | undefined = own && {
    ...own,
    uncertain: outcome === 'unknown' ? own.uncertain : Math.max(0, own.uncertain - 1),
    lastAttempt: { ...own.lastAttempt!, outcome, ...(recorded.code !== undefined ? { code: recorded.code } : {}) },
  };
  const write = (next: AfterRequest, extra: { app?: LedgerSnapshot['app']; evict?: Settlement['evict'] } = {}): Settlement => {
    const keepLease = next.kind === 'continue';
    const jobItem = job && (keepLease || next.kind === 'complete' || !job.leaseOwner ? job : dropLease(job));
    return {
      changes: changesOf(input, { number, ...(jobItem ? { job: jobItem } : {}), ...(extra.app ? { app: extra.app } : {}), ...attemptWrite }),
      next,
      ...(extra.evict ? { evict: extra.evict } : {}),
    };
  };
  const deadLetter = (decision: JobDecision, extra: Parameters<typeof write>[1] = {}): Settlement => {
    if (job) job = { ...job, decision: { ...decision, ...(answer.kind === 'failed' && answer.graphError ? { graphError: answer.graphError } : {}) } };
    return write({ kind: 'dead_letter' }, extra);
  };

  if (answer.kind === 'took_effect') {
    if (job && operation === 'deregister' && isSagaDeregister(input)) {
      // The number is offline by this job's hand: its register gets a transient budget of its own.
      job = { ...job, uncertain: 0, progress: { ...job.progress, deregisterDone: true, repairPending: false } };
      return write({ kind: 'continue' });
    }
    if (job) job = finished(job, 'completed');
    number = releaseReservation(number, input.jobKey);
    if (operation === 'register' && number.incompleteDeregister) {
      const { incompleteDeregister: _repaired, ...rest } = number;
      number = rest;
    }
    return write({ kind: 'complete', detail: `${operation} succeeded` });
  }

  const { row } = answer;
  const reason = `${answer.what}.`;
  const decision = (extra: Partial<JobDecision> = {}): JobDecision => ({ category: row.category ?? 'permanent_error', reason, hint: row.hint, ...extra });
  switch (answer.meaning) {
    case 'blocked': {
      const until = now + policy.budget.blockMs;
      number = { ...releaseReservation(number, input.jobKey), blockedUntil: { ...number.blockedUntil, [operation]: until } };
      return deadLetter(decision({ eligibleAt: until, blockedUntil: until, reason: `${reason} Blocked until ${iso(until)}.` }));
    }
    case 'pin_rejected':
    case 'pin_locked':
    case 'needs_verification': {
      const lockMs = answer.meaning === 'pin_locked' ? (answer.lockSeconds !== undefined ? answer.lockSeconds * 1000 : policy.pinLockMs) : undefined;
      const hold = {
        cause: answer.meaning,
        since: now,
        ...(answer.graphError?.code !== undefined ? { code: answer.graphError.code } : {}),
        ...(attempt.pinVersion && answer.meaning !== 'needs_verification' ? { pinVersion: attempt.pinVersion } : {}),
        ...(lockMs !== undefined ? { until: now + lockMs } : {}),
        detail: `error ${answer.graphError?.code} on a register`,
      };
      number = { ...releaseReservation(number, input.jobKey), hold };
      const evict = answer.meaning === 'needs_verification' ? undefined : { pinOf: attempt.phoneNumberId };
      return deadLetter(decision({ hold: decisionHold(hold), ...(hold.until ? { eligibleAt: hold.until } : {}) }), evict ? { evict } : {});
    }
    case 'token_rejected': {
      const code = answer.graphError?.code ?? 190;
      const scope = attempt.tokenScope;
      const gate = { tokenVersion: attempt.tokenVersion ?? 'unknown', since: now, code };
      number = releaseReservation(number, input.jobKey);
      const hold = { cause: 'token_rejected' as const, since: now, code, ...(attempt.tokenVersion ? { secretVersion: attempt.tokenVersion } : {}), ...(scope ? { businessAccountId: scope } : {}) };
      return deadLetter(decision({ hold }), { app: withTokenGate(snapshot.app, scope, gate), evict: { token: scope ?? true } });
    }
    case 'incomplete_deregister': {
      number = { ...number, incompleteDeregister: number.incompleteDeregister ?? { since: now } };
      if (job && !job.progress.repairTried) {
        job = { ...job, progress: { ...job.progress, repairTried: true, repairPending: true, deregisterDone: false } };
        return write({ kind: 'continue' });
      }
      // The repair did not cure it: hold the number, so no later job spends three requests to learn the same.
      const hold = { cause: 'deregister_stuck' as const, since: now, code: 133000, detail: '133000 after a repair' };
      number = { ...releaseReservation(number, input.jobKey), hold };
      return deadLetter(decision({ hold: decisionHold(hold), reason: `${reason} It came back after the one repair this job may make (deregister, then ${input.job.action}); the number is held.` }));
    }
    case 'throttled': {
      const until = now + Math.max(answer.regainAfterSeconds ?? 0, row.minDelaySeconds ?? 900) * 1000;
      // A throttle the header does not place is the token's: a business's own token, or the whole app's.
      const businesses = answer.throttledBusinesses ?? (attempt.tokenScope ? [attempt.tokenScope] : undefined);
      const app = throttledApp(snapshot.app, until, businesses, now);
      const who = businesses && businesses.length > 0 ? `Jobs of business ${businesses.join(', ')} (and of numbers whose business is not known)` : 'Every job';
      return write({ kind: 'wait', until, detail: `${reason} ${who} waits until ${iso(until)}.` }, { app });
    }
    case 'transient': {
      const spent = job?.uncertain ?? 0;
      // A saga's deregister may have taken effect: the next round reads the state before anything is decided.
      if (spent >= policy.transientAttempts && operation === 'deregister' && isSagaDeregister(input)) return write({ kind: 'continue' });
      if (spent >= policy.transientAttempts) {
        number = releaseReservation(number, input.jobKey);
        return deadLetter({ ...decision(), category: 'retries_exhausted', reason: `${reason} ${spent} request(s) with an unknown or transient outcome: the job's transient budget is spent.` });
      }
      const delaySeconds = Math.max(row.minDelaySeconds ?? 30, backoffSeconds(spent));
      return write({ kind: 'retry', delaySeconds, detail: `${reason} ${row.hint}` });
    }
    case 'not_registered':
    case 'permanent':
      number = releaseReservation(number, input.jobKey);
      return deadLetter(decision());
  }
}

function dropLease(job: JobRecord): JobRecord {
  const { leaseOwner: _owner, leaseUntil: _until, ...rest } = job;
  return rest;
}

