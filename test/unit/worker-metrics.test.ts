import { describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS } from '../../shared/clock.ts';
import { decide, type Step } from '../../shared/domain/decide.ts';
import { buildEnvelope } from '../../shared/domain/envelope.ts';
import { interpret } from '../../shared/domain/interpret.ts';
import type { GraphCallSummary, JobOutcome } from '../../shared/domain/outcome.ts';
import { settle } from '../../shared/domain/settle.ts';
import type { JobDecision } from '../../shared/ledger/port.ts';
import { METRICS } from '../../shared/metrics.ts';
import { closedGate, numberBlocked, recordInfrastructureFailure, recordJobMetrics } from '../../shared/observability.ts';
import { inputOf, jobOf, numberWith, policy, record, spentHourly, state, T0 } from '../support/decide-factories.ts';
import { RecordingMetrics } from '../support/recording-metrics.ts';

/**
 * Which metric each outcome emits, derived from the outcome alone. The outcomes come from the real decision core
 * (`decide`, `settle`, `buildEnvelope`), so a change in how the domain words or shapes them fails here.
 */
const job = jobOf();
const register = (graphCalls: GraphCallSummary[] = []) => ({ jobKey: job.idempotencyKey!, phoneNumberId: job.phoneNumberId, action: job.action, graphCalls });

function deadLettered(decision: JobDecision, graphCalls: GraphCallSummary[] = []): JobOutcome {
  const envelope = buildEnvelope({
    job,
    jobKey: job.idempotencyKey!,
    decision,
    delivery: { body: '{}', messageId: 'm-1', receiveCount: 1, redriveGeneration: 0 },
    history: [],
    number: numberWith(),
    budget: policy.budget,
    now: T0,
  });
  return { ...register(graphCalls), status: 'dead_lettered', category: decision.category, envelope, detail: decision.reason };
}

function outcomeOf(step: Step, graphCalls: GraphCallSummary[] = []): JobOutcome {
  if (step.kind === 'wait') return { ...register(graphCalls), status: 'wait', until: step.until, detail: step.detail };
  if (step.kind === 'dead_letter') return deadLettered(step.decision, graphCalls);
  throw new Error(`no outcome for a ${step.kind} step`);
}

/** Meta's answer `code` to a register, settled as the worker settles it: the dead letter it decides. */
function answered(code: number): JobOutcome {
  const attempt = { attemptId: 'a-1', phoneNumberId: job.phoneNumberId, operation: 'register' as const, at: T0, reason: job.reason, jobKey: job.idempotencyKey!, outcome: 'pending' as const };
  const snapshot = { number: numberWith(), app: { version: 1 }, job: record(job, { lastAttempt: { attemptId: 'a-1', outcome: 'pending' } } as never) };
  const answer = interpret('register', { kind: 'graph_error', httpStatus: 400, error: { code, message: 'refused' }, durationMs: 120 });
  const settled = settle({ job, jobKey: job.idempotencyKey!, now: T0, policy }, snapshot, attempt, answer as never);
  expect(settled.next.kind).toBe('dead_letter');
  const graphCalls = [{ operation: 'register' as const, outcome: 'graph_error', code, durationMs: 120 }];
  return deadLettered(settled.changes.job!.decision!, graphCalls);
}

/** The decision once the pre-flight read showed a verified number that is not registered. */
const afterRead = (snapshot: Parameters<typeof inputOf>[1] extends infer O ? O extends { snapshot?: infer S } ? S : never : never) => inputOf(job, { snapshot, read: state() });
const fullWindow = () => numberWith({ spent: spentHourly(10) });

describe('NumberBlocked: Meta answered 133016', () => {
  it('counts the delivery that got the 133016', () => {
    // Act
    const outcome = answered(133016);
    // Assess
    expect(outcome).toMatchObject({ category: 'rate_limited', envelope: { graphError: { code: 133016 }, blockedUntil: expect.any(String) } });
    expect(numberBlocked(outcome)).toBe(true);
  });

  it.each([
    ['a later job that meets the block (no new answer from Meta)', () => outcomeOf(decide(afterRead({ number: numberWith({ blockedUntil: { register: T0 + HOUR_MS, deregister: T0 + HOUR_MS } }) }), 'a-1'))],
    ['a full window', () => outcomeOf(decide(afterRead({ number: fullWindow() }), 'a-1'))],
    ['another refusal', () => answered(133005)],
  ])('does not count %s', (_name, outcome) => {
    expect(numberBlocked(outcome())).toBe(false);
  });
});

