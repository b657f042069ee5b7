import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock.ts';
import { eventDeadLetterV1Schema, type EventDeadLetterV1 } from '../../shared/events/event-dead-letter.v1.ts';
import { NumberDirectory } from '../../shared/events/number-directory.ts';
import type { EventDetailType } from '../../shared/events/registrar-events.v1.ts';
import { runEvent, type EventDeps, type EventOutcome } from '../../shared/events/run-event.ts';
import type { ListedNumber, NumberListResult } from '../../shared/graph/port.ts';
import type { JobV1Input } from '../../shared/jobs/job.v1.ts';
import type { LedgerChanges } from '../../shared/ledger/port.ts';
import type { SecretLookup } from '../../shared/secrets/port.ts';
import { T0, WABA, accountUpdated, bridgeBody, iso, nameUpdated, pinEvent, reRegistration } from '../support/event-factories.ts';
import { InMemoryAttemptLedger } from '../support/in-memory-ledger.ts';

const TARGET = '106540352242922';
const DECOY = '106540352242933';
const MINUTE = 60_000;
const LISTED: ListedNumber[] = [
  { id: TARGET, displayPhoneNumber: '+1 555-078-3881' },
  { id: DECOY, displayPhoneNumber: '+1 555-078-3882' },
];

/** A Graph port that answers lists from a script (then the business's numbers) and counts the reads. */
class ScriptedGraph {
  readonly lists: string[] = [];
  readonly script: NumberListResult[] = [];
  numbers: ListedNumber[] = LISTED;
  async listPhoneNumbers(businessAccountId: string, _token: string): Promise<NumberListResult> {
    this.lists.push(businessAccountId);
    return this.script.shift() ?? { kind: 'known', numbers: this.numbers };
  }
}

interface World {
  clock: ManualClock;
  ledger: InMemoryAttemptLedger;
  graph: ScriptedGraph;
  jobs: Array<JobV1Input & { idempotencyKey: string }>;
  deadLetters: EventDeadLetterV1[];
  evictions: number;
  deps: EventDeps;
  run(detailType: EventDetailType, detail: object): Promise<EventOutcome>;
}

function world(options: { ledger?: InMemoryAttemptLedger; token?: SecretLookup } = {}): World {
  const clock = new ManualClock(T0 + MINUTE);
  const ledger = options.ledger ?? new InMemoryAttemptLedger();
  const graph = new ScriptedGraph();
  const jobs: World['jobs'] = [];
  const deadLetters: EventDeadLetterV1[] = [];
  const state = { evictions: 0 };
  const secrets = {
    accessToken: async (): Promise<SecretLookup> => options.token ?? { kind: 'found', value: 'EAAG-unit-token', version: 'v1', fresh: false },
    evict: () => {
      state.evictions += 1;
    },
  };
  const deps: EventDeps = {
    ledger,
    directory: new NumberDirectory({ ledger, graph, secrets, clock, refreshMs: 5 * MINUTE }),
    jobs: { send: async (job) => void jobs.push(job) },
    deadLetters: { send: async (envelope) => void deadLetters.push(envelope) },
    clock,
    policy: { nameDeadlineMs: 14 * 24 * 3_600_000 },
  };
  let sequence = 0;
  return {
    clock,
    ledger,
    graph,
    jobs,
    deadLetters,
    get evictions() {
      return state.evictions;
    },
    deps,
    run: (detailType, detail) => runEvent({ body: bridgeBody(detailType, detail), messageId: `m-${++sequence}` }, deps),
  };
}

