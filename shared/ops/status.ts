import { HOUR_MS } from '../clock.ts';
import { evaluateBudget, type BudgetPolicy, type BudgetScope, type BudgetState, type LimitedOperation } from '../domain/budget.ts';
import type { AttemptLedger, AttemptRecord } from '../ledger/port.ts';
import { formatRelative, formatTime, table, usageBar } from './format.ts';

/** One request in the current window, as the status view shows it. */
export interface StatusAttempt {
  at: string;
  operation: LimitedOperation;
  reason: string;
  outcome: AttemptRecord['outcome'];
  code?: number;
  httpStatus?: number;
  fbtraceId?: string;
  jobKey: string;
}

/** One budget counter: what is spent in the window, what is left, and when it changes. */
export interface ScopeStatus {
  scope: BudgetScope;
  operations: LimitedOperation[];
  used: number;
  limit: number;
  left: number;
  /** Whether one more request of this scope may be sent now. */
  open: boolean;
  /** When the oldest request in the window leaves it (a slot frees); absent when nothing is in the window. */
  nextSlotFreesAt?: string;
  /** When a request can be sent again, if it cannot now (window full or blocked). */
  reopensAt?: string;
  /** Meta blocked the number (133016) for these operations until then. */
  blockedUntil?: string;
  attempts: StatusAttempt[];
}

/** `wa-registrar status --json`: stable field names; times are ISO 8601 UTC. */
export interface StatusView {
  phoneNumberId: string;
  now: string;
  policy: { limit: number; windowHours: number; shared: boolean };
  scopes: ScopeStatus[];
  /** Requests still on the ledger but outside the window (they no longer count). */
  olderAttempts: number;
  /** Counters on the ledger whose scope the chosen settings do not use: the settings may differ from the worker's. */
  notes: string[];
}

const OPERATIONS_OF: Record<BudgetScope, LimitedOperation[]> = {
  all: ['register', 'deregister'],
  register: ['register'],
  deregister: ['deregister'],
};

/** The scopes a policy uses. */
export function scopesFor(policy: Pick<BudgetPolicy, 'shared'>): BudgetScope[] {
  return policy.shared ? ['all'] : ['register', 'deregister'];
}

/**
 * Builds the view from the ledger's own records. Counts come from whichever of the counter and the request
 * history shows more requests in the window (they are written together; the history also covers a view whose
 * settings differ from the worker's). A block on any counter covering an operation applies to it.
 */
export function buildStatus(
  phoneNumberId: string,
  history: AttemptRecord[],
  budgets: BudgetState[],
  policy: BudgetPolicy,
  now: number,
): StatusView {
  const cutoff = now - policy.windowMs;
  const inWindow = history.filter((attempt) => attempt.at > cutoff).sort((a, b) => a.at - b.at);
  const scopes = scopesFor(policy).map((scope): ScopeStatus => {
    const operations = OPERATIONS_OF[scope];
    const attempts = inWindow.filter((attempt) => operations.includes(attempt.operation));
    const counter = budgets.find((budget) => budget.scope === scope);
    const counterTimes = (counter?.attemptTimes ?? []).filter((at) => at > cutoff);
    const times = counterTimes.length > attempts.length ? counterTimes : attempts.map((attempt) => attempt.at);
    const blocks = budgets
      .filter((budget) => budget.scope === 'all' || scope === 'all' || budget.scope === scope)
      .map((budget) => budget.blockedUntil ?? 0)
      .filter((until) => until > now);
    const blockedUntil = blocks.length > 0 ? Math.max(...blocks) : undefined;
    const verdict = evaluateBudget(
      { scope, attemptTimes: times, version: 0, ...(blockedUntil === undefined ? {} : { blockedUntil }) },
      now,
      policy,
    );
    const sorted = [...times].sort((a, b) => a - b);
    return {
      scope,
      operations,
      used: sorted.length,
      limit: policy.limit,
      left: Math.max(0, policy.limit - sorted.length),
      open: verdict.allowed,
      ...(sorted.length > 0 ? { nextSlotFreesAt: iso(sorted[0]! + policy.windowMs) } : {}),
      ...(verdict.allowed ? {} : { reopensAt: iso(verdict.until) }),
      ...(blockedUntil === undefined ? {} : { blockedUntil: iso(blockedUntil) }),
      attempts: attempts.map((attempt) => ({
        at: iso(attempt.at),
        operation: attempt.operation,
        reason: attempt.reason,
        outcome: attempt.outcome,
        ...(attempt.code === undefined ? {} : { code: attempt.code }),
        ...(attempt.httpStatus === undefined ? {} : { httpStatus: attempt.httpStatus }),
        ...(attempt.fbtraceId === undefined ? {} : { fbtraceId: attempt.fbtraceId }),
        jobKey: attempt.jobKey,
      })),
    };
  });
  const used = new Set(scopesFor(policy));
  const notes = budgets
    .filter((budget) => !used.has(budget.scope) && budget.attemptTimes.some((at) => at > cutoff))
    .map(
      (budget) =>
        `the ledger also has a "${budget.scope}" counter with requests in the window: the worker may be configured with ` +
        `${budget.scope === 'all' ? 'a shared budget' : 'separate budgets'} (ATTEMPT_BUDGET_SHARED); pass --budget ${budget.scope === 'all' ? 'shared' : 'separate'} to see it that way`,
    );
  return {
    phoneNumberId,
    now: iso(now),
    policy: { limit: policy.limit, windowHours: policy.windowMs / HOUR_MS, shared: policy.shared },
    scopes,
    olderAttempts: history.length - inWindow.length,
    notes,
  };
}

