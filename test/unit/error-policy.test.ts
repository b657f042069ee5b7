import { describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS } from '../../shared/clock.ts';
import { interpret, interpretRead } from '../../shared/domain/interpret.ts';
import { settle } from '../../shared/domain/settle.ts';
import { GRAPH_CODE_TABLE, rowForCode } from '../../shared/graph/error-codes.ts';
import type { GraphCallResult } from '../../shared/graph/port.ts';
import { JOB_ACTIONS, JOB_REASONS } from '../../shared/jobs/job.v1.ts';
import type { AttemptRecord, LedgerSnapshot } from '../../shared/ledger/port.ts';
import { T0, jobOf, numberWith, policy, record } from '../support/decide-factories.ts';

const graphError = (code: number, extra: Partial<Extract<GraphCallResult, { kind: 'graph_error' }>> = {}): GraphCallResult => ({
  kind: 'graph_error',
  httpStatus: 400,
  error: { code, fbtraceId: 'AbC' },
  durationMs: 5,
  ...extra,
});
const ALL_CODES = [...GRAPH_CODE_TABLE.flatMap((row) => row.codes), 250, 987654];

describe('interpret: every code × operation', () => {
  const cases = ALL_CODES.flatMap((code) => (['register', 'deregister'] as const).map((operation) => ({ code, operation })));
  it.each(cases)('$code on $operation', ({ code, operation }) => {
    const answer = interpret(operation, graphError(code));
    if (code === 133010 && operation === 'deregister') return expect(answer).toEqual({ kind: 'took_effect', httpStatus: 400 });
    expect(answer).toMatchObject({ kind: 'failed', meaning: rowForCode(code).meaning, outcome: rowForCode(code).outcome, graphError: { code, httpStatus: 400 } });
  });

  it('reads codes 200-299 as permissions and unknown codes as permanent, never as retryable', () => {
    expect(rowForCode(250).meaning).toBe('permanent');
    expect(rowForCode(987654)).toMatchObject({ meaning: 'permanent', category: 'permanent_error' });
  });

  it('reads no answer as transient with an unknown outcome', () => {
    expect(interpret('register', { kind: 'no_answer', why: 'timeout', durationMs: 1 })).toMatchObject({ kind: 'failed', meaning: 'transient', outcome: 'unknown' });
  });

  it('reads a state read failure through the same table: 190 closes the token gate, 80008 throttles, no code is transient', () => {
    expect(interpretRead({ kind: 'unknown', why: 'x', code: 190 })).toMatchObject({ meaning: 'token_rejected' });
    expect(interpretRead({ kind: 'unknown', why: 'x', code: 80008, regainAfterSeconds: 1200 })).toMatchObject({ meaning: 'throttled', regainAfterSeconds: 1200 });
    expect(interpretRead({ kind: 'unknown', why: 'x' })).toMatchObject({ meaning: 'transient' });
    expect(interpretRead({ kind: 'known', state: { status: 'CONNECTED' } })).toEqual({ kind: 'state', state: { status: 'CONNECTED' } });
  });
});