describe('runEvent: name approvals', () => {
  let w: World;
  beforeEach(() => {
    w = world();
  });

  it('maps the display number, records the approval and its deadline, and sends one job; the decoy gets nothing', async () => {
    const outcome = await w.run('PhoneNumberNameUpdated', nameUpdated());
    expect(outcome).toMatchObject({ status: 'applied', phoneNumberIds: [TARGET], businessAccountId: WABA });
    expect(w.jobs).toEqual([expect.objectContaining({ phoneNumberId: TARGET, reason: 'name_change', businessAccountId: WABA })]);
    expect(await w.ledger.number(TARGET)).toMatchObject({ businessAccountId: WABA, nameApproval: { approvedAt: T0 } });
    expect(await w.ledger.deadlines()).toEqual([expect.objectContaining({ phoneNumberId: TARGET, approvedAt: T0, businessAccountId: WABA })]);
    expect(await w.ledger.business(WABA)).toMatchObject({ numbers: { '15550783881': TARGET, '15550783882': DECOY }, listedAt: T0 + MINUTE });
    expect((await w.ledger.number(DECOY)).version).toBe(0);
  });

  it('the same event three times: one list read, one write, the same job key each time', async () => {
    const outcomes = [];
    for (let round = 0; round < 3; round++) outcomes.push(await w.run('PhoneNumberNameUpdated', nameUpdated()));
    expect(w.graph.lists).toHaveLength(1);
    expect((await w.ledger.number(TARGET)).version).toBe(1);
    expect(new Set(w.jobs.map((job) => job.idempotencyKey)).size).toBe(1);
    expect(await w.ledger.events(TARGET)).toHaveLength(1);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['applied', 'applied', 'applied']);
  });

  it('REJECTED is recorded on the timeline only', async () => {
    const outcome = await w.run('PhoneNumberNameUpdated', nameUpdated({ decision: 'REJECTED', rejectionReason: 'NAME_FORMAT_UNACCEPTABLE' }));
    expect(outcome.status).toBe('applied'); // the number learnt its business
    expect(w.jobs).toEqual([]);
    expect(await w.ledger.events(TARGET)).toEqual([expect.objectContaining({ summary: 'name REJECTED "Acme Support" (NAME_FORMAT_UNACCEPTABLE)' })]);
    expect(await w.run('PhoneNumberNameUpdated', nameUpdated({ decision: 'REJECTED' }))).toMatchObject({ status: 'recorded' });
  });

  it('re-applies its change when another writer changed the number between read and commit', async () => {
    /** A worker spends a request on the number between the resolver's read and its commit. */
    class RacingLedger extends InMemoryAttemptLedger {
      interfered = false;
      override async commit(changes: LedgerChanges, token: string): Promise<'committed' | 'conflict'> {
        if (!this.interfered && changes.number) {
          this.interfered = true;
          const current = await this.number(changes.phoneNumberId);
          const spent = { ...current, spent: [{ at: T0, operation: 'register' as const }], version: current.version + 1 };
          await super.commit({ phoneNumberId: changes.phoneNumberId, number: spent, expiresAt: changes.expiresAt }, 'worker');
        }
        return super.commit(changes, token);
      }
    }
    const racing = new RacingLedger();
    const inner = racing;
    const r = world({ ledger: racing });
    await r.run('PhoneNumberNameUpdated', nameUpdated());
    expect(await inner.number(TARGET)).toMatchObject({ version: 2, spent: [{ at: T0 }], nameApproval: { approvedAt: T0 } });
    expect(r.jobs).toHaveLength(1);
  });
});

