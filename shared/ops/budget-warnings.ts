import { scopeFor, type BudgetPolicy, type BudgetScope } from '../domain/budget.ts';
import type { JobV1 } from '../jobs/job.v1.ts';
import type { AttemptLedger } from '../ledger/port.ts';
import { formatRelative, formatTime } from './format.ts';
import { blockingScope, readStatus } from './status.ts';

/** A number whose jobs cannot all run now; the worker will dead-letter them as rate_limited (no attempt spent). */
export interface BudgetWarning {
  phoneNumberId: string;
  scope: BudgetScope;
  why: 'blocked' | 'window_full';
  needed: number;
  left: number;
  /** ISO time the number can take the requests again, when known. */
  reopensAt?: string;
  message: string;
}

/** Requests each job may need, per counter: set_localization is a deregister and a register. */
export function requestsNeeded(job: Pick<JobV1, 'action'>, policy: Pick<BudgetPolicy, 'shared'>): Partial<Record<BudgetScope, number>> {
  const needs: Partial<Record<BudgetScope, number>> = {};
  const add = (operation: 'register' | 'deregister') => {
    const scope = scopeFor(operation, policy);
    needs[scope] = (needs[scope] ?? 0) + 1;
  };
  if (job.action === 'register' || job.action === 'set_localization') add('register');
  if (job.action === 'deregister' || job.action === 'set_localization') add('deregister');
  return needs;
}

/**
 * Reads the ledger of every number the jobs touch (a few at a time) and warns where the jobs together need more
 * requests than are left, or Meta blocked the number. Warnings only: the worker refuses such jobs itself.
 */
export async function budgetWarnings(
  ledger: AttemptLedger,
  jobs: Array<Pick<JobV1, 'action' | 'phoneNumberId'>>,
  policy: BudgetPolicy,
  now: number,
  concurrency = 16,
): Promise<BudgetWarning[]> {
  const perNumber = new Map<string, Partial<Record<BudgetScope, number>>>();
  for (const job of jobs) {
    const needs = perNumber.get(job.phoneNumberId) ?? {};
    for (const [scope, count] of Object.entries(requestsNeeded(job, policy)) as Array<[BudgetScope, number]>) {
      needs[scope] = (needs[scope] ?? 0) + count;
    }
    perNumber.set(job.phoneNumberId, needs);
  }
  const entries = [...perNumber.entries()];
  const warnings: Array<BudgetWarning | undefined> = new Array(entries.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, entries.length) }, async () => {
    while (next < entries.length) {
      const index = next++;
      const [phoneNumberId, needs] = entries[index]!;
      const view = await readStatus(ledger, phoneNumberId, policy, now);
      const blocking = blockingScope(view, needs);
      if (!blocking) continue;
      const { scope, needed, until } = blocking;
      const when = until === undefined ? '' : ` until ${formatTime(until)} (${formatRelative(until, now)})`;
      const what = scope.scope === 'all' ? 'register/deregister' : scope.scope;
      const message = scope.blockedUntil
        ? `number ${phoneNumberId} is blocked by Meta for ${what}${when}; its jobs will be dead-lettered as rate_limited and redriven after that`
        : `number ${phoneNumberId} has ${scope.left} of ${scope.limit} ${what} slots left and these jobs need ${needed}; ` +
          `the rest wait${when} (dead-lettered as rate_limited, then redriven)`;
      warnings[index] = {
        phoneNumberId,
        scope: scope.scope,
        why: scope.blockedUntil ? 'blocked' : 'window_full',
        needed,
        left: scope.left,
        ...(until === undefined ? {} : { reopensAt: new Date(until).toISOString() }),
        message,
      };
    }
  });
  await Promise.all(workers);
  return warnings.filter((warning): warning is BudgetWarning => warning !== undefined);
}
