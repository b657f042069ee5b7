import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { createAwsClients } from '../../shared/aws-clients.ts';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import { emptyNumber, type AttemptLedger, type AttemptRecord, type JobRecord, type LedgerChanges, type NumberRecord } from '../../shared/ledger/port.ts';
import { provisionEmulatorResources } from '../../tools/emulator-resources.ts';
import { InMemoryAttemptLedger } from '../support/in-memory-ledger.ts';

interface Subject {
  ledger: AttemptLedger;
  /**
   * moto ignores ClientRequestToken (DynamoDB deduplicates a retried transaction by it for 10 minutes), so on moto
   * the contract checks the adapter sends the token; the in-memory ledger shows the behaviour itself.
   */
  sentTokens?: string[];
}

// The same behaviour from the DynamoDB adapter (on moto) and the in-memory one the unit tests and the model use.
const ledgers: Array<[string, () => Promise<Subject>]> = [
  [
    'DynamoDbAttemptLedger on moto',
    async () => {
      const clients = createAwsClients();
      const stack = await provisionEmulatorResources({ endpoint: process.env.AWS_ENDPOINT_URL!, region: process.env.AWS_REGION!, namePrefix: `lc-${randomUUID().slice(0, 8)}` }, clients);
      const sentTokens: string[] = [];
      clients.dynamodb.middlewareStack.add(
        (next) => async (args) => {
          const token = (args.input as { ClientRequestToken?: string }).ClientRequestToken;
          if (token !== undefined) sentTokens.push(token);
          return next(args);
        },
        { step: 'initialize', name: 'captureClientRequestToken' },
      );
      return { ledger: new DynamoDbAttemptLedger(clients.dynamodb, stack.ledgerTableName), sentTokens };
    },
  ],
  ['InMemoryAttemptLedger', async () => ({ ledger: new InMemoryAttemptLedger() })],
];

const T = 1_764_000_000_000;
const KEEP = { number: T + 1e10, job: T + 1e10, attempt: T + 1e10 };

const numberAt = (version: number, extra: Partial<NumberRecord> = {}): NumberRecord => ({ ...emptyNumber('42'), version, ...extra });
const jobAt = (version: number, extra: Partial<JobRecord> = {}): JobRecord => ({
  jobKey: 'job-a',
  version,
  status: 'in_progress',
  generation: 0,
  leaseOwner: 'm-1#1',
  leaseUntil: T + 60_000,
  progress: {},
  uncertain: 0,
  ...extra,
});
const attempt = (attemptId: string, at: number, extra: Partial<AttemptRecord> = {}): AttemptRecord => ({
  attemptId,
  phoneNumberId: '42',
  operation: 'register',
  at,
  reason: 'manual',
  jobKey: 'job-a',
  outcome: 'pending',
  ...extra,
});
const changes = (extra: Omit<LedgerChanges, 'phoneNumberId' | 'expiresAt'>): LedgerChanges => ({ phoneNumberId: '42', expiresAt: KEEP, ...extra });

