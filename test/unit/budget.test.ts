import { describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS } from '../../shared/clock.ts';
import {
  blockedUntilFor,
  budgetPolicyFromConfig,
  evaluateBudget,
  occupiedTimes,
  pruneSpent,
  scopeFor,
  slotLifetimeMs,
  type BudgetPolicy,
  type NumberBudget,
  type ReservedSlot,
  type SpentSlot,
} from '../../shared/domain/budget.ts';

const MARGIN = 15 * MINUTE_MS;
const shared: BudgetPolicy = { limit: 10, windowMs: 72 * HOUR_MS, marginMs: MARGIN, shared: true, blockMs: 72 * HOUR_MS };
const separate: BudgetPolicy = { ...shared, shared: false };
const T0 = Date.UTC(2026, 10, 1);
/** A slot leaves the count this long after it was taken. */
const LIFETIME = 72 * HOUR_MS + MARGIN;

const budget = (spent: SpentSlot[], extra: Partial<NumberBudget> = {}): NumberBudget => ({ spent, reserved: [], blockedUntil: {}, ...extra });
const slots = (count: number, operation: SpentSlot['operation'] = 'register', start = T0) =>
  Array.from({ length: count }, (_, i): SpentSlot => ({ at: start + i * HOUR_MS, operation }));
const reservation = (jobKey: string, until: number, operation: ReservedSlot['operation'] = 'register'): ReservedSlot => ({ jobKey, operation, at: T0, until });

describe('evaluateBudget: the window edges, with the margin', () => {
  it('allows the 10th request and refuses the 11th until the oldest is window + margin old', () => {
    // Prepare
    const nine = budget(slots(9));
    const ten = budget(slots(10));
    // Act
    const tenth = evaluateBudget(nine, ['register'], T0 + 10 * HOUR_MS, shared);
    const eleventh = evaluateBudget(ten, ['register'], T0 + 10 * HOUR_MS, shared);
    // Assess
    expect(tenth).toEqual({ allowed: true, used: 9, remaining: 1 });
    expect(eleventh).toEqual({ allowed: false, why: 'window_full', used: 10, until: T0 + LIFETIME });
  });

  it.each([
    ['one millisecond before window + margin', T0 + LIFETIME - 1, false],
    ['exactly window + margin', T0 + LIFETIME, true],
    ['the bare window (the margin still holds the slot)', T0 + 72 * HOUR_MS, false],
  ])('frees the oldest slot at %s: %s', (_name, now, allowed) => {
    // Act
    const verdict = evaluateBudget(budget(slots(10)), ['register'], now, shared);
    // Assess
    expect(verdict.allowed).toBe(allowed);
  });

  it('with a zero margin, frees the slot at the bare window', () => {
    // Act
    const verdict = evaluateBudget(budget(slots(10)), ['register'], T0 + 72 * HOUR_MS, { ...shared, marginMs: 0 });
    // Assess
    expect(verdict).toEqual({ allowed: true, used: 9, remaining: 1 });
  });

  it('does not rely on TTL: slots older than window + margin that are still stored are ignored', () => {
    // Prepare
    const stale = budget([{ at: T0 - 100 * HOUR_MS, operation: 'register' }, { at: T0 - LIFETIME, operation: 'deregister' }, ...slots(8)]);
    // Act
    const verdict = evaluateBudget(stale, ['register'], T0 + 9 * HOUR_MS, shared);
    // Assess
    expect(verdict).toMatchObject({ allowed: true, used: 8 });
    expect(pruneSpent(stale.spent, T0 + 9 * HOUR_MS, shared)).toEqual(slots(8));
  });

  it('needs two free slots for a deregister that must be followed by a register; the second-oldest decides when', () => {
    // Act
    const nine = evaluateBudget(budget(slots(9)), ['deregister', 'register'], T0 + 10 * HOUR_MS, shared);
    const eight = evaluateBudget(budget(slots(8)), ['deregister', 'register'], T0 + 10 * HOUR_MS, shared);
    const ten = evaluateBudget(budget(slots(10)), ['deregister', 'register'], T0 + 10 * HOUR_MS, shared);
    // Assess
    expect(nine).toEqual({ allowed: false, why: 'window_full', used: 9, until: T0 + LIFETIME });
    expect(eight.allowed).toBe(true);
    expect(ten).toMatchObject({ until: T0 + HOUR_MS + LIFETIME });
  });

  it('honours a lower limit kept for people acting by hand', () => {
    // Act
    const verdict = evaluateBudget(budget(slots(7)), ['register'], T0 + 8 * HOUR_MS, { ...shared, limit: 7 });
    // Assess
    expect(verdict).toMatchObject({ allowed: false, why: 'window_full', used: 7 });
  });
});

