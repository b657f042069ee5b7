import { DAY_MS, HOUR_MS, MINUTE_MS } from '../clock.ts';
import type { LimitedOperation, NumberBudget, SpentSlot } from '../limited-operations.ts';

export type { LimitedOperation, NumberBudget, ReservedSlot, SpentSlot } from '../limited-operations.ts';

/** A counter: `all` when register and deregister share one budget, else one per operation. */
export type BudgetScope = 'all' | LimitedOperation;

/** How the attempt budget is configured. */
export interface BudgetPolicy {
  /** Requests allowed per number per window (Meta: 10). */
  limit: number;
  windowMs: number;
  /**
   * Added to the window everywhere: a request is counted for window + margin after the time we took for it,
   * so clock skew and the time between our reservation and Meta's receipt never make a slot look free early.
   */
  marginMs: number;
  /** One budget for register and deregister together: the reading that can never earn a 133016. */
  shared: boolean;
  /** How long a number is blocked after a 133016 (Meta: 72 h). */
  blockMs: number;
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
  WINDOW_MARGIN_MINUTES: number;
  ATTEMPT_BUDGET_SHARED: boolean;
  BLOCK_HOURS: number;
}): BudgetPolicy {
  return {
    limit: config.ATTEMPT_LIMIT,
    windowMs: config.ATTEMPT_WINDOW_HOURS * HOUR_MS,
    marginMs: config.WINDOW_MARGIN_MINUTES * MINUTE_MS,
    shared: config.ATTEMPT_BUDGET_SHARED,
    blockMs: config.BLOCK_HOURS * HOUR_MS,
  };
}

/** How long a request keeps its slot: the window plus the margin. */
export function slotLifetimeMs(policy: Pick<BudgetPolicy, 'windowMs' | 'marginMs'>): number {
  return policy.windowMs + policy.marginMs;
}

/** A held number's item is kept this long after its last write, so the hold is not lost to TTL. */
const HOLD_KEPT_MS = 30 * DAY_MS;

/**
 * When a number item may expire: after every slot's window, block and reservation, a month after a hold was last
 * written, and a month after an open name-approval deadline. One definition for the worker, the resolver and the CLI.
 */
export function numberItemExpiry(number: NumberItemLifetime, now: number, policy: Pick<BudgetPolicy, 'windowMs' | 'marginMs'>): number {
  const lifetime = slotLifetimeMs(policy);
  return Math.max(
    now + lifetime,
    ...number.spent.map((slot) => slot.at + lifetime),
    ...number.reserved.map((slot) => slot.until),
    number.blockedUntil.register ?? 0,
    number.blockedUntil.deregister ?? 0,
    number.hold || number.accountHold || number.pinRotation ? now + HOLD_KEPT_MS : 0,
    number.nameApproval ? number.nameApproval.deadline + HOLD_KEPT_MS : 0,
  );
}

/** What a number item's lifetime depends on. */
type NumberItemLifetime = NumberBudget & { hold?: unknown; accountHold?: unknown; pinRotation?: unknown; nameApproval?: { deadline: number } };

function countsFor(slotOperation: LimitedOperation | 'any', operation: LimitedOperation, policy: BudgetPolicy): boolean {
  return policy.shared || slotOperation === 'any' || slotOperation === operation;
}

/**
 * The times that occupy `operation`'s counter at `now`, oldest first: requests still in window + margin,
 * and live reservations of other jobs (a job's own reservation is what it is about to use).
 */
export function occupiedTimes(budget: NumberBudget, operation: LimitedOperation, now: number, policy: BudgetPolicy, ownJobKey?: string): number[] {
  const cutoff = now - slotLifetimeMs(policy);
  const spent = budget.spent.filter((slot) => slot.at > cutoff && countsFor(slot.operation, operation, policy)).map((slot) => slot.at);
  const reserved = budget.reserved
    .filter((slot) => slot.until > now && slot.jobKey !== ownJobKey && countsFor(slot.operation, operation, policy))
    // A reserved slot is spent no earlier than now; counting it from `now` is the safe reading.
    .map(() => now);
  return [...spent, ...reserved].sort((a, b) => a - b);
}

/**
 * Whether these requests fit now, and if not, from when they will. A saga asks for its deregister and the
 * register after it together, so it never deregisters without room to register again.
 */
export function evaluateBudget(
  budget: NumberBudget,
  needs: LimitedOperation[],
  now: number,
  policy: BudgetPolicy,
  ownJobKey?: string,
): BudgetVerdict {
  const blockedUntil = Math.max(0, ...needs.map((operation) => blockedUntilFor(budget, operation, policy)));
  let used = 0;
  let until = now;
  // Group the needs per counter: in shared mode both requests come out of one counter.
  const perCounter = new Map<BudgetScope, number>();
  for (const operation of needs) perCounter.set(scopeFor(operation, policy), (perCounter.get(scopeFor(operation, policy)) ?? 0) + 1);
  let allowed = true;
  for (const [scope, needed] of perCounter) {
    const operation: LimitedOperation = scope === 'all' ? needs[0]! : scope;
    const occupied = occupiedTimes(budget, operation, now, policy, ownJobKey);
    used = Math.max(used, occupied.length);
    const free = policy.limit - occupied.length;
    if (free >= needed) continue;
    allowed = false;
    // Slots free up as the oldest requests leave the window; `needed - free` of them must leave.
    const freedBy = occupied[needed - free - 1] ?? now;
    until = Math.max(until, freedBy + slotLifetimeMs(policy));
  }
  if (blockedUntil > now) return { allowed: false, why: 'blocked', until: Math.max(blockedUntil, allowed ? 0 : until), used };
  if (!allowed) return { allowed: false, why: 'window_full', until, used };
  return { allowed: true, used, remaining: policy.limit - used };
}

/** In shared mode a 133016 on either operation blocks both. */
export function blockedUntilFor(budget: NumberBudget, operation: LimitedOperation, policy: Pick<BudgetPolicy, 'shared'>): number {
  if (policy.shared) return Math.max(0, budget.blockedUntil.register ?? 0, budget.blockedUntil.deregister ?? 0);
  return budget.blockedUntil[operation] ?? 0;
}

/** The spent slots still worth storing at `now` (older ones can never count again). */
export function pruneSpent(spent: SpentSlot[], now: number, policy: BudgetPolicy): SpentSlot[] {
  const cutoff = now - slotLifetimeMs(policy);
  return spent.filter((slot) => slot.at > cutoff);
}