describe('settle: every code × action × reason after a request', () => {
  const cases = ALL_CODES.flatMap((code) => JOB_ACTIONS.flatMap((action) => JOB_REASONS.map((reason) => ({ code, action, reason }))));
  it.each(cases)('$code answering the $action job ($reason)', ({ code, action, reason }) => {
    // Prepare: the job has just reserved its request.
    const job = jobOf({ action, reason, ...(action === 'set_localization' ? { dataLocalizationRegion: 'DE' } : {}) });
    const operation = action === 'deregister' ? 'deregister' : 'register';
    const attempt: AttemptRecord = { attemptId: 'a-1', phoneNumberId: job.phoneNumberId, operation, at: T0, reason: job.reason, jobKey: 'job-1', outcome: 'pending', pinVersion: 'pin-v1', tokenVersion: 'tok-v1' };
    const snapshot: LedgerSnapshot = {
      number: numberWith({ spent: [{ at: T0, operation }], reserved: [{ jobKey: 'job-1', operation: 'register', at: T0, until: T0 + HOUR_MS }] }),
      job: record(job, { uncertain: 1, leaseOwner: 'm#1', leaseUntil: T0 + MINUTE_MS, lastAttempt: { attemptId: 'a-1', at: T0, operation, outcome: 'pending' } }),
      app: { version: 4 },
    };
    const answer = interpret(operation, graphError(code, code === 80008 ? { regainAfterSeconds: 1800 } : {}));
    if (answer.kind === 'state') throw new Error('unreachable');
    // Act
    const { changes, next, evict } = settle({ job, jobKey: 'job-1', now: T0 + 1000, policy }, snapshot, attempt, answer);
    // Assess: the attempt carries the outcome and code, and the job's decision (if any) is in the same write.
    expect(changes.attempt).toMatchObject({ update: { attemptId: 'a-1' } });
    if (answer.kind === 'took_effect') {
      expect(next.kind).toBe('complete');
      expect(changes.number?.lastSuccess).toEqual({ operation, at: T0 });
      return;
    }
    expect(changes.attempt).toMatchObject({ update: { outcome: answer.outcome, code } });
    const meaning = answer.meaning;
    const expectedNext = { blocked: 'dead_letter', pin_rejected: 'dead_letter', pin_locked: 'dead_letter', needs_verification: 'dead_letter', token_rejected: 'dead_letter', incomplete_deregister: 'continue', not_registered: 'dead_letter', transient: 'retry', throttled: 'wait', permanent: 'dead_letter' }[meaning];
    expect(next.kind).toBe(expectedNext);
    if (next.kind === 'dead_letter') {
      expect(changes.job?.decision).toMatchObject({ category: answer.row.category, graphError: { code } });
      expect(changes.job?.leaseOwner).toBeUndefined();
      expect(changes.number?.reserved).toEqual([]);
    }
    if (meaning === 'blocked') expect(changes.number?.blockedUntil[operation]).toBe(T0 + 1000 + policy.budget.blockMs);
    if (meaning === 'pin_rejected' || meaning === 'pin_locked') {
      expect(changes.number?.hold).toMatchObject({ cause: meaning, pinVersion: 'pin-v1', code });
      expect(evict).toEqual({ pinOf: job.phoneNumberId });
    }
    if (meaning === 'pin_locked') expect(changes.number?.hold?.until).toBe(T0 + 1000 + policy.pinLockMs);
    if (meaning === 'needs_verification') expect(changes.number?.hold).toMatchObject({ cause: 'needs_verification' });
    if (meaning === 'token_rejected') {
      expect(changes.app).toMatchObject({ version: 5, tokenGate: { tokenVersion: 'tok-v1', code } });
      expect(evict).toEqual({ token: true });
    }
    if (meaning === 'throttled') expect(changes.app?.throttledUntil).toBe(T0 + 1000 + (code === 80008 ? 1800_000 : 900_000));
    if (meaning === 'incomplete_deregister') expect(changes.job?.progress).toMatchObject({ repairTried: true, repairPending: true });
    if (meaning === 'transient') expect(changes.job?.uncertain).toBe(1);
    else expect(changes.job?.uncertain).toBe(0);
  });

  it('repairs a 133000 once: a second 133000 after the repair dead-letters', () => {
    const job = jobOf();
    const attempt: AttemptRecord = { attemptId: 'a-2', phoneNumberId: job.phoneNumberId, operation: 'register', at: T0, reason: job.reason, jobKey: 'job-1', outcome: 'pending' };
    const snapshot: LedgerSnapshot = {
      number: numberWith(),
      job: record(job, { progress: { repairTried: true, deregisterDone: true }, uncertain: 1, lastAttempt: { attemptId: 'a-2', at: T0, operation: 'register', outcome: 'pending' } }),
      app: { version: 1 },
    };
    const answer = interpret('register', graphError(133000));
    if (answer.kind === 'state') throw new Error('unreachable');
    const { next, changes } = settle({ job, jobKey: 'job-1', now: T0, policy }, snapshot, attempt, answer);
    expect(next.kind).toBe('dead_letter');
    expect(changes.job?.decision?.reason).toMatch(/one repair/);
  });

  it('ends a transient streak at the transient budget, not at the delivery count', () => {
    const job = jobOf();
    const attempt: AttemptRecord = { attemptId: 'a-3', phoneNumberId: job.phoneNumberId, operation: 'register', at: T0, reason: job.reason, jobKey: 'job-1', outcome: 'pending' };
    const snapshot: LedgerSnapshot = { number: numberWith(), job: record(job, { uncertain: 3, lastAttempt: { attemptId: 'a-3', at: T0, operation: 'register', outcome: 'pending' } }), app: { version: 1 } };
    const { next, changes } = settle({ job, jobKey: 'job-1', now: T0, policy }, snapshot, attempt, interpret('register', { kind: 'no_answer', why: 'server_error', httpStatus: 502, durationMs: 3 }) as never);
    expect(next.kind).toBe('dead_letter');
    expect(changes.job?.decision?.category).toBe('retries_exhausted');
  });

  it("reads the state instead of giving up when a saga's deregister spent the transient budget: it may have taken effect", () => {
    const job = jobOf({ action: 'set_localization', dataLocalizationRegion: 'DE' });
    const attempt: AttemptRecord = { attemptId: 'a-5', phoneNumberId: job.phoneNumberId, operation: 'deregister', at: T0, reason: job.reason, jobKey: 'job-1', outcome: 'pending' };
    const snapshot: LedgerSnapshot = { number: numberWith(), job: record(job, { uncertain: 3, lastAttempt: { attemptId: 'a-5', at: T0, operation: 'deregister', outcome: 'pending' } }), app: { version: 1 } };
    const { next, changes } = settle({ job, jobKey: 'job-1', now: T0, policy }, snapshot, attempt, interpret('deregister', { kind: 'no_answer', why: 'timeout', durationMs: 3 }) as never);
    expect(next.kind).toBe('continue');
    expect(changes.job?.decision).toBeUndefined();
  });

  it('records the answer without touching a job another delivery took over', () => {
    const job = jobOf();
    const attempt: AttemptRecord = { attemptId: 'old', phoneNumberId: job.phoneNumberId, operation: 'register', at: T0, reason: job.reason, jobKey: 'job-1', outcome: 'pending' };
    const snapshot: LedgerSnapshot = { number: numberWith(), job: record(job, { lastAttempt: { attemptId: 'newer', at: T0 + 5, operation: 'register', outcome: 'pending' } }), app: { version: 1 } };
    const { changes } = settle({ job, jobKey: 'job-1', now: T0, policy }, snapshot, attempt, interpret('register', graphError(133005)) as never);
    expect(changes.job).toBeUndefined();
    expect(changes.number?.hold?.cause).toBe('pin_rejected');
  });

  it('never recreates an attempt item TTL may already have removed', () => {
    const job = jobOf();
    const at = T0 - 80 * HOUR_MS;
    const attempt: AttemptRecord = { attemptId: 'a-4', phoneNumberId: job.phoneNumberId, operation: 'register', at, reason: job.reason, jobKey: 'job-1', outcome: 'pending' };
    const snapshot: LedgerSnapshot = { number: numberWith(), job: record(job, { lastAttempt: { attemptId: 'a-4', at, operation: 'register', outcome: 'pending' } }), app: { version: 1 } };
    const { changes } = settle({ job, jobKey: 'job-1', now: T0, policy }, snapshot, attempt, { kind: 'took_effect' });
    expect(changes.attempt).toBeUndefined();
  });
});
