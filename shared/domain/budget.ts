import { HOUR_MS } from '../clock.ts';

/** The two Graph calls Meta limits to N per number in a moving window. */
export type LimitedOperation = 'register' | 'deregister';

/** A counter in the ledger: `all` when register and deregister share one budget, else one per operation. */
export type BudgetScope = 'all' | LimitedOperation;

/** How the attempt budget is configured. */
export interface BudgetPolicy {
  /** Requests allowed per number per window (Meta: 10). */
  limit: number;
  windowMs: number;
  /** One budget for register and deregister together: the reading that can never earn a 133016. */
  shared: boolean;
  /** How long a number is blocked after a 133016 (Meta: 72 h). */
  blockMs: number;
}

/** One counter as stored: the request times still in the window, any block, and a version for optimistic locking. */
export interface BudgetState {
  scope: BudgetScope;
  /** Epoch ms of every request in this scope; may include expired ones until the next write prunes them. */
  attemptTimes: number[];
  blockedUntil?: number;
  /** 0 when the item does not exist yet. */
  version: number;
}

export type BudgetVerdict =
  | { allowed: true; used: number; remaining: number }
  | { allowed: false; why: 'blocked'; until: number; used: number }
  | { allowed: false; why: 'window_full'; until: number; used: number };

/** The counter that `operation` spends from. */
export function scopeFor(operation: LimitedOperation, policy: Pick<BudgetPolicy, 'shared'>): BudgetScope {
  return policy.shared ? 'all' : operation;
}

export function budgetPolicyFromConfig(config: {
  ATTEMPT_LIMIT: number;
  ATTEMPT_WINDOW_HOURS: number;
  ATTEMPT_BUDGET_SHARED: boolean;
  BLOCK_HOURS: number;
}): BudgetPolicy {
  return {
    limit: config.ATTEMPT_LIMIT,
    windowMs: config.ATTEMPT_WINDOW_HOURS * HOUR_MS,
    shared: config.ATTEMPT_BUDGET_SHARED,
    blockMs: config.BLOCK_HOURS * HOUR_MS,
  };
}

/** Request times that still count at `now`. Never relies on TTL having deleted anything. */
export function timesInWindow(state: BudgetState, now: number, policy: BudgetPolicy): number[] {
  const cutoff = now - policy.windowMs;
  return state.attemptTimes.filter((at) => at > cutoff).sort((a, b) => a - b);
}

/**
 * Whether `needed` more requests fit in this counter now, and if not, from when they will.
 * `needed` is 2 when a deregister must be followed by a register from the same counter.
 */
export function evaluateBudget(state: BudgetState, now: number, policy: BudgetPolicy, needed = 1): BudgetVerdict {
  const inWindow = timesInWindow(state, now, policy);
  const used = inWindow.length;
  if (state.blockedUntil !== undefined && state.blockedUntil > now) {
    return { allowed: false, why: 'blocked', until: state.blockedUntil, used };
  }
  const free = policy.limit - used;
  if (free >= needed) return { allowed: true, used, remaining: free };
  // Slots free up as the oldest requests leave the window; `needed - free` of them must leave.
  const mustExpire = needed - free;
  const freedBy = inWindow[mustExpire - 1] ?? now;
  return { allowed: false, why: 'window_full', until: freedBy + policy.windowMs, used };
}

/** The stored times after one more request at `now`, with expired ones pruned so the item stays small. */
export function appendAttempt(state: BudgetState, now: number, policy: BudgetPolicy): number[] {
  return [...timesInWindow(state, now, policy), now];
}