describe('runEvent: mapping and its failures', () => {
  it('a display number missing from a fresh list is dead-lettered with the WABA and the number', async () => {
    const w = world();
    const outcome = await w.run('PhoneNumberNameUpdated', nameUpdated({ displayPhoneNumber: '15550009999' }));
    expect(outcome).toMatchObject({ status: 'dead_lettered', reason: 'unknown_number' });
    const [envelope] = w.deadLetters.map((letter) => eventDeadLetterV1Schema.parse(letter));
    expect(envelope).toMatchObject({
      kind: 'wa-registrar.event-dead-letter',
      reason: 'unknown_number',
      businessAccountId: WABA,
      displayPhoneNumber: '15550009999',
      detailType: 'PhoneNumberNameUpdated',
      listedAt: iso(T0 + MINUTE),
      sourceMessageId: 'm-1',
      event: { decision: 'APPROVED', businessAccountId: WABA, displayPhoneNumber: '15550009999' },
    });
    expect(envelope!.detail).toContain(WABA);
    expect(envelope!.detail).toContain('15550009999');
    expect(w.jobs).toEqual([]);
  });

  it('a failed list read is a retry; a refused token is evicted', async () => {
    const w = world();
    w.graph.script.push({ kind: 'unknown', why: 'number list answered HTTP 401', code: 190, httpStatus: 401 });
    expect(await w.run('PinChanged', pinEvent())).toMatchObject({ status: 'retry', detail: 'number list answered HTTP 401 (code 190)' });
    expect(w.evictions).toBe(1);
    expect(await w.run('PinChanged', pinEvent())).toMatchObject({ status: 'applied' });
  });

  it('no usable token: a retry, and no Graph read', async () => {
    const w = world({ token: { kind: 'missing' } });
    expect(await w.run('PinChanged', pinEvent())).toMatchObject({ status: 'retry' });
    expect(w.graph.lists).toEqual([]);
  });

  it('a number missing from a list read before the change waits for the refresh interval, then the list is read again', async () => {
    const w = world();
    w.graph.numbers = [LISTED[1]!];
    await w.run('PinChanged', pinEvent({ displayPhoneNumber: '15550783882' }));
    // The target is added to the WABA after that list; its change happens later.
    w.graph.numbers = LISTED;
    const later = pinEvent({ occurredAt: iso(T0 + 2 * MINUTE) });
    w.clock.advance(2 * MINUTE);
    expect(await w.run('PinChanged', later)).toMatchObject({ status: 'retry' });
    expect(w.graph.lists).toHaveLength(1);
    w.clock.advance(5 * MINUTE);
    expect(await w.run('PinChanged', later)).toMatchObject({ status: 'applied', phoneNumberIds: [TARGET] });
    expect(w.graph.lists).toHaveLength(2);
  });

  it('an invalid event is dead-lettered as evidence, with secrets masked', async () => {
    const w = world();
    const outcome = await runEvent({ body: JSON.stringify({ 'detail-type': 'PinChanged', detail: { access_token: 'EAAGsecretsecretsecret', pin: '123456' } }), messageId: 'bad-1' }, w.deps);
    expect(outcome).toMatchObject({ status: 'dead_lettered', reason: 'invalid_event', detailType: 'PinChanged' });
    const envelope = eventDeadLetterV1Schema.parse(w.deadLetters[0]);
    expect(envelope.rawBody).not.toContain('EAAGsecret');
    expect(envelope.rawBody).not.toContain('123456');
    expect(await runEvent({ body: 'not json', messageId: 'bad-2' }, w.deps)).toMatchObject({ status: 'dead_lettered', reason: 'invalid_event' });
    const elsewhere = JSON.stringify({ ...JSON.parse(bridgeBody('PinChanged', pinEvent())), source: 'someone-else' });
    expect(await runEvent({ body: elsewhere, messageId: 'bad-3' }, w.deps)).toMatchObject({ status: 'dead_lettered', detail: expect.stringContaining('only from source wa-registrar') });
    expect(w.graph.lists).toEqual([]);
  });
});

