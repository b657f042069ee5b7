import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { createAwsClients } from '../../shared/aws-clients.ts';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import type { AttemptLedger, ReserveRequest } from '../../shared/ledger/port.ts';
import { provisionLocalStack } from '../../tools/local-stack.ts';
import { InMemoryAttemptLedger } from '../support/in-memory-ledger.ts';

// The same behaviour from the DynamoDB adapter (on moto) and the in-memory one the benchmark and unit tests use.
const ledgers: Array<[string, () => Promise<AttemptLedger>]> = [
  [
    'DynamoDbAttemptLedger on moto',
    async () => {
      const clients = createAwsClients();
      const stack = await provisionLocalStack({ endpoint: process.env.AWS_ENDPOINT_URL!, region: process.env.AWS_REGION!, namePrefix: `lc-${randomUUID().slice(0, 8)}` }, clients);
      return new DynamoDbAttemptLedger(clients.dynamodb, stack.ledgerTableName);
    },
  ],
  ['InMemoryAttemptLedger', async () => new InMemoryAttemptLedger()],
];

describe.each(ledgers)('%s', (_name, create) => {
  let ledger: AttemptLedger;
  beforeEach(async () => {
    ledger = await create();
  });

  const reserveFrom = async (jobKey: string, attemptId: string, now = 1_000): Promise<ReserveRequest> => {
    const snapshot = await ledger.read('42', jobKey, ['all']);
    const spend = snapshot.budgets.all!;
    return {
      phoneNumberId: '42', operation: 'register', reason: 'manual', jobKey, generation: 0, leaseOwner: `${jobKey}-owner`,
      leaseUntil: now + 60_000, now, attemptId, spend, alsoUnchanged: [], ...(snapshot.job ? { expectedJob: snapshot.job } : {}),
      newAttemptTimes: [...spend.attemptTimes, now], attemptExpiresAt: now + 1e9, budgetExpiresAt: now + 1e9, jobExpiresAt: now + 1e9,
    };
  };

  it('reserves once per version read: a second writer with the same read conflicts', async () => {
    const first = await reserveFrom('a', 'att-1');
    const second = await reserveFrom('b', 'att-2');

    expect(await ledger.reserve(first)).toBe('reserved');
    expect(await ledger.reserve(second)).toBe('conflict');
    expect((await ledger.history('42')).map((attempt) => attempt.attemptId)).toEqual(['att-1']);
  });

  it('records the job in progress, then completes it with the outcome in one write', async () => {
    await ledger.reserve(await reserveFrom('job', 'att-1'));
    expect((await ledger.read('42', 'job', ['all'])).job).toMatchObject({ status: 'in_progress', leaseOwner: 'job-owner', lastAttempt: { attemptId: 'att-1', outcome: 'pending', at: 1_000 } });

    await ledger.recordOutcome({ phoneNumberId: '42', jobKey: 'job', attempt: { attemptId: 'att-1', at: 1_000, operation: 'register' }, outcome: 'success', durationMs: 5, httpStatus: 200, completesJob: { expiresAt: 9e9 } });

    const snapshot = await ledger.read('42', 'job', ['all']);
    expect(snapshot.job).toMatchObject({ status: 'completed', lastAttempt: { outcome: 'success' } });
    expect(snapshot.job?.leaseOwner).toBeUndefined();
    expect(snapshot.lastSuccess).toEqual({ operation: 'register', at: 1_000 });
    expect(snapshot.budgets.all).toMatchObject({ attemptTimes: [1_000], version: 1 });
  });

  it('refuses to finish a job whose lease another delivery holds, until the lease ends', async () => {
    await ledger.reserve(await reserveFrom('job', 'att-1'));
    const finish = { phoneNumberId: '42', jobKey: 'job', status: 'dead_lettered' as const, generation: 0, leaseOwner: 'someone-else', expiresAt: 9e9 };

    expect(await ledger.finishJob({ ...finish, now: 2_000 })).toBe('lost_lease');
    expect(await ledger.finishJob({ ...finish, now: 1_000 + 60_001 })).toBe('finished');
    expect((await ledger.read('42', 'job', ['all'])).job).toMatchObject({ status: 'dead_lettered' });
  });

  it('blocks the named counters and changes their version', async () => {
    await ledger.block({ phoneNumberId: '42', scopes: ['register', 'deregister'], until: 5_000, now: 1_000 });

    const budgets = await ledger.budgets('42');
    expect(budgets.map((budget) => [budget.scope, budget.blockedUntil, budget.version]).sort()).toEqual([
      ['deregister', 5_000, 1],
      ['register', 5_000, 1],
    ]);
  });

  it('keeps the later end of an app-wide throttle, for every number', async () => {
    await ledger.throttleApp(9_000);
    await ledger.throttleApp(5_000);

    expect((await ledger.read('42', 'x', ['all'])).throttledUntil).toBe(9_000);
    expect((await ledger.read('7', 'y', ['all'])).throttledUntil).toBe(9_000);
  });
});
