import { describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS } from '../../shared/clock.ts';
import { decide, type Step } from '../../shared/domain/decide.ts';
import { JOB_ACTIONS, JOB_REASONS, type JobV1Input } from '../../shared/jobs/job.v1.ts';
import { CACHED_PIN, CACHED_TOKEN, CONNECTED, NUMBER, PIN, T0, TOKEN, found, inputOf, jobOf, numberWith, policy, record, spentHourly, state } from '../support/decide-factories.ts';

const kindOf = (step: Step) => (step.kind === 'dead_letter' ? `dead_letter:${step.decision.category}` : step.kind === 'send' ? `send:${step.operation}` : step.kind);

describe('decide: every action × reason on a fresh delivery', () => {
  // Before any request a job reads the number's state (a GET, which costs no attempt).
  const cases = JOB_ACTIONS.flatMap((action) => JOB_REASONS.map((reason) => ({ action, reason })));
  it.each(cases)('$action / $reason: no read yet → the first step', ({ action, reason }) => {
    // Prepare
    const job = jobOf({ action, reason });
    // Act
    const step = decide(inputOf(job), 'a-1');
    // Assess
    expect(kindOf(step)).toBe('read_state');
  });

  it.each(cases)('$action / $reason: number already CONNECTED on Cloud API → the step after the read', ({ action, reason }) => {
    const job = jobOf({ action, reason });
    const step = decide(inputOf(job, { read: CONNECTED }), 'a-1');
    // A migrate finds the number already on Cloud API: nothing to restore, done.
    const expected =
      action === 'deregister' ? 'send:deregister' : action === 'set_localization' ? 'send:deregister' : action === 'migrate' ? 'write' : ['name_change', 'manual'].includes(reason) ? 'send:register' : 'write';
    expect(kindOf(step)).toBe(expected);
    if (expected === 'write') expect(step).toMatchObject({ then: 'complete' });
  });

  it.each(cases)('$action / $reason: number not registered → the step after the read', ({ action, reason }) => {
    const job = jobOf({ action, reason });
    const step = decide(inputOf(job, { read: state() }), 'a-1');
    // A migrate of a number that is not on the On-Premises API has nothing to restore.
    const expected = action === 'register' ? 'send:register' : action === 'migrate' ? 'dead_letter:permanent_error' : 'write';
    expect(kindOf(step)).toBe(expected);
    if (action === 'set_localization') expect((step as Extract<Step, { kind: 'write' }>).changes.job?.progress).toEqual({ noDeregisterNeeded: true });
    if (action === 'migrate') expect(decide(inputOf(job, { read: state({ platformType: 'ON_PREMISE' }) }), 'a-1')).toMatchObject({ kind: 'send', operation: 'register' });
    // A deregister of a number that is not registered completes with no request.
    if (action === 'deregister') expect(step).toMatchObject({ then: 'complete' });
  });
});

