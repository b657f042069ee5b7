import { DAY_MS } from '../../shared/clock.ts';
import { nameApprovalMet, type AttemptLedger, type NameDeadline } from '../../shared/ledger/port.ts';

/** Where one listed re-register deadline stands. */
export type DeadlineStanding = 'met' | 'at_risk' | 'missed' | 'open';

export interface DeadlineReport {
  phoneNumberId: string;
  businessAccountId?: string;
  approvedAt: number;
  deadline: number;
  standing: DeadlineStanding;
}

/**
 * A deadline is met once a register took effect after the approval (the ledger's number item says so); otherwise it
 * is missed once passed, at risk when less than `warnMs` away, else open. Pure.
 */
export function deadlineStanding(listed: NameDeadline, met: boolean, now: number, warnMs: number): DeadlineStanding {
  if (met) return 'met';
  if (listed.deadline <= now) return 'missed';
  return listed.deadline - now < warnMs ? 'at_risk' : 'open';
}

/**
 * One run of the watch: reads every listed deadline and its number, unlists the met ones, and reports the rest.
 * A deadline superseded by a newer approval is judged by the approval on the number item.
 */
export async function watchDeadlines(ledger: AttemptLedger, now: number, warnDays: number): Promise<DeadlineReport[]> {
  const listed = await ledger.deadlines();
  const reports: DeadlineReport[] = [];
  for (const entry of listed) {
    const number = await ledger.number(entry.phoneNumberId);
    const approval = number.nameApproval;
    // The number item knows the latest approval; a listing for an older one is judged by the newer one.
    const current: NameDeadline = approval && approval.approvedAt >= entry.approvedAt ? { ...entry, approvedAt: approval.approvedAt, deadline: approval.deadline } : entry;
    const standing = deadlineStanding(current, nameApprovalMet(number) && approval !== undefined, now, warnDays * DAY_MS);
    if (standing === 'met') await ledger.dropDeadline(entry.phoneNumberId, entry.approvedAt);
    reports.push({ phoneNumberId: entry.phoneNumberId, ...(entry.businessAccountId ? { businessAccountId: entry.businessAccountId } : {}), approvedAt: current.approvedAt, deadline: current.deadline, standing });
  }
  return reports;
}
