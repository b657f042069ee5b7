import { HOUR_MS, MINUTE_MS } from '../../shared/clock.ts';
import {
  blockedUntilFor,
  evaluateBudget,
  occupiedTimes,
  scopeFor,
  slotLifetimeMs,
  type BudgetPolicy,
  type BudgetScope,
  type LimitedOperation,
} from '../../shared/domain/budget.ts';
import { throttleFor } from '../../shared/domain/throttle.ts';
import { tokenGateOf } from '../../shared/domain/token-gates.ts';
import { nameApprovalMet, type AppGates, type AttemptLedger, type AttemptRecord, type NumberHold, type NumberRecord } from '../../shared/ledger/port.ts';
import { formatRelative, formatTime, table, usageBar } from './format.ts';
import { holdLiftedBy, tokenGateLiftedBy } from '../ops/holds.ts';

/** One request in the current window, as the status view shows it. */
interface StatusAttempt {
  at: string;
  operation: LimitedOperation;
  reason: string;
  outcome: AttemptRecord['outcome'];
  code?: number;
  httpStatus?: number;
  fbtraceId?: string;
  jobKey: string;
}

/** One budget counter: what is spent in the window (+ margin), what is left, and when it changes. */
interface ScopeStatus {
  scope: BudgetScope;
  operations: LimitedOperation[];
  /** Requests in window + margin, plus slots other jobs have reserved: the worker's own count. */
  used: number;
  limit: number;
  left: number;
  /** Of `used`: slots reserved for sagas in progress (the register after their deregister). */
  reserved: number;
  /** Whether one more request of this scope may be sent now. */
  open: boolean;
  /** When the oldest request leaves window + margin (a slot frees); absent when no request is in it. */
  nextSlotFreesAt?: string;
  /** When a request can be sent again, if it cannot now (window full or blocked). */
  reopensAt?: string;
  /** Meta blocked the number (133016) for these operations until then. */
  blockedUntil?: string;
  attempts: StatusAttempt[];
}

/** The number's hold as the status view shows it. */
interface StatusHold {
  cause: NumberHold['cause'];
  since: string;
  until?: string;
  /** The PIN secret version Meta refused. */
  secretVersion?: string;
  code?: number;
  detail: string;
  /** What lifts it, as a sentence. */
  liftedBy: string;
}