/** Reads the ledger and builds the view. */
export async function readStatus(ledger: AttemptLedger, phoneNumberId: string, policy: BudgetPolicy, now: number): Promise<StatusView> {
  const [history, budgets] = await Promise.all([ledger.history(phoneNumberId), ledger.budgets(phoneNumberId)]);
  return buildStatus(phoneNumberId, history, budgets, policy, now);
}

/** Whether a job needing `needed` requests per scope can start now; if not, when (for enqueue warnings). */
export function blockingScope(view: StatusView, needs: Partial<Record<BudgetScope, number>>): { scope: ScopeStatus; needed: number; until?: number } | undefined {
  for (const scope of view.scopes) {
    const needed = needs[scope.scope] ?? 0;
    if (needed === 0) continue;
    if (scope.blockedUntil) return { scope, needed, until: Date.parse(scope.blockedUntil) };
    if (scope.left < needed) {
      // The (needed - left)-th oldest request must leave the window first.
      const times = scope.attempts.map((attempt) => Date.parse(attempt.at));
      const index = needed - scope.left - 1;
      const until = times[index] !== undefined ? times[index]! + view.policy.windowHours * HOUR_MS : undefined;
      return { scope, needed, ...(until === undefined ? {} : { until }) };
    }
  }
  return undefined;
}

/** The people view: a bar per scope, then the window's requests. */
export function renderStatus(view: StatusView): string {
  const now = Date.parse(view.now);
  const lines: string[] = [];
  const budget = view.policy.shared ? 'shared by register and deregister' : 'separate for register and deregister';
  lines.push(`Number ${view.phoneNumberId}: ${view.policy.limit} requests per ${view.policy.windowHours} h, ${budget} (now ${formatTime(now)})`);
  for (const scope of view.scopes) {
    lines.push('');
    const label = scope.scope === 'all' ? 'register + deregister' : scope.scope;
    lines.push(`${label.padEnd(22)} ${usageBar(scope.used, scope.limit)} used, ${scope.left} left${scope.blockedUntil ? '  BLOCKED' : scope.open ? '' : '  FULL'}`);
    if (scope.blockedUntil) {
      const until = Date.parse(scope.blockedUntil);
      lines.push(`  BLOCKED by Meta (133016) until ${formatTime(until)} (${formatRelative(until, now)}): nothing is sent before then`);
    }
    if (scope.reopensAt && !scope.blockedUntil) {
      const at = Date.parse(scope.reopensAt);
      lines.push(`  window full: the next request can go at ${formatTime(at)} (${formatRelative(at, now)})`);
    } else if (scope.nextSlotFreesAt && scope.open) {
      const at = Date.parse(scope.nextSlotFreesAt);
      lines.push(`  oldest request leaves the window at ${formatTime(at)} (${formatRelative(at, now)}), giving back a slot`);
    }
    if (scope.attempts.length === 0) {
      lines.push(`  no requests in the last ${view.policy.windowHours} h`);
      continue;
    }
    const rows = scope.attempts.map((attempt) => [
      formatTime(Date.parse(attempt.at)),
      attempt.operation,
      attempt.reason,
      attempt.outcome,
      attempt.code,
      attempt.fbtraceId,
    ]);
    lines.push(indent(table(['TIME', 'OPERATION', 'REASON', 'OUTCOME', 'CODE', 'FBTRACE_ID'], rows), '  '));
  }
  if (view.olderAttempts > 0) lines.push('', `${view.olderAttempts} older request(s) on the ledger no longer count.`);
  for (const note of view.notes) lines.push('', `Note: ${note}.`);
  return lines.join('\n');
}

const iso = (ms: number) => new Date(ms).toISOString();
const indent = (text: string, prefix: string) => text.split('\n').map((line) => prefix + line).join('\n');
