import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS } from '../../shared/clock.ts';
import { deadlineStanding, watchDeadlines } from '../../functions/deadline-watch/watch.ts';
import { InMemoryAttemptLedger } from '../support/in-memory-ledger.ts';
import { updateNumber } from '../support/ops-helpers.ts';

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
const WARN = 3 * DAY_MS;

describe('name-approval deadlines', () => {
  it.each([
    ['met once registered after the approval, whatever the date', true, NOW - DAY_MS, 'met'],
    ['missed once passed and not met', false, NOW - 1, 'missed'],
    ['at risk when less than the warning away', false, NOW + WARN - 1, 'at_risk'],
    ['open when further away', false, NOW + WARN, 'open'],
  ] as const)('%s', (_name, met, deadline, standing) => {
    expect(deadlineStanding({ phoneNumberId: '42', approvedAt: deadline - 14 * DAY_MS, deadline }, met, NOW, WARN)).toBe(standing);
  });

  it('reports each listed deadline from its number item, and unlists the met ones only', async () => {
    // Prepare: 42 re-registered after its approval; 43 approved 12 days ago, not re-registered; 44 approved today
    const ledger = new InMemoryAttemptLedger();
    const approve = async (id: string, approvedAt: number, registeredAt?: number) => {
      const nameApproval = { approvedAt, deadline: approvedAt + 14 * DAY_MS, changeId: id.repeat(32) };
      await updateNumber(ledger, id, (number) => ({ ...number, nameApproval, ...(registeredAt ? { lastSuccess: { operation: 'register' as const, at: registeredAt } } : {}) }));
      const current = await ledger.number(id);
      await ledger.commit({ phoneNumberId: id, number: { ...current, version: current.version + 1 }, deadline: { phoneNumberId: id, approvedAt, deadline: nameApproval.deadline }, expiresAt: { number: NOW + DAY_MS, job: 0, attempt: 0 } }, `list-${id}`);
    };
    await approve('42', NOW - 2 * DAY_MS, NOW - DAY_MS);
    await approve('43', NOW - 12 * DAY_MS);
    await approve('44', NOW - HOUR_MS);
    // Act
    const reports = await watchDeadlines(ledger, NOW, 3);
    // Assess
    expect(reports.map((report) => [report.phoneNumberId, report.standing]).sort()).toEqual([['42', 'met'], ['43', 'at_risk'], ['44', 'open']]);
    expect((await ledger.deadlines()).map((listed) => listed.phoneNumberId).sort()).toEqual(['43', '44']);
  });
});