/** `wa-registrar status --json`: stable field names; times are ISO 8601 UTC. */
export interface StatusView {
  phoneNumberId: string;
  now: string;
  policy: { limit: number; windowHours: number; marginMinutes: number; shared: boolean };
  scopes: ScopeStatus[];
  hold?: StatusHold;
  /** An account_update restricted the number's business: every job of the number is held. */
  accountHold?: StatusHold;
  /** The number's WhatsApp Business Account, when a webhook or a job named it. */
  businessAccountId?: string;
  /** The latest display-name approval and its re-register deadline. */
  nameApproval?: { approvedAt: string; reRegisterBy: string; requestedName?: string; met: boolean };
  /** Slots promised to sagas in progress (each counts as spent until used or `until`). */
  reserved: Array<{ jobKey: string; operation: LimitedOperation; at: string; until: string }>;
  /** The last register or deregister that took effect, by any job. */
  lastSuccess?: { operation: LimitedOperation; at: string };
  /** App-wide gates: they stop every job, for every number. */
  app: {
    throttledUntil?: string;
    /** Meta's throttle on this number's business (any business's while the number's business is unknown). */
    businessThrottledUntil?: string;
    tokenGate?: { tokenVersion: string; since: string; code: number; liftedBy: string };
    /** The gate of the number's business's own token (TOKEN_SECRET_PREFIX + WABA id), when Meta refused it. */
    businessTokenGate?: { businessAccountId: string; tokenVersion: string; since: string; code: number; liftedBy: string };
  };
  /** Requests still on the ledger but outside window + margin (they no longer count). */
  olderAttempts: number;
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
 * Builds the view from the ledger's own records. Counts come from the number item, with the same budget
 * functions the worker uses (window + margin, reservations of jobs in progress, legacy `any` slots); the request
 * history supplies the rows shown under each counter.
 */
export function buildStatus(number: NumberRecord, history: AttemptRecord[], app: AppGates, policy: BudgetPolicy, now: number): StatusView {
  const lifetime = slotLifetimeMs(policy);
  const cutoff = now - lifetime;
  const inWindow = history.filter((attempt) => attempt.at > cutoff).sort((a, b) => a.at - b.at);
  const liveReservations = number.reserved.filter((slot) => slot.until > now);
  const scopes = scopesFor(policy).map((scope): ScopeStatus => {
    const operations = OPERATIONS_OF[scope];
    const operation = operations[0]!;
    const occupied = occupiedTimes(number, operation, now, policy);
    const reserved = liveReservations.filter((slot) => scopeFor(slot.operation, policy) === scope).length;
    const spentTimes = number.spent
      .filter((slot) => slot.at > cutoff && (policy.shared || slot.operation === 'any' || slot.operation === operation))
      .map((slot) => slot.at)
      .sort((a, b) => a - b);
    const verdict = evaluateBudget(number, [operation], now, policy);
    const blockedUntil = blockedUntilFor(number, operation, policy);
    return {
      scope,
      operations,
      used: occupied.length,
      limit: policy.limit,
      left: Math.max(0, policy.limit - occupied.length),
      reserved,
      open: verdict.allowed,
      ...(spentTimes.length > 0 ? { nextSlotFreesAt: iso(spentTimes[0]! + lifetime) } : {}),
      ...(verdict.allowed ? {} : { reopensAt: iso(verdict.until) }),
      ...(blockedUntil > now ? { blockedUntil: iso(blockedUntil) } : {}),
      attempts: inWindow.filter((attempt) => operations.includes(attempt.operation)).map(toStatusAttempt),
    };
  });
  const legacy = number.spent.filter((slot) => slot.operation === 'any' && slot.at > cutoff).length;
  const notes =
    legacy > 0 && !policy.shared
      ? [`${legacy} request(s) from the ledger's first layout have no recorded operation; they count against both register and deregister`]
      : [];
  const approval = number.nameApproval;
  const businessGate = number.businessAccountId === undefined ? undefined : tokenGateOf(app, number.businessAccountId);
  const businessThrottledUntil = throttleFor({ businessThrottles: app.businessThrottles ?? {} }, number.businessAccountId, now);
  return {
    phoneNumberId: number.phoneNumberId,
    now: iso(now),
    policy: { limit: policy.limit, windowHours: policy.windowMs / HOUR_MS, marginMinutes: policy.marginMs / MINUTE_MS, shared: policy.shared },
    scopes,
    ...(number.hold ? { hold: statusHold(number.phoneNumberId, number.hold, now) } : {}),
    ...(number.accountHold ? { accountHold: statusHold(number.phoneNumberId, number.accountHold, now) } : {}),
    ...(number.businessAccountId === undefined ? {} : { businessAccountId: number.businessAccountId }),
    ...(approval
      ? {
          nameApproval: {
            approvedAt: iso(approval.approvedAt),
            reRegisterBy: iso(approval.deadline),
            ...(approval.requestedName === undefined ? {} : { requestedName: approval.requestedName }),
            met: nameApprovalMet(number),
          },
        }
      : {}),
    reserved: liveReservations.map((slot) => ({ jobKey: slot.jobKey, operation: slot.operation, at: iso(slot.at), until: iso(slot.until) })),
    ...(number.lastSuccess ? { lastSuccess: { operation: number.lastSuccess.operation, at: iso(number.lastSuccess.at) } } : {}),
    app: {
      ...(app.throttledUntil !== undefined && app.throttledUntil > now ? { throttledUntil: iso(app.throttledUntil) } : {}),
      ...(businessThrottledUntil === undefined ? {} : { businessThrottledUntil: iso(businessThrottledUntil) }),
      ...(app.tokenGate
        ? { tokenGate: { tokenVersion: app.tokenGate.tokenVersion, since: iso(app.tokenGate.since), code: app.tokenGate.code, liftedBy: tokenGateLiftedBy() } }
        : {}),
      ...(businessGate && number.businessAccountId !== undefined
        ? {
            businessTokenGate: {
              businessAccountId: number.businessAccountId,
              tokenVersion: businessGate.tokenVersion,
              since: iso(businessGate.since),
              code: businessGate.code,
              liftedBy: tokenGateLiftedBy(number.businessAccountId),
            },
          }
        : {}),
    },
    olderAttempts: history.length - inWindow.length,
    notes,
  };
}

/** Reads the ledger (number item, request history, app gates) and builds the view. */
export async function readStatus(ledger: AttemptLedger, phoneNumberId: string, policy: BudgetPolicy, now: number): Promise<StatusView> {
  const [number, history, app] = await Promise.all([ledger.number(phoneNumberId), ledger.history(phoneNumberId), ledger.appGates()]);
  return buildStatus(number, history, app, policy, now);
}

/** The people view: holds and gates first, then a bar per counter with the window's requests. */
export function renderStatus(view: StatusView): string {
  const now = Date.parse(view.now);
  const lines: string[] = [];
  const budget = view.policy.shared ? 'shared by register and deregister' : 'separate for register and deregister';
  const margin = view.policy.marginMinutes > 0 ? ` (+ ${view.policy.marginMinutes} min margin)` : '';
  lines.push(`Number ${view.phoneNumberId}: ${view.policy.limit} requests per ${view.policy.windowHours} h${margin}, ${budget} (now ${formatTime(now)})`);
  if (view.businessAccountId) lines.push(`Business account (WABA) ${view.businessAccountId}`);
  if (view.accountHold) lines.push('', ...renderHold('ACCOUNT HELD', view.accountHold, now));
  if (view.hold) lines.push('', ...renderHold('HELD', view.hold, now));
  if (view.nameApproval) lines.push('', renderNameApproval(view.nameApproval, now));
  if (view.app.throttledUntil) {
    const until = Date.parse(view.app.throttledUntil);
    lines.push('', `APP THROTTLED by Meta until ${formatTime(until)} (${formatRelative(until, now)}): every job, for every number, waits`);
  }
  if (view.app.businessThrottledUntil) {
    const until = Date.parse(view.app.businessThrottledUntil);
    const whose = view.businessAccountId === undefined ? 'a business (this number\'s business is not known yet)' : `business ${view.businessAccountId}`;
    lines.push('', `BUSINESS THROTTLED: Meta throttles ${whose} until ${formatTime(until)} (${formatRelative(until, now)}): this number's jobs wait`);
  }
  if (view.app.tokenGate) {
    const gate = view.app.tokenGate;
    lines.push('', `TOKEN GATE closed since ${formatTime(Date.parse(gate.since))} (code ${gate.code}, token version ${gate.tokenVersion}): every job on the default token is held`);
    lines.push(`  ${gate.liftedBy}`);
  }
  if (view.app.businessTokenGate) {
    const gate = view.app.businessTokenGate;
    lines.push('', `BUSINESS TOKEN GATE closed since ${formatTime(Date.parse(gate.since))} (code ${gate.code}, token version ${gate.tokenVersion}): every job of business ${gate.businessAccountId} is held`);
    lines.push(`  ${gate.liftedBy}`);
  }
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
    for (const slot of view.reserved.filter((entry) => scope.operations.includes(entry.operation))) {
      const until = Date.parse(slot.until);
      lines.push(`  1 slot reserved for the ${slot.operation} of job ${slot.jobKey} (in progress) until ${formatTime(until)} (${formatRelative(until, now)})`);
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
  if (view.lastSuccess) {
    const at = Date.parse(view.lastSuccess.at);
    lines.push('', `Last success: ${view.lastSuccess.operation} at ${formatTime(at)} (${formatRelative(at, now)}).`);
  }
  if (view.olderAttempts > 0) lines.push('', `${view.olderAttempts} older request(s) on the ledger no longer count.`);
  for (const note of view.notes) lines.push('', `Note: ${note}.`);
  return lines.join('\n');
}

function statusHold(phoneNumberId: string, hold: NumberHold, now: number): StatusHold {
  return {
    cause: hold.cause,
    since: iso(hold.since),
    ...(hold.until === undefined ? {} : { until: iso(hold.until) }),
    ...(hold.pinVersion === undefined ? {} : { secretVersion: hold.pinVersion }),
    ...(hold.code === undefined ? {} : { code: hold.code }),
    detail: hold.detail,
    liftedBy: holdLiftedBy(phoneNumberId, hold, now),
  };
}

function renderHold(label: string, hold: StatusHold, now: number): string[] {
  const facts = [
    hold.code === undefined ? undefined : `code ${hold.code}`,
    hold.secretVersion === undefined ? undefined : `PIN version ${hold.secretVersion}`,
    hold.until === undefined ? undefined : `until ${formatTime(Date.parse(hold.until))} (${formatRelative(Date.parse(hold.until), now)})`,
  ].filter(Boolean);
  return [`${label} (${hold.cause}) since ${formatTime(Date.parse(hold.since))}${facts.length > 0 ? `, ${facts.join(', ')}` : ''}: ${hold.detail}`, `  ${hold.liftedBy}`];
}

/** "re-register by …", and whether it was met: an approval lapses 14 days after Meta gave it. */
function renderNameApproval(approval: NonNullable<StatusView['nameApproval']>, now: number): string {
  const by = Date.parse(approval.reRegisterBy);
  const name = approval.requestedName === undefined ? 'new display name' : `display name "${approval.requestedName}"`;
  const approved = `${name} approved ${formatTime(Date.parse(approval.approvedAt))}`;
  if (approval.met) return `Name: ${approved}; re-registered since (met).`;
  if (by <= now) return `Name: ${approved}; re-register by ${formatTime(by)} MISSED: the approval has lapsed, submit the name again.`;
  return `Name: ${approved}; re-register by ${formatTime(by)} (${formatRelative(by, now)}), not yet met.`;
}

function toStatusAttempt(attempt: AttemptRecord): StatusAttempt {
  return {
    at: iso(attempt.at),
    operation: attempt.operation,
    reason: attempt.reason,
    outcome: attempt.outcome,
    ...(attempt.code === undefined ? {} : { code: attempt.code }),
    ...(attempt.httpStatus === undefined ? {} : { httpStatus: attempt.httpStatus }),
    ...(attempt.fbtraceId === undefined ? {} : { fbtraceId: attempt.fbtraceId }),
    jobKey: attempt.jobKey,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();
const indent = (text: string, prefix: string) => text.split('\n').map((line) => prefix + line).join('\n');