describe('evaluateBudget: shared vs separate budgets', () => {
  const mixed = budget([...slots(6, 'register'), ...slots(4, 'deregister', T0 + 6 * HOUR_MS)]);

  it('shared: register and deregister spend one counter', () => {
    // Act
    const register = evaluateBudget(mixed, ['register'], T0 + 11 * HOUR_MS, shared);
    const deregister = evaluateBudget(mixed, ['deregister'], T0 + 11 * HOUR_MS, shared);
    // Assess
    expect(register).toMatchObject({ allowed: false, used: 10 });
    expect(deregister).toMatchObject({ allowed: false, used: 10 });
  });

  it('separate: each operation counts only its own requests, from the same stored slots (switching forgets nothing)', () => {
    // Act
    const register = evaluateBudget(mixed, ['register'], T0 + 11 * HOUR_MS, separate);
    const deregister = evaluateBudget(mixed, ['deregister'], T0 + 11 * HOUR_MS, separate);
    const saga = evaluateBudget(mixed, ['deregister', 'register'], T0 + 11 * HOUR_MS, separate);
    // Assess
    expect(register).toEqual({ allowed: true, used: 6, remaining: 4 });
    expect(deregister).toEqual({ allowed: true, used: 4, remaining: 6 });
    expect(saga.allowed).toBe(true);
  });

  it('legacy `any` slots (first ledger layout, operation unknown) count against both operations when separate', () => {
    // Prepare
    const legacy = budget([...slots(5, 'any'), ...slots(5, 'register', T0 + 5 * HOUR_MS)]);
    // Act
    const register = evaluateBudget(legacy, ['register'], T0 + 11 * HOUR_MS, separate);
    const deregister = evaluateBudget(legacy, ['deregister'], T0 + 11 * HOUR_MS, separate);
    // Assess
    expect(register).toMatchObject({ allowed: false, used: 10 });
    expect(deregister).toEqual({ allowed: true, used: 5, remaining: 5 });
    expect(occupiedTimes(legacy, 'deregister', T0 + 11 * HOUR_MS, separate)).toEqual(slots(5, 'any').map((slot) => slot.at));
  });

  it('maps operations to counters', () => {
    expect([scopeFor('register', shared), scopeFor('deregister', shared)]).toEqual(['all', 'all']);
    expect([scopeFor('register', separate), scopeFor('deregister', separate)]).toEqual(['register', 'deregister']);
  });
});

describe('evaluateBudget: reservations of sagas in progress', () => {
  const now = T0 + 10 * HOUR_MS;

  it('counts other jobs\' live reservations as spent from now, but not the job\'s own', () => {
    // Prepare
    const reserved = budget(slots(9), { reserved: [reservation('saga-1', now + HOUR_MS)] });
    // Act
    const other = evaluateBudget(reserved, ['register'], now, shared, 'another-job');
    const own = evaluateBudget(reserved, ['register'], now, shared, 'saga-1');
    // Assess
    expect(other).toMatchObject({ allowed: false, why: 'window_full', used: 10 });
    expect(own).toEqual({ allowed: true, used: 9, remaining: 1 });
    expect(occupiedTimes(reserved, 'register', now, shared, 'another-job').at(-1)).toBe(now);
  });

  it('drops a reservation at its `until`, and counts a register reservation only for register when separate', () => {
    // Prepare
    const expired = budget(slots(9), { reserved: [reservation('saga-1', now)] });
    const forRegister = budget(slots(9, 'deregister'), { reserved: [reservation('saga-1', now + HOUR_MS, 'register')] });
    // Act
    const afterUntil = evaluateBudget(expired, ['register'], now, shared, 'x');
    const deregister = evaluateBudget(forRegister, ['deregister'], now, separate, 'x');
    const register = evaluateBudget(forRegister, ['register'], now, separate, 'x');
    // Assess
    expect(afterUntil.allowed).toBe(true);
    expect(deregister).toEqual({ allowed: true, used: 9, remaining: 1 });
    expect(register).toEqual({ allowed: true, used: 1, remaining: 9 });
  });
});

describe('evaluateBudget: blocks after 133016', () => {
  it('refuses while blocked, even with slots free, and reports the block end; the block ends exactly at blockedUntil', () => {
    // Act
    const during = evaluateBudget(budget([], { blockedUntil: { register: T0 + 5 } }), ['register'], T0, shared);
    const at = evaluateBudget(budget([], { blockedUntil: { register: T0 } }), ['register'], T0, shared);
    // Assess
    expect(during).toEqual({ allowed: false, why: 'blocked', until: T0 + 5, used: 0 });
    expect(at.allowed).toBe(true);
  });

  it('shared: a block on either operation blocks both', () => {
    // Prepare
    const blocked = budget([], { blockedUntil: { register: T0 + HOUR_MS } });
    // Act
    const deregister = evaluateBudget(blocked, ['deregister'], T0, shared);
    // Assess
    expect(deregister).toMatchObject({ allowed: false, why: 'blocked', until: T0 + HOUR_MS });
    expect(blockedUntilFor(blocked, 'deregister', shared)).toBe(T0 + HOUR_MS);
  });

  it('separate: a block on register leaves deregister open', () => {
    // Prepare
    const blocked = budget([], { blockedUntil: { register: T0 + HOUR_MS } });
    // Act
    const deregister = evaluateBudget(blocked, ['deregister'], T0, separate);
    const saga = evaluateBudget(blocked, ['deregister', 'register'], T0, separate);
    // Assess
    expect(deregister.allowed).toBe(true);
    expect(saga).toMatchObject({ allowed: false, why: 'blocked' });
    expect(blockedUntilFor(blocked, 'deregister', separate)).toBe(0);
  });
});

describe('budgetPolicyFromConfig', () => {
  it('turns the worker variables into milliseconds, margin included', () => {
    // Act
    const policy = budgetPolicyFromConfig({ ATTEMPT_LIMIT: 8, ATTEMPT_WINDOW_HOURS: 72, WINDOW_MARGIN_MINUTES: 15, ATTEMPT_BUDGET_SHARED: false, BLOCK_HOURS: 96 });
    // Assess
    expect(policy).toEqual({ limit: 8, windowMs: 72 * HOUR_MS, marginMs: 15 * MINUTE_MS, shared: false, blockMs: 96 * HOUR_MS });
    expect(slotLifetimeMs(policy)).toBe(LIFETIME);
  });
});
