import { evaluateBudget, scopeFor, type BudgetPolicy, type BudgetScope, type LimitedOperation } from '../../shared/domain/budget.ts';
import { OPERATIONS_OF_ACTION } from '../../shared/domain/job-context.ts';
import type { JobV1 } from '../../shared/jobs/job.v1.ts';
import type { AttemptLedger } from '../../shared/ledger/port.ts';
import { formatRelative, formatTime } from '../views/format.ts';
import { scopesFor } from '../views/status.ts';

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


/** Requests each job may need, per counter. */
export function requestsNeeded(job: Pick<JobV1, 'action'>, policy: Pick<BudgetPolicy, 'shared'>): Partial<Record<BudgetScope, number>> {
  const needs: Partial<Record<BudgetScope, number>> = {};
  for (const operation of OPERATIONS_OF_ACTION[job.action]) {
    const scope = scopeFor(operation, policy);
    needs[scope] = (needs[scope] ?? 0) + 1;
  }
  return needs;
}

/**
 * Reads the number item of every number the jobs touch (a few at a time) and warns where the jobs together need
 * more requests than are left (window + margin, reservations of jobs in progress), or Meta blocked the number.
 * Warnings only: the worker refuses such jobs itself, with the same budget functions.
 */
export async function budgetWarnings(
  ledger: AttemptLedger,
  jobs: Array<Pick<JobV1, 'action' | 'phoneNumberId'>>,
  policy: BudgetPolicy,
  now: number,
  concurrency = 16,
): Promise<BudgetWarning[]> {
  const perNumber = new Map<string, LimitedOperation[]>();
  for (const job of jobs) perNumber.set(job.phoneNumberId, [...(perNumber.get(job.phoneNumberId) ?? []), ...OPERATIONS_OF_ACTION[job.action]]);
  const entries = [...perNumber.entries()];
  const warnings: Array<BudgetWarning | undefined> = new Array(entries.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, entries.length) }, async () => {
    while (next < entries.length) {
      const index = next++;
      const [phoneNumberId, needs] = entries[index]!;
      const number = await ledger.number(phoneNumberId);
      for (const scope of scopesFor(policy)) {
        const wanted = needs.filter((operation) => scopeFor(operation, policy) === scope);
        if (wanted.length === 0) continue;
        const verdict = evaluateBudget(number, wanted, now, policy);
        if (verdict.allowed) continue;
        const left = Math.max(0, policy.limit - verdict.used);
        const when = ` until ${formatTime(verdict.until)} (${formatRelative(verdict.until, now)})`;
        const what = scope === 'all' ? 'register/deregister' : scope;
        const message =
          verdict.why === 'blocked'
            ? `number ${phoneNumberId} is blocked by Meta for ${what}${when}; its jobs will be dead-lettered as rate_limited and redriven after that`
            : `number ${phoneNumberId} has ${left} of ${policy.limit} ${what} slots left and these jobs need ${wanted.length}; ` +
              `the rest wait${when} (dead-lettered as rate_limited, then redriven)`;
        warnings[index] = {
          phoneNumberId,
          scope,
          why: verdict.why,
          needed: wanted.length,
          left,
          reopensAt: new Date(verdict.until).toISOString(),
          message,
        };
        break;
      }
    }
  });
  await Promise.all(workers);
  return warnings.filter((warning): warning is BudgetWarning => warning !== undefined);
}