describe('decide: what a job meets before it may send', () => {
  const register = jobOf();
  const rows: Array<{ name: string; job?: Partial<JobV1Input>; input: Parameters<typeof inputOf>[1]; expect: string }> = [
    { name: 'a completed record', input: { snapshot: { job: record(register, { status: 'completed' }) } }, expect: 'duplicate' },
    { name: 'a newer generation owns the job', input: { snapshot: { job: record(register, { generation: 2 }) }, delivery: { messageId: 'm', receiveCount: 1, redriveGeneration: 1 } }, expect: 'duplicate' },
    { name: 'the same key with other content', input: { snapshot: { job: record(register, { jobHash: 'other' }) } }, expect: 'dead_letter:invalid_job' },
    { name: 'a stored terminal decision', input: { snapshot: { job: record(register, { decision: { category: 'pin_rejected', reason: 'r', hint: 'h' } }) } }, expect: 'dead_letter:pin_rejected' },
    { name: 'a live lease of another delivery', input: { snapshot: { job: record(register, { leaseOwner: 'other#1', leaseUntil: T0 + MINUTE_MS }) } }, expect: 'wait' },
    { name: 'an expired lease of another delivery', input: { read: state(), snapshot: { job: record(register, { leaseOwner: 'other#1', leaseUntil: T0 - 1 }) } }, expect: 'send:register' },
    { name: 'an app throttle', input: { snapshot: { app: { version: 1, throttledUntil: T0 + 20 * MINUTE_MS } } }, expect: 'wait' },
    { name: 'an app throttle longer than a queue wait', input: { snapshot: { app: { version: 1, throttledUntil: T0 + 13 * HOUR_MS } } }, expect: 'dead_letter:rate_limited' },
    { name: 'no token', input: { secrets: { token: { kind: 'missing' }, pin: PIN } }, expect: 'dead_letter:missing_secret' },
    { name: 'no PIN (checked before any deregister)', job: { action: 'set_localization' }, input: { secrets: { token: TOKEN, pin: { kind: 'missing' } } }, expect: 'dead_letter:missing_secret' },
    { name: 'a token gate on the cached token version', input: { secrets: { token: CACHED_TOKEN, pin: PIN }, snapshot: { app: { version: 1, tokenGate: { tokenVersion: 'tok-v1', since: T0 - 1, code: 190 } } } }, expect: 'refresh_secrets' },
    { name: 'a token gate on the freshly read version', input: { secrets: { token: found('t', 'tok-v1', true), pin: PIN }, snapshot: { app: { version: 1, tokenGate: { tokenVersion: 'tok-v1', since: T0 - 1, code: 190 } } } }, expect: 'dead_letter:token_rejected' },
    { name: 'a token gate on an older version (lifted)', input: { read: state(), snapshot: { app: { version: 1, tokenGate: { tokenVersion: 'tok-v0', since: T0 - 1, code: 190 } } } }, expect: 'send:register' },
    { name: 'a PIN hold on the cached PIN version', input: { secrets: { token: TOKEN, pin: CACHED_PIN }, snapshot: { number: numberWith({ hold: { cause: 'pin_rejected', since: T0 - 1, pinVersion: 'pin-v1', detail: 'd' } }) } }, expect: 'refresh_secrets' },
    { name: 'a PIN hold on the freshly read version', input: { secrets: { token: TOKEN, pin: found('012345', 'pin-v1', true) }, snapshot: { number: numberWith({ hold: { cause: 'pin_rejected', since: T0 - 1, pinVersion: 'pin-v1', detail: 'd' } }) } }, expect: 'dead_letter:pin_rejected' },
    { name: 'a PIN hold on an older version (lifted)', input: { read: state(), snapshot: { number: numberWith({ hold: { cause: 'pin_rejected', since: T0 - 1, pinVersion: 'pin-v0', detail: 'd' } }) } }, expect: 'send:register' },
    { name: 'a PIN lock still running, even with a new PIN', input: { snapshot: { number: numberWith({ hold: { cause: 'pin_locked', since: T0 - 1, until: T0 + HOUR_MS, pinVersion: 'pin-v0', detail: 'd' } }) } }, expect: 'dead_letter:pin_locked' },
    { name: 'a cached PIN older than the last one sent', input: { secrets: { token: TOKEN, pin: CACHED_PIN }, snapshot: { number: numberWith({ lastPinVersion: 'pin-v2' }) } }, expect: 'refresh_secrets' },
    { name: 'a verification hold, not read yet', input: { snapshot: { number: numberWith({ hold: { cause: 'needs_verification', since: T0 - 1, detail: 'd' } }) } }, expect: 'read_state' },
    { name: 'a verification hold, read VERIFIED', input: { read: state(), snapshot: { number: numberWith({ hold: { cause: 'needs_verification', since: T0 - 1, detail: 'd' } }) } }, expect: 'send:register' },
    { name: 'a PIN hold does not stop a deregister job', job: { action: 'deregister' }, input: { read: CONNECTED, snapshot: { number: numberWith({ hold: { cause: 'pin_rejected', since: T0 - 1, pinVersion: 'pin-v1', detail: 'd' } }) } }, expect: 'send:deregister' },
    { name: 'pre-flight: verification EXPIRED', input: { read: state({ codeVerificationStatus: 'EXPIRED' }) }, expect: 'dead_letter:needs_verification' },
    { name: 'pre-flight: verification field missing (unknown, not "not verified")', input: { read: state({ codeVerificationStatus: undefined }) }, expect: 'retry' },
    { name: 'pre-flight: status missing', input: { read: state({ status: undefined }) }, expect: 'retry' },
    { name: 'pre-flight: CONNECTED without platform', input: { read: state({ status: 'CONNECTED', platformType: undefined }) }, expect: 'retry' },
    { name: 'pre-flight: the read failed', input: { read: { kind: 'failed', meaning: 'transient', row: { codes: [], meaning: 'transient', outcome: 'unknown', hint: '' }, outcome: 'unknown', what: 'timeout' } }, expect: 'retry' },
    { name: 'pre-flight: the read keeps failing past MAX_DELIVERIES', input: { delivery: { messageId: 'm', receiveCount: 6, redriveGeneration: 0 }, read: state({ status: undefined }) }, expect: 'dead_letter:retries_exhausted' },
    { name: 'pre-flight: name status EXPIRED', input: { read: state({ nameStatus: 'EXPIRED' }) }, expect: 'dead_letter:permanent_error' },
    { name: 'pre-flight: a region for a registered number', job: { dataLocalizationRegion: 'DE', reason: 'manual' }, input: { read: CONNECTED }, expect: 'dead_letter:permanent_error' },
    { name: 'an uncertain register that took effect', input: { read: CONNECTED, snapshot: { job: record(register, { uncertain: 1, lastAttempt: { attemptId: 'a0', at: T0 - MINUTE_MS, operation: 'register', outcome: 'unknown' } }) } }, expect: 'write' },
    { name: 'an uncertain register, state unknown', input: { read: state({ status: undefined }), snapshot: { job: record(register, { uncertain: 1, lastAttempt: { attemptId: 'a0', at: T0 - MINUTE_MS, operation: 'register', outcome: 'pending' } }) } }, expect: 'retry' },
    { name: 'a number marked by an earlier 133000 but read CONNECTED since: no repair, nothing to do', input: { read: CONNECTED, snapshot: { number: numberWith({ incompleteDeregister: { since: T0 - HOUR_MS } }) } }, expect: 'write' },
    { name: 'a number marked by an earlier 133000, read not registered: the register job repairs first', input: { read: state(), snapshot: { number: numberWith({ incompleteDeregister: { since: T0 - HOUR_MS } }) } }, expect: 'send:deregister' },
    { name: 'a number held after a failed repair', input: { snapshot: { number: numberWith({ hold: { cause: 'deregister_stuck', since: T0 - 1, code: 133000, detail: 'd' } }) } }, expect: 'dead_letter:permanent_error' },
    { name: 'an uncertain re-register of a number that was connected is retried, not confirmed', job: { reason: 'name_change' }, input: { read: CONNECTED, snapshot: { job: record(jobOf({ reason: 'name_change' }), { uncertain: 1, progress: { connectedBefore: true }, lastAttempt: { attemptId: 'a0', at: T0 - MINUTE_MS, operation: 'register', outcome: 'unknown' } }) } }, expect: 'send:register' },
    { name: 'a read answered 100 before anything was sent', job: { action: 'set_localization' }, input: { read: { kind: 'failed', meaning: 'permanent', row: { codes: [100], meaning: 'permanent', outcome: 'rejected', hint: '' }, outcome: 'rejected', what: 'x', graphError: { code: 100 } } }, expect: 'dead_letter:permanent_error' },
    { name: 'a read answered 100 after the saga deregistered: retried, the number must not stay offline', job: { action: 'set_localization' }, input: { read: { kind: 'failed', meaning: 'permanent', row: { codes: [100], meaning: 'permanent', outcome: 'rejected', hint: '' }, outcome: 'rejected', what: 'x', graphError: { code: 100 } }, snapshot: { job: record(jobOf({ action: 'set_localization' }), { progress: { deregisterDone: true } }) } }, expect: 'retry' },
    { name: 'a state read refused the token: the gate is written first, even for a job that conflicts', input: { read: { kind: 'failed', meaning: 'token_rejected', row: { codes: [190], meaning: 'token_rejected', outcome: 'rejected', hint: '' }, outcome: 'rejected', what: 'x', graphError: { code: 190 } }, snapshot: { job: record(jobOf(), { jobHash: 'other' }) } }, expect: 'write' },
    { name: 'a state read was throttled: the throttle is written first', input: { read: { kind: 'failed', meaning: 'throttled', row: { codes: [80008], meaning: 'throttled', outcome: 'rejected', minDelaySeconds: 900, hint: '' }, outcome: 'rejected', what: 'x', regainAfterSeconds: 1200 } }, expect: 'write' },
    { name: 'the transient budget is spent', input: { read: state(), snapshot: { job: record(register, { uncertain: 3, lastAttempt: { attemptId: 'a0', at: T0 - MINUTE_MS, operation: 'register', outcome: 'unknown' } }) } }, expect: 'dead_letter:retries_exhausted' },
    { name: 'a deregister after a deregister reads first', job: { action: 'deregister' }, input: { snapshot: { number: numberWith({ lastSuccess: { operation: 'deregister', at: T0 - HOUR_MS } }) } }, expect: 'read_state' },
    { name: 'a deregister confirmed by the read', job: { action: 'deregister' }, input: { read: state(), snapshot: { number: numberWith({ lastSuccess: { operation: 'deregister', at: T0 - HOUR_MS } }) } }, expect: 'write' },
    { name: 'the number is blocked (133016)', input: { read: state(), snapshot: { number: numberWith({ blockedUntil: { deregister: T0 + HOUR_MS } }) } }, expect: 'dead_letter:rate_limited' },
    { name: 'the window is full', input: { read: state(), snapshot: { number: numberWith({ spent: spentHourly(10) }) } }, expect: 'dead_letter:rate_limited' },
    { name: 'the saga needs 2 slots, 1 is free', job: { action: 'set_localization' }, input: { read: CONNECTED, snapshot: { number: numberWith({ spent: spentHourly(9) }) } }, expect: 'dead_letter:rate_limited' },
    { name: 'a saga reads cached secrets anew before taking the number offline', job: { action: 'set_localization' }, input: { read: CONNECTED, secrets: { token: CACHED_TOKEN, pin: PIN } }, expect: 'refresh_secrets' },
    { name: 'the saga with 2 free slots', job: { action: 'set_localization' }, input: { read: CONNECTED, snapshot: { number: numberWith({ spent: spentHourly(8) }) } }, expect: 'send:deregister' },
    { name: "another job's reserved register slot counts", input: { read: state(), snapshot: { number: numberWith({ spent: spentHourly(9), reserved: [{ jobKey: 'saga', operation: 'register', at: T0, until: T0 + HOUR_MS }] }) } }, expect: 'dead_letter:rate_limited' },
  ];
  it.each(rows)('$name → $expect', (row) => {
    const job = jobOf(row.job ?? {});
    const input = { ...row.input };
    if (input.snapshot?.job && row.job) input.snapshot = { ...input.snapshot, job: { ...input.snapshot.job, jobHash: inputOf(job).jobHash } };
    expect(kindOf(decide(inputOf(job, input), 'a-1'))).toBe(row.expect);
  });
});

