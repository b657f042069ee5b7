import { describe, expect, it } from 'vitest';
import { HOUR_MS } from '../../shared/clock.ts';
import type { AttemptLedger, LedgerChanges, NumberHold } from '../../shared/ledger/port.ts';
import { clearNumberHold, clearTokenGate } from '../../bin/ops/holds.ts';
import { renderDeadLetter } from '../../bin/views/dead-letters.ts';
import {
  deadLetterHold,
  decideRedrive,
  holdVerdict,
  memoizeProbe,
  type DeadLetter,
  type DeadLetterHold,
  type HoldFacts,
  type HoldProbe,
} from '../../shared/dead-letters/index.ts';
import { InMemoryAttemptLedger } from '../support/in-memory-ledger.ts';
import { closeTokenGate, envelope, holdNumber, META_POLICY, updateNumber } from '../support/ops-helpers.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const pinHold = (extra: Partial<NumberHold> = {}): NumberHold => ({ cause: 'pin_rejected', since: NOW - HOUR_MS, code: 133005, pinVersion: 'pin-v1', detail: 'error 133005 on a register', ...extra });
const changed: NumberHold = { cause: 'pin_changed', since: NOW - HOUR_MS, detail: 'PIN_CHANGED' };
const held = (cause: DeadLetterHold['cause'], extra: Partial<DeadLetterHold> = {}): DeadLetterHold => ({ cause, phoneNumberId: '42', since: NOW - HOUR_MS, ...extra });