describe.each(ledgers)('%s', (_name, create) => {
  let ledger: AttemptLedger;
  let sentTokens: string[] | undefined;
  beforeEach(async () => {
    ({ ledger, sentTokens } = await create());
  });

  it('reads an untouched number as empty, with no job and closed-nothing app gates', async () => {
    // Act
    const snapshot = await ledger.read('42', 'job-a');
    // Assess
    expect(snapshot).toEqual({ number: emptyNumber('42'), app: { version: 0 } });
    expect(await ledger.number('42')).toEqual(emptyNumber('42'));
    expect(await ledger.appGates()).toEqual({ version: 0 });
    expect(await ledger.history('42')).toEqual([]);
  });

  it('stores whole items and reads them back exactly: number, job and app in one commit', async () => {
    // Prepare
    const number = numberAt(1, {
      spent: [{ at: T - 5, operation: 'any' }, { at: T, operation: 'register' }],
      reserved: [{ jobKey: 'job-a', operation: 'register', at: T, until: T + 60_000 }],
      blockedUntil: { deregister: T + 1_000 },
      hold: { cause: 'pin_locked', since: T, until: T + 9_000, pinVersion: 'pin-v1', code: 133008, detail: 'error 133008 on a register' },
      lastSuccess: { operation: 'deregister', at: T - 5 },
      lastPinVersion: 'pin-v1',
    });
    const job = jobAt(1, {
      jobHash: 'h',
      progress: { deregisterDone: true },
      uncertain: 1,
      lastAttempt: { attemptId: 'a-1', at: T, operation: 'register', outcome: 'unknown', code: 131000 },
      decision: { category: 'pin_locked', reason: 'r', hint: 'h', eligibleAt: T + 9_000, hold: { cause: 'pin_locked', since: T, until: T + 9_000, secretVersion: 'pin-v1', code: 133008 } },
    });
    const app = { version: 1, throttledUntil: T + 500, tokenGate: { tokenVersion: 'tok-1', since: T, code: 190 } };
    // Act
    const result = await ledger.commit(changes({ number, job, app }), randomUUID());
    const snapshot = await ledger.read('42', 'job-a');
    // Assess
    expect(result).toBe('committed');
    expect(snapshot).toEqual({ number, job, app });
    expect(await ledger.number('42')).toEqual(number);
    expect(await ledger.appGates()).toEqual(app);
    expect((await ledger.read('7', 'other')).app).toEqual(app);
  });

  it('commits once per version read: the second writer with the same read conflicts and writes nothing', async () => {
    // Prepare
    await ledger.commit(changes({ number: numberAt(1) }), randomUUID());
    const read = await ledger.number('42');
    const first = changes({ number: { ...read, version: read.version + 1, spent: [{ at: T, operation: 'register' }] }, attempt: { create: attempt('a-1', T) } });
    const second = changes({ number: { ...read, version: read.version + 1, spent: [{ at: T + 1, operation: 'register' }] }, attempt: { create: attempt('a-2', T + 1) } });
    // Act
    const results = [await ledger.commit(first, randomUUID()), await ledger.commit(second, randomUUID())];
    // Assess: all or nothing, so the loser's attempt item is not there either.
    expect(results).toEqual(['committed', 'conflict']);
    expect((await ledger.number('42')).spent).toEqual([{ at: T, operation: 'register' }]);
    expect((await ledger.history('42')).map((entry) => entry.attemptId)).toEqual(['a-1']);
  });

  it('version 1 means "must not exist yet": creating an item twice conflicts', async () => {
    // Act
    const results = [
      await ledger.commit(changes({ job: jobAt(1) }), randomUUID()),
      await ledger.commit(changes({ job: jobAt(1, { status: 'completed' }) }), randomUUID()),
    ];
    // Assess
    expect(results).toEqual(['committed', 'conflict']);
    expect((await ledger.read('42', 'job-a')).job?.status).toBe('in_progress');
  });

  it('one conflicting item cancels the whole commit (the number write is not applied either)', async () => {
    // Prepare
    await ledger.commit(changes({ job: jobAt(1) }), randomUUID());
    // Act: the number is new (fine) but the job version is stale.
    const result = await ledger.commit(changes({ number: numberAt(1, { spent: [{ at: T, operation: 'register' }] }), job: jobAt(1) }), randomUUID());
    // Assess
    expect(result).toBe('conflict');
    expect(await ledger.number('42')).toEqual(emptyNumber('42'));
  });

  it('a retried commit with the same token is idempotent: committed again, applied once', async () => {
    // Prepare
    const token = randomUUID();
    const commit = changes({ number: numberAt(1, { spent: [{ at: T, operation: 'register' }] }), attempt: { create: attempt('a-1', T) } });
    // Act
    const first = await ledger.commit(commit, token);
    const retried = sentTokens ? undefined : await ledger.commit(commit, token);
    // Assess
    expect(first).toBe('committed');
    if (sentTokens) {
      // DynamoDB's ClientRequestToken (at most 36 characters) is what makes the retry idempotent there.
      expect(sentTokens).toEqual([token]);
    } else {
      expect(retried).toBe('committed');
    }
    expect(await ledger.number('42')).toMatchObject({ version: 1, spent: [{ at: T, operation: 'register' }] });
    expect(await ledger.history('42')).toHaveLength(1);
  });

  it('checks the app gates\' version without writing them (a reservation made while the gates changed conflicts)', async () => {
    // Prepare
    await ledger.commit(changes({ app: { version: 1, throttledUntil: T } }), randomUUID());
    // Act
    const stale = await ledger.commit(changes({ number: numberAt(1), checkApp: 0 }), randomUUID());
    const current = await ledger.commit(changes({ number: numberAt(1), checkApp: 1 }), randomUUID());
    // Assess
    expect([stale, current]).toEqual(['conflict', 'committed']);
    expect(await ledger.appGates()).toEqual({ version: 1, throttledUntil: T });
  });

  it('an attempt is created only if new and updated only if it exists (TTL may have removed it)', async () => {
    // Act
    const updateMissing = await ledger.commit(changes({ attempt: { update: attempt('a-1', T, { outcome: 'success' }) } }), randomUUID());
    const createNew = await ledger.commit(changes({ attempt: { create: attempt('a-1', T) } }), randomUUID());
    const createAgain = await ledger.commit(changes({ attempt: { create: attempt('a-1', T) } }), randomUUID());
    const updateExisting = await ledger.commit(
      changes({ attempt: { update: attempt('a-1', T, { outcome: 'success', httpStatus: 200, durationMs: 812, pinVersion: 'pin-v1', tokenVersion: 'tok-1' }) } }),
      randomUUID(),
    );
    // Assess
    expect([updateMissing, createNew, createAgain, updateExisting]).toEqual(['conflict', 'committed', 'conflict', 'committed']);
    expect(await ledger.history('42')).toEqual([attempt('a-1', T, { outcome: 'success', httpStatus: 200, durationMs: 812, pinVersion: 'pin-v1', tokenVersion: 'tok-1' })]);
  });

  it('returns the number\'s requests oldest first, and only that number\'s', async () => {
    // Prepare: written out of order, one for another number.
    for (const [id, at] of [['a-3', T + 3_000], ['a-1', T + 1_000], ['a-2', T + 2_000]] as const) {
      await ledger.commit(changes({ attempt: { create: attempt(id, at) } }), randomUUID());
    }
    await ledger.commit({ phoneNumberId: '43', expiresAt: KEEP, attempt: { create: { ...attempt('b-1', T), phoneNumberId: '43' } } }, randomUUID());
    // Act
    const history = await ledger.history('42');
    // Assess
    expect(history.map((entry) => [entry.attemptId, entry.at])).toEqual([
      ['a-1', T + 1_000],
      ['a-2', T + 2_000],
      ['a-3', T + 3_000],
    ]);
    expect((await ledger.history('43')).map((entry) => entry.phoneNumberId)).toEqual(['43']);
  });

  it('number() and appGates() read what read() reads, and removing a key from an item removes it', async () => {
    // Prepare
    await ledger.commit(changes({ number: numberAt(1, { hold: { cause: 'needs_verification', since: T, detail: 'verification EXPIRED' } }), app: { version: 1, tokenGate: { tokenVersion: 'tok-1', since: T, code: 190 } } }), randomUUID());
    // Act: clear the hold and the gate, as `hold clear` does.
    const cleared = await ledger.commit(changes({ number: numberAt(2), app: { version: 2 } }), randomUUID());
    const snapshot = await ledger.read('42', 'job-a');
    // Assess
    expect(cleared).toBe('committed');
    expect(await ledger.number('42')).toEqual(snapshot.number);
    expect(await ledger.appGates()).toEqual(snapshot.app);
    expect(snapshot.number).toEqual(numberAt(2));
    expect(snapshot.app).toEqual({ version: 2 });
  });
  it('stores a business item and a number with its webhook facts in one commit, under both versions', async () => {
    // Prepare
    const business = { businessAccountId: '900', version: 1, numbers: { '15550783881': '42' }, listedAt: T, account: { state: 'restricted' as const, at: T, event: 'ACCOUNT_RESTRICTION' } };
    const accountHold = { cause: 'account_restricted' as const, since: T, businessAccountId: '900', detail: 'ACCOUNT_RESTRICTION' };
    const nameApproval = { approvedAt: T, deadline: T + 14 * 86_400_000, changeId: 'c'.repeat(64), requestedName: 'Acme' };
    const number = numberAt(1, { businessAccountId: '900', accountHold, nameApproval });
    const deadline = { phoneNumberId: '42', approvedAt: T, deadline: nameApproval.deadline, businessAccountId: '900' };
    // Act
    const first = await ledger.commit({ ...changes({ number }), business, deadline }, randomUUID());
    const stale = await ledger.commit({ phoneNumberId: '42', expiresAt: KEEP, business: { ...business, numbers: {} } }, randomUUID());
    // Assess
    expect([first, stale]).toEqual(['committed', 'conflict']);
    expect(await ledger.business('900')).toEqual(business);
    expect(await ledger.business('901')).toEqual({ businessAccountId: '901', version: 0, numbers: {} });
    expect(await ledger.number('42')).toEqual(number);
    expect(await ledger.deadlines()).toEqual([deadline]);
  });

  it('unlists a deadline only for the approval it lists (a newer approval keeps its listing)', async () => {
    // Prepare
    const listed = { phoneNumberId: '42', approvedAt: T + 1000, deadline: T + 2000 };
    await ledger.commit({ ...changes({ number: numberAt(1) }), deadline: listed }, randomUUID());
    // Act
    await ledger.dropDeadline('42', T);
    const afterOlder = await ledger.deadlines();
    await ledger.dropDeadline('42', T + 1000);
    // Assess
    expect(afterOlder).toEqual([listed]);
    expect(await ledger.deadlines()).toEqual([]);
  });

  it("keeps a number's webhook events oldest first, the same change once", async () => {
    // Act
    const later = { at: T + 5, detailType: 'PinChanged', changeId: 'b'.repeat(64), summary: 'PIN_CHANGED' };
    const earlier = { at: T, detailType: 'PhoneNumberNameUpdated', changeId: 'a'.repeat(64), summary: 'APPROVED' };
    await ledger.recordEvent('42', later, T + 1e10);
    await ledger.recordEvent('42', earlier, T + 1e10);
    await ledger.recordEvent('42', later, T + 1e10);
    // Assess
    expect(await ledger.events('42')).toEqual([earlier, later]);
    expect(await ledger.events('43')).toEqual([]);
  });
});
