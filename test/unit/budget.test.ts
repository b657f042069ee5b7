import { describe, expect, it } from 'vitest';
import { HOUR_MS } from '../../shared/clock.ts';
import { appendAttempt, evaluateBudget, scopeFor, type BudgetPolicy, type BudgetState } from '../../shared/domain/budget.ts';

const policy: BudgetPolicy = { limit: 10, windowMs: 72 * HOUR_MS, shared: true, blockMs: 72 * HOUR_MS };
const T0 = Date.UTC(2026, 10, 1);
const state = (times: number[], extra: Partial<BudgetState> = {}): BudgetState => ({ scope: 'all', attemptTimes: times, version: 3, ...extra });
const tenHourly = Array.from({ length: 10 }, (_, i) => T0 + i * HOUR_MS);

describe('evaluateBudget', () => {
  it('allows the 10th request and refuses the 11th', () => {
    expect(evaluateBudget(state(tenHourly.slice(0, 9)), T0 + 10 * HOUR_MS, policy)).toEqual({ allowed: true, used: 9, remaining: 1 });
    expect(evaluateBudget(state(tenHourly), T0 + 10 * HOUR_MS, policy)).toEqual({ allowed: false, why: 'window_full', used: 10, until: T0 + 72 * HOUR_MS });
  });

  it('frees a slot exactly when the oldest request is 72 hours old, not a millisecond before', () => {
    expect(evaluateBudget(state(tenHourly), T0 + 72 * HOUR_MS - 1, policy).allowed).toBe(false);
    expect(evaluateBudget(state(tenHourly), T0 + 72 * HOUR_MS, policy)).toEqual({ allowed: true, used: 9, remaining: 1 });
  });

  it('does not rely on TTL: expired times still stored are ignored', () => {
    const stale = [T0 - 100 * HOUR_MS, T0 - 80 * HOUR_MS, ...tenHourly.slice(0, 8)];
    expect(evaluateBudget(state(stale), T0 + 9 * HOUR_MS, policy)).toMatchObject({ allowed: true, used: 8 });
  });

  it('needs two free slots for a deregister that must be followed by a register', () => {
    const nine = tenHourly.slice(0, 9);
    expect(evaluateBudget(state(nine), T0 + 10 * HOUR_MS, policy, 2)).toEqual({ allowed: false, why: 'window_full', used: 9, until: T0 + 72 * HOUR_MS });
    expect(evaluateBudget(state(tenHourly.slice(0, 8)), T0 + 10 * HOUR_MS, policy, 2).allowed).toBe(true);
    // With 10 used, two must leave: the second-oldest decides.
    expect(evaluateBudget(state(tenHourly), T0 + 10 * HOUR_MS, policy, 2)).toMatchObject({ until: T0 + HOUR_MS + 72 * HOUR_MS });
  });

  it('refuses while blocked, even with slots free, and reports the block end', () => {
    expect(evaluateBudget(state([], { blockedUntil: T0 + 5 }), T0, policy)).toEqual({ allowed: false, why: 'blocked', until: T0 + 5, used: 0 });
    expect(evaluateBudget(state([], { blockedUntil: T0 }), T0, policy).allowed).toBe(true);
  });

  it('honours a lower limit kept for people acting by hand', () => {
    expect(evaluateBudget(state(tenHourly.slice(0, 7)), T0 + 8 * HOUR_MS, { ...policy, limit: 7 }).allowed).toBe(false);
  });
});

describe('scopeFor and appendAttempt', () => {
  it('shares one counter by default and splits it on request', () => {
    expect([scopeFor('register', policy), scopeFor('deregister', policy)]).toEqual(['all', 'all']);
    expect([scopeFor('register', { shared: false }), scopeFor('deregister', { shared: false })]).toEqual(['register', 'deregister']);
  });

  it('prunes expired times when appending', () => {
    expect(appendAttempt(state([T0 - 73 * HOUR_MS, T0 - HOUR_MS]), T0, policy)).toEqual([T0 - HOUR_MS, T0]);
  });
});