describe('holdVerdict: is the hold a dead letter names lifted?', () => {
  it.each<[string, DeadLetterHold, HoldFacts, boolean, RegExp]>([
    // pin_rejected
    ['pin_rejected, same PIN version still current', held('pin_rejected', { secretVersion: 'pin-v1' }), { numberHold: pinHold(), secretVersion: 'pin-v1' }, false, /refused PIN version is still current/],
    ['pin_rejected, a new PIN version stored', held('pin_rejected', { secretVersion: 'pin-v1' }), { numberHold: pinHold(), secretVersion: 'pin-v2' }, true, /new PIN version \(pin-v2\)/],
    ['pin_rejected, hold cleared on the ledger', held('pin_rejected', { secretVersion: 'pin-v1' }), { secretVersion: 'pin-v1' }, true, /PIN hold is cleared/],
    ['pin_rejected, the new version was refused again since', held('pin_rejected', { secretVersion: 'pin-v1' }), { numberHold: pinHold({ pinVersion: 'pin-v2' }), secretVersion: 'pin-v2' }, false, /still current/],
    ['pin_rejected, PIN secret gone', held('pin_rejected', { secretVersion: 'pin-v1' }), { numberHold: pinHold(), secretProblem: 'the secret does not exist' }, false, /no current version \(the secret does not exist\)/],
    // pin_locked
    ['pin_locked before its end, even with a new version', held('pin_locked', { secretVersion: 'pin-v1', until: NOW + HOUR_MS }), { numberHold: pinHold({ cause: 'pin_locked', until: NOW + HOUR_MS }), secretVersion: 'pin-v2' }, false, /checks no PIN .* until 2026-11-25T13:00/],
    ['pin_locked before its end, even cleared', held('pin_locked', { secretVersion: 'pin-v1', until: NOW + HOUR_MS }), {}, false, /until/],
    ['pin_locked after its end with a new version', held('pin_locked', { secretVersion: 'pin-v1', until: NOW }), { numberHold: pinHold({ cause: 'pin_locked', until: NOW }), secretVersion: 'pin-v2' }, true, /new PIN version/],
    ['pin_locked after its end, same version', held('pin_locked', { secretVersion: 'pin-v1', until: NOW }), { numberHold: pinHold({ cause: 'pin_locked', until: NOW }), secretVersion: 'pin-v1' }, false, /still current/],
    // token_rejected
    ['token_rejected, same token version', held('token_rejected', { secretVersion: 'tok-1' }), { tokenGate: { tokenVersion: 'tok-1', since: NOW, code: 190 }, secretVersion: 'tok-1' }, false, /refused token version is still current/],
    ['token_rejected, a new token version', held('token_rejected', { secretVersion: 'tok-1' }), { tokenGate: { tokenVersion: 'tok-1', since: NOW, code: 190 }, secretVersion: 'tok-2' }, true, /new token version \(tok-2\)/],
    ['token_rejected, gate cleared', held('token_rejected', { secretVersion: 'tok-1' }), { secretVersion: 'tok-1' }, true, /token gate is cleared/],
    // needs_verification
    ['needs_verification, still held', held('needs_verification'), { numberHold: { cause: 'needs_verification', since: NOW - HOUR_MS, detail: 'verification EXPIRED' } }, false, /hold clear 42/],
    ['needs_verification, cleared', held('needs_verification'), {}, true, /verification hold is cleared/],
    ['needs_verification, a PIN hold now (not this hold)', held('needs_verification'), { numberHold: pinHold() }, true, /cleared/],
    // pin_changed (Meta's security webhook): a version stored after the change lifts it
    ['pin_changed, the current PIN version is older than the change', held('pin_changed'), { numberHold: changed, secretVersion: 'pin-v1', secretCreatedAt: NOW - 2 * HOUR_MS }, false, /current PIN version is older/],
    ['pin_changed, a PIN version stored after the change', held('pin_changed'), { numberHold: changed, secretVersion: 'pin-v2', secretCreatedAt: NOW - HOUR_MS + 1 }, true, /stored after the change/],
    ['pin_changed, no PIN secret', held('pin_changed'), { numberHold: changed, secretProblem: 'the secret does not exist' }, false, /no current version/],
    ['pin_changed, cleared', held('pin_changed'), { secretVersion: 'pin-v1', secretCreatedAt: NOW - 2 * HOUR_MS }, true, /PIN-changed hold is cleared/],
    // account_restricted: only the ledger's account hold counts
    ['account_restricted, still held', held('account_restricted'), { accountHold: { cause: 'account_restricted', since: NOW - HOUR_MS, detail: 'ACCOUNT_RESTRICTION' } }, false, /still restricted \(ACCOUNT_RESTRICTION/],
    ['account_restricted, lifted', held('account_restricted'), { numberHold: pinHold() }, true, /account hold is lifted/],
  ])('%s', (_name, hold, facts, lifted, text) => {
    // Act
    const verdict = holdVerdict(hold, facts, NOW);
    // Assess
    expect(verdict.lifted).toBe(lifted);
    expect(verdict.lifted ? verdict.how : verdict.why).toMatch(text);
  });
});

describe('decideRedrive for held dead letters', () => {
  const letter = (category: DeadLetter['category'], extra: Partial<DeadLetter> = {}): DeadLetter => ({
    messageId: 'm',
    receiptHandle: 'r',
    category,
    phoneNumberId: '42',
    deadLetteredAt: NOW,
    redriveGeneration: 0,
    job: { schemaVersion: 1, action: 'register', phoneNumberId: '42', reason: 'manual', idempotencyKey: 'k' },
    jobKey: 'k',
    ...extra,
  });

  it.each(['eligible', 'all'] as const)('%s: sends a held category back only on a lifted verdict, never before eligibleAt', (kind) => {
    // Act
    const lifted = decideRedrive(letter('pin_rejected'), { kind }, NOW, { lifted: true, how: 'x' });
    const stillHeld = decideRedrive(letter('token_rejected'), { kind }, NOW, { lifted: false, why: 'the token gate is closed' });
    const unchecked = decideRedrive(letter('needs_verification'), { kind }, NOW);
    const early = decideRedrive(letter('pin_locked', { eligibleAt: NOW + 1 }), { kind }, NOW, { lifted: true, how: 'x' });
    // Assess
    expect(lifted).toEqual({ redrive: true });
    expect(stillHeld).toEqual({ redrive: false, why: 'token_rejected: the token gate is closed' });
    expect(unchecked).toMatchObject({ redrive: false, why: expect.stringContaining('hold was not checked') });
    expect(early).toMatchObject({ redrive: false, why: expect.stringContaining('not eligible until') });
  });

  it('by id: a held category goes back whatever the hold (a person decided)', () => {
    expect(decideRedrive(letter('pin_rejected'), { kind: 'ids', ids: ['m'] }, NOW).redrive).toBe(true);
  });

  it('reads the hold from the envelope, and from the category and eligibleAt for a pin_locked envelope without one', () => {
    // Prepare
    const withHold = envelope({ category: 'pin_rejected', phoneNumberId: '42', hold: { cause: 'pin_rejected', since: new Date(NOW).toISOString(), secretVersion: 'pin-v1', code: 133005 } });
    // Act
    const fromEnvelope = deadLetterHold(letter('pin_rejected', { envelope: withHold }));
    const fromCategory = deadLetterHold(letter('pin_locked', { eligibleAt: NOW + HOUR_MS }));
    const notHeld = deadLetterHold(letter('rate_limited'));
    // Assess
    expect(fromEnvelope).toEqual({ cause: 'pin_rejected', phoneNumberId: '42', since: NOW, secretVersion: 'pin-v1' });
    expect(fromCategory).toEqual({ cause: 'pin_locked', phoneNumberId: '42', until: NOW + HOUR_MS });
    expect(notHeld).toBeUndefined();
  });

  it('dlq show names the hold, its versions and what lifts it', () => {
    // Prepare
    const item = envelope({ category: 'pin_locked', phoneNumberId: '42', hold: { cause: 'pin_locked', since: new Date(NOW).toISOString(), until: new Date(NOW + HOUR_MS).toISOString(), secretVersion: 'pin-v1' } });
    // Act
    const text = renderDeadLetter(letter('pin_locked', { envelope: item }), NOW);
    // Assess
    expect(text).toContain('Hold:                 pin_locked (since 2026-11-25 12:00 UTC, until 2026-11-25 13:00 UTC, PIN version pin-v1); goes back once lifted');
  });

  it('asks the probe once per number and once for the token in a run', async () => {
    // Prepare
    const asked: string[] = [];
    const probe: HoldProbe = { facts: async (hold) => (asked.push(`${hold.cause}:${hold.phoneNumberId}`), {}) };
    const memo = memoizeProbe(probe);
    // Act
    for (const id of ['1', '1', '2']) await memo.facts({ cause: 'pin_rejected', phoneNumberId: id });
    for (const id of ['1', '2']) await memo.facts({ cause: 'token_rejected', phoneNumberId: id });
    // Assess
    expect(asked).toEqual(['pin_rejected:1', 'pin_rejected:2', 'token_rejected:1']);
  });
});

describe('hold clear (against the in-memory ledger)', () => {
  it('removes the hold and keeps the rest of the number item', async () => {
    // Prepare
    const ledger = new InMemoryAttemptLedger();
    await updateNumber(ledger, '42', (number) => ({ ...number, spent: [{ at: NOW - HOUR_MS, operation: 'register' }], blockedUntil: { deregister: NOW + HOUR_MS } }));
    await holdNumber(ledger, '42', pinHold());
    // Act
    const result = await clearNumberHold(ledger, '42', { now: NOW, policy: META_POLICY });
    const after = await ledger.number('42');
    // Assess
    expect(result).toEqual({ cleared: true, hold: pinHold() });
    expect(after).toEqual({ phoneNumberId: '42', version: 3, spent: [{ at: NOW - HOUR_MS, operation: 'register' }], reserved: [], blockedUntil: { deregister: NOW + HOUR_MS } });
  });

  it('says so when there is no hold, and changes nothing', async () => {
    // Prepare
    const ledger = new InMemoryAttemptLedger();
    // Act
    const result = await clearNumberHold(ledger, '42', { now: NOW, policy: META_POLICY });
    // Assess
    expect(result).toEqual({ cleared: false, why: 'no_hold' });
    expect((await ledger.number('42')).version).toBe(0);
  });

  it('refuses a pin_locked hold before its end unless forced, and clears it after', async () => {
    // Prepare
    const ledger = new InMemoryAttemptLedger();
    await holdNumber(ledger, '42', pinHold({ cause: 'pin_locked', until: NOW + HOUR_MS }));
    // Act
    const refused = await clearNumberHold(ledger, '42', { now: NOW, policy: META_POLICY });
    const later = await clearNumberHold(ledger, '42', { now: NOW + HOUR_MS, policy: META_POLICY, force: false });
    // Assess
    expect(refused).toMatchObject({ cleared: false, why: 'locked' });
    expect(later).toMatchObject({ cleared: true });
  });

  it('reads again when a worker wrote the item between the read and the commit', async () => {
    // Prepare: the first commit of the clear loses to a worker's write of a new spent slot.
    const inner = new InMemoryAttemptLedger();
    await holdNumber(inner, '42', pinHold());
    let raced = false;
    const ledger: AttemptLedger = {
      read: (...args) => inner.read(...args),
      history: (id) => inner.history(id),
      number: (id) => inner.number(id),
      appGates: () => inner.appGates(),
      business: (id) => inner.business(id),
      deadlines: () => inner.deadlines(),
      dropDeadline: (...args) => inner.dropDeadline(...args),
      recordEvent: (...args) => inner.recordEvent(...args),
      events: (id) => inner.events(id),
      commit: async (changes: LedgerChanges, token: string) => {
        if (!raced) {
          raced = true;
          await updateNumber(inner, '42', (number) => ({ ...number, spent: [...number.spent, { at: NOW, operation: 'register' }] }));
        }
        return inner.commit(changes, token);
      },
    };
    // Act
    const result = await clearNumberHold(ledger, '42', { now: NOW, policy: META_POLICY });
    const after = await inner.number('42');
    // Assess: the worker's slot survives and the hold is gone.
    expect(result).toMatchObject({ cleared: true });
    expect(after.hold).toBeUndefined();
    expect(after.spent).toEqual([{ at: NOW, operation: 'register' }]);
  });

  it('opens the token gate, keeping a throttle', async () => {
    // Prepare
    const ledger = new InMemoryAttemptLedger();
    await closeTokenGate(ledger, { tokenVersion: 'tok-1', since: NOW - HOUR_MS, code: 190 });
    // Act
    const first = await clearTokenGate(ledger, { now: NOW, policy: META_POLICY });
    const second = await clearTokenGate(ledger, { now: NOW, policy: META_POLICY });
    // Assess
    expect(first).toEqual({ cleared: true, gate: { tokenVersion: 'tok-1', since: NOW - HOUR_MS, code: 190 } });
    expect(second).toEqual({ cleared: false, why: 'no_gate' });
    expect(await ledger.appGates()).toEqual({ version: 2 });
  });
});
