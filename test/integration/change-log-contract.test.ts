import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChangeLog, ClaimRequest } from '../../shared/webhooks/change-log.ts';
import { CHANGE_LOG_KEYS, DynamoDbChangeLog } from '../../shared/webhooks/dynamodb-change-log.ts';
import { InMemoryChangeLog } from '../support/in-memory-webhook-ports.ts';

const NOW = Date.UTC(2026, 10, 25, 12);
const TIMEOUT = 30_000;
const DAYS_8 = 8 * 86_400_000;
const claim = (log: ChangeLog, changeId: string, now = NOW): ReturnType<ChangeLog['claim']> =>
  log.claim({ changeId, detailType: 'PinChanged', now, claimTimeoutMs: TIMEOUT, retainMs: DAYS_8 } satisfies ClaimRequest);

let tableName = '';
beforeAll(async () => {
  tableName = `contract-${randomUUID().slice(0, 8)}-webhook-changes`;
  await new DynamoDBClient().send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: CHANGE_LOG_KEYS.partitionKey, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: CHANGE_LOG_KEYS.partitionKey, AttributeType: 'S' }],
    }),
  );
});

// The in-memory log stands in for DynamoDB in unit tests and the benchmark: both must behave the same.
describe.each([
  ['DynamoDB (moto)', () => new DynamoDbChangeLog(new DynamoDBClient(), tableName)],
  ['in memory', () => new InMemoryChangeLog()],
])('the change log on %s', (_name, build) => {
  const id = () => randomUUID().replaceAll('-', '').padEnd(64, '0');

  it('lets one claim win, then reports the change in progress', async () => {
    const log = build();
    const change = id();
    expect(await claim(log, change)).toMatchObject({ kind: 'claimed', claimId: expect.any(String) });
    expect(await claim(log, change)).toEqual({ kind: 'in_progress' });
  });

  it('reports a published change as published, for as long as the marker is kept', async () => {
    const log = build();
    const change = id();
    const first = await claim(log, change);
    expect(first.kind === 'claimed' && (await log.markPublished(change, first.claimId, NOW))).toBe(true);
    expect(await claim(log, change, NOW + 7 * 86_400_000)).toEqual({ kind: 'published' });
    // Past its TTL the marker counts as gone, whether or not DynamoDB has deleted it yet.
    expect(await claim(log, change, NOW + DAYS_8 + 2_000)).toMatchObject({ kind: 'claimed' });
  });

  it('frees a released claim at once', async () => {
    const log = build();
    const change = id();
    const first = await claim(log, change);
    if (first.kind !== 'claimed') throw new Error('expected a claim');
    await log.release(change, first.claimId);
    expect(await claim(log, change)).toMatchObject({ kind: 'claimed' });
  });

  it('lets a stale claim be taken over, after which the old claim can neither mark nor release', async () => {
    const log = build();
    const change = id();
    const crashed = await claim(log, change);
    if (crashed.kind !== 'claimed') throw new Error('expected a claim');
    expect(await claim(log, change, NOW + TIMEOUT)).toEqual({ kind: 'in_progress' });
    const takeover = await claim(log, change, NOW + TIMEOUT + 1);
    expect(takeover).toMatchObject({ kind: 'claimed' });
    await log.release(change, crashed.claimId);
    expect(await log.markPublished(change, crashed.claimId, NOW)).toBe(false);
    expect(await claim(log, change, NOW + TIMEOUT + 2)).toEqual({ kind: 'in_progress' });
    expect(takeover.kind === 'claimed' && (await log.markPublished(change, takeover.claimId, NOW))).toBe(true);
    expect(await claim(log, change, NOW + 10 * TIMEOUT)).toEqual({ kind: 'published' });
  });

  it('gives exactly one of 8 concurrent claims', async () => {
    const log = build();
    const change = id();
    const results = await Promise.all(Array.from({ length: 8 }, () => claim(log, change)));
    expect(results.filter((result) => result.kind === 'claimed')).toHaveLength(1);
  });
});