describe('decide: the window and its margin', () => {
  const job = jobOf();
  it('counts a request for window + margin, and eligibleAt names the end of both', () => {
    // Prepare: 10 requests, the oldest 72 h 10 min ago: out of the bare window, still inside the margin.
    const oldest = T0 - 72 * HOUR_MS - 10 * MINUTE_MS;
    const spent = [{ at: oldest, operation: 'register' as const }, ...spentHourly(9)];
    // Act
    const step = decide(inputOf(job, { read: state(), snapshot: { number: numberWith({ spent }) } }), 'a-1');
    // Assess
    expect(step).toMatchObject({ kind: 'dead_letter', decision: { category: 'rate_limited', eligibleAt: oldest + policy.budget.windowMs + policy.budget.marginMs } });
  });

  it('counts requests of the other operation and of the first layout (`any`) in shared mode, and only its own in separate mode', () => {
    const spent = [...spentHourly(5, 'deregister'), ...Array.from({ length: 5 }, (_, i) => ({ at: T0 - (i + 1) * MINUTE_MS, operation: 'any' as const }))];
    const shared = decide(inputOf(job, { read: state(), snapshot: { number: numberWith({ spent }) } }), 'a-1');
    expect(kindOf(shared)).toBe('dead_letter:rate_limited');
    const separate = decide(inputOf(job, { read: state(), policy: { ...policy, budget: { ...policy.budget, shared: false } }, snapshot: { number: numberWith({ spent }) } }), 'a-1');
    expect(kindOf(separate)).toBe('send:register');
    // Requests of the first layout (operation unknown) count against both operations in separate mode too.
    const legacy = Array.from({ length: 10 }, (_, i) => ({ at: T0 - (i + 1) * MINUTE_MS, operation: 'any' as const }));
    const separateLegacy = decide(inputOf(job, { read: state(), policy: { ...policy, budget: { ...policy.budget, shared: false } }, snapshot: { number: numberWith({ spent: legacy }) } }), 'a-1');
    expect(kindOf(separateLegacy)).toBe('dead_letter:rate_limited');
  });

  it('reserves the saga register slot with the deregister, in the same write', () => {
    const saga = jobOf({ action: 'set_localization', dataLocalizationRegion: 'DE' });
    const step = decide(inputOf(saga, { read: CONNECTED }), 'a-1') as Extract<Step, { kind: 'send' }>;
    expect(step.changes.number?.spent).toEqual([{ at: T0, operation: 'deregister' }]);
    expect(step.changes.number?.reserved).toEqual([{ jobKey: 'job-1', operation: 'register', at: T0, until: T0 + policy.budget.windowMs }]);
    expect(step.changes.job).toMatchObject({ uncertain: 1, leaseOwner: 'm-1#1', lastAttempt: { attemptId: 'a-1', operation: 'deregister', outcome: 'pending' } });
    expect(step.changes.attempt).toMatchObject({ create: { tokenVersion: 'tok-v1' } });
    expect(step.changes.checkApp).toBe(1);
  });

  it('records the PIN and token versions used, never their values', () => {
    const step = decide(inputOf(job, { read: state() }), 'a-1') as Extract<Step, { kind: 'send' }>;
    expect(step.changes.attempt).toMatchObject({ create: { pinVersion: 'pin-v1', tokenVersion: 'tok-v1' } });
    expect(JSON.stringify(step.changes)).not.toContain('012345');
    expect(JSON.stringify(step.changes)).not.toContain('EAAG-unit-token');
    expect(step.changes.number?.lastPinVersion).toBe('pin-v1');
  });
});

export { NUMBER };