describe('AppGateClosed: a job met a closed app-wide gate', () => {
  const throttled = (minutes: number) => inputOf(job, { snapshot: { app: { version: 1, throttledUntil: T0 + minutes * MINUTE_MS } } });

  it.each([
    ['Meta refused the token now (190)', 'token', () => answered(190)],
    ['the token gate was already closed', 'token', () => outcomeOf(decide(inputOf(job, { snapshot: { app: { version: 1, tokenGate: { tokenVersion: 'tok-v1', since: T0 - HOUR_MS, code: 190 } } } }), 'a-1'))],
    ['Meta throttled a request now (80007)', 'throttle', () => ({ ...register([{ operation: 'register', outcome: 'graph_error', code: 80007, durationMs: 90 }]), status: 'wait', until: T0 + 15 * MINUTE_MS, detail: 'whatever the domain says' }) as JobOutcome],
    ['the job waits for a throttle the ledger holds', 'throttle', () => outcomeOf(decide(throttled(20), 'a-1'))],
    ['the job is dead-lettered behind a throttle longer than a queue wait', 'throttle', () => outcomeOf(decide(throttled(13 * 60), 'a-1'))],
  ])('%s → gate=%s', (_name, gate, outcome) => {
    expect(closedGate(outcome())).toBe(gate);
  });

  it.each([
    ['another delivery holds the job\'s lease', () => outcomeOf(decide(inputOf(job, { snapshot: { job: record(job, { leaseOwner: 'other#1', leaseUntil: T0 + MINUTE_MS }) } }), 'a-1'))],
    ['a full window (rate_limited, not a gate)', () => outcomeOf(decide(afterRead({ number: fullWindow() }), 'a-1'))],
    ['a wrong PIN', () => answered(133005)],
  ])('no gate for %s', (_name, outcome) => {
    const value = outcome();
    expect(value.status === 'wait' || value.status === 'dead_lettered').toBe(true);
    expect(closedGate(value)).toBeUndefined();
  });
});

describe('BusinessJobOutcome: per business (Solution Partners)', () => {
  it('counts completed and dead-lettered jobs per business; jobs of no known business and waits are not counted', () => {
    // Prepare
    const metrics = new RecordingMetrics();
    const done = { ...register(), status: 'completed' as const, detail: 'register succeeded' };
    const outcomes: JobOutcome[] = [
      { ...done, businessAccountId: '900' },
      { ...done, businessAccountId: '900' },
      { ...answered(190), businessAccountId: '901' },
      { ...outcomeOf(decide(inputOf(job, { snapshot: { app: { version: 1, throttledUntil: T0 + 20 * MINUTE_MS } } }), 'a-1')), businessAccountId: '900' },
      done,
    ];
    // Act
    recordJobMetrics(metrics, outcomes);
    // Assess
    expect(metrics.totals(METRICS.businessJobOutcome)).toEqual({ 'businessAccountId=900,outcome=completed': 2, 'businessAccountId=901,outcome=dead_lettered': 1 });
  });
});

describe('recordJobMetrics and recordInfrastructureFailure', () => {
  it('emits each metric under the names, namespace and dimensions the stack alarms on', () => {
    // Prepare
    const metrics = new RecordingMetrics();
    const outcomes: JobOutcome[] = [
      answered(133016),
      answered(133005),
      answered(133005),
      answered(190),
      outcomeOf(decide(inputOf(job, { snapshot: { app: { version: 1, throttledUntil: T0 + 20 * MINUTE_MS } } }), 'a-1')),
      { ...register([{ operation: 'register', outcome: 'success', durationMs: 200 }]), status: 'completed', detail: 'register succeeded' },
    ];
    // Act
    recordJobMetrics(metrics, outcomes);
    recordInfrastructureFailure(metrics);
    // Assess
    expect(metrics.totals(METRICS.deadLettered)).toEqual({ 'category=rate_limited': 1, 'category=pin_rejected': 2, 'category=token_rejected': 1 });
    expect(metrics.totals(METRICS.numberBlocked)).toEqual({ '': 1 });
    expect(metrics.totals(METRICS.appGateClosed)).toEqual({ 'gate=token': 1, 'gate=throttle': 1 });
    expect(metrics.totals(METRICS.infrastructureFailure)).toEqual({ '': 1 });
    expect(metrics.totals(METRICS.jobOutcome)).toMatchObject({ 'outcome=completed': 1, 'outcome=wait': 1, 'category=pin_rejected,outcome=dead_lettered': 2 });
    for (const metric of metrics.emitted) {
      expect(metric.namespace).toBe(METRICS.namespace);
      expect(metric.dimensions.service).toBe(METRICS.service);
    }
  });

  it('emits no NumberBlocked or AppGateClosed for a batch without them', () => {
    // Prepare
    const metrics = new RecordingMetrics();
    // Act
    recordJobMetrics(metrics, [{ ...register(), status: 'completed', detail: 'register succeeded' }]);
    // Assess
    expect(metrics.emitted.map((m) => m.name)).toEqual([METRICS.jobOutcome]);
  });
});
