import { describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../shared/dead-letters/index.ts';
import { deadLetterSummary, renderDeadLetterTable } from '../../bin/views/dead-letters.ts';

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
const letter = (messageId: string, extra: Partial<DeadLetter> = {}): DeadLetter => ({
  messageId,
  receiptHandle: 'r',
  category: 'token_rejected',
  phoneNumberId: '42',
  action: 'register',
  deadLetteredAt: NOW - 60_000,
  redriveGeneration: 0,
  ...extra,
});

describe('dlq list shows the business (Solution Partners)', () => {
  it('adds a BUSINESS column from the job, or from the business token or account that held it', () => {
    // Prepare: one job that named its business, one held on a business token, one with neither
    const fromJob = letter('m-1', { job: { schemaVersion: 1, action: 'register', phoneNumberId: '42', reason: 'manual', businessAccountId: '900' } });
    const fromHold = letter('m-2', {
      envelope: { hold: { cause: 'token_rejected', since: new Date(NOW).toISOString(), businessAccountId: '901' } } as DeadLetter['envelope'],
    });
    const plain = letter('m-3');
    // Act
    const table = renderDeadLetterTable([fromJob, fromHold, plain], NOW);
    // Assess
    const [header, ...rows] = table.split('\n');
    expect(header).toMatch(/^MESSAGE ID\s+NUMBER\s+BUSINESS\s+ACTION/);
    expect(rows[0]).toMatch(/^m-1\s+42\s+900\s+register/);
    expect(rows[1]).toMatch(/^m-2\s+42\s+901\s+register/);
    expect(deadLetterSummary(fromHold, NOW).businessAccountId).toBe('901');
    expect(deadLetterSummary(plain, NOW).businessAccountId).toBeNull();
  });

  it('keeps the table as it was when no message names a business', () => {
    expect(renderDeadLetterTable([letter('m-3')], NOW).split('\n')[0]).not.toContain('BUSINESS');
  });
});