describe('runEvent: PIN and account events', () => {
  it('PinChanged holds the number pin_changed from the event time', async () => {
    const w = world();
    await w.run('PinChanged', pinEvent());
    expect((await w.ledger.number(TARGET)).hold).toEqual({ cause: 'pin_changed', since: T0, detail: 'PIN_CHANGED (requester 123456789)' });
    expect(await w.ledger.events(TARGET)).toEqual([expect.objectContaining({ detailType: 'PinChanged', summary: 'security PIN_CHANGED (requester 123456789)' })]);
  });

  it('a restriction lists the numbers and holds each; a newer lift releases them; an older lift after a newer restriction does nothing', async () => {
    const w = world();
    const restricted = await w.run('AccountUpdated', accountUpdated());
    expect(restricted).toMatchObject({ status: 'applied' });
    expect(w.graph.lists).toHaveLength(1);
    for (const id of [TARGET, DECOY]) expect((await w.ledger.number(id)).accountHold).toMatchObject({ cause: 'account_restricted', since: T0, businessAccountId: WABA });

    await w.run('AccountUpdated', accountUpdated({ occurredAt: iso(T0 + 10_000), restrictions: [] }));
    for (const id of [TARGET, DECOY]) expect((await w.ledger.number(id)).accountHold).toBeUndefined();

    await w.run('AccountUpdated', accountUpdated({ occurredAt: iso(T0 + 30_000), event: 'DISABLED_UPDATE', banState: 'DISABLE', restrictions: undefined }));
    const older = await w.run('AccountUpdated', accountUpdated({ occurredAt: iso(T0 + 20_000), event: 'DISABLED_UPDATE', banState: 'REINSTATE', restrictions: undefined }));
    // The older lift changes nothing; the business's current state (restricted) is applied again, which is already so.
    expect(older).toMatchObject({ status: 'recorded', phoneNumberIds: [TARGET, DECOY] });
    expect(older.detail).toMatch(/older than the account state recorded: the account is restricted/);
    for (const id of [TARGET, DECOY]) expect((await w.ledger.number(id)).accountHold).toMatchObject({ since: T0 + 30_000, detail: 'DISABLED_UPDATE (DISABLE)' });
    expect(await w.ledger.business(WABA)).toMatchObject({ account: { state: 'restricted', at: T0 + 30_000, event: 'DISABLED_UPDATE' } });
    expect(w.graph.lists).toHaveLength(1);
  });

  it('the same restriction twice writes nothing the second time', async () => {
    const w = world();
    await w.run('AccountUpdated', accountUpdated());
    const versions = [(await w.ledger.number(TARGET)).version, (await w.ledger.business(WABA)).version];
    expect(await w.run('AccountUpdated', accountUpdated())).toMatchObject({ status: 'recorded' });
    expect([(await w.ledger.number(TARGET)).version, (await w.ledger.business(WABA)).version]).toEqual(versions);
  });

  it('an informational update holds nothing and reads no list', async () => {
    const w = world();
    expect(await w.run('AccountUpdated', accountUpdated({ event: 'ACCOUNT_VIOLATION', restrictions: undefined }))).toMatchObject({ status: 'recorded' });
    expect(w.graph.lists).toEqual([]);
  });

  it('a number first mapped after its business was restricted gets the account hold', async () => {
    const w = world();
    w.graph.numbers = [LISTED[1]!];
    await w.run('AccountUpdated', accountUpdated());
    w.graph.numbers = LISTED;
    w.clock.advance(10 * MINUTE);
    await w.run('PinChanged', pinEvent({ occurredAt: iso(T0 + 5 * MINUTE) }));
    expect(await w.ledger.number(TARGET)).toMatchObject({ businessAccountId: WABA, accountHold: { cause: 'account_restricted', since: T0 }, hold: { cause: 'pin_changed' } });
  });
});

describe('runEvent: ReRegistrationRequested', () => {
  it('sends one job per request id and records the business on the number', async () => {
    const w = world();
    for (let round = 0; round < 2; round++) await w.run('ReRegistrationRequested', reRegistration({ phoneNumberId: TARGET, businessAccountId: WABA }));
    expect(w.jobs.map((job) => job.idempotencyKey)).toEqual(['rereg:crm-4711', 'rereg:crm-4711']);
    expect(await w.ledger.number(TARGET)).toMatchObject({ version: 1, businessAccountId: WABA });
    expect(w.graph.lists).toEqual([]);
  });
});
