import { describe, expect, it } from 'vitest';
import { accountHoldDetail, classifyAccountUpdate, type AccountEffect, isCurrentAccountEvent, nextAccountState, withAccountState } from '../../shared/events/account-effects.ts';
import { digitsOf, mapInto, nameApprovalJobKey, planNameUpdate, planPinEvent, planReRegistration } from '../../shared/events/resolve.ts';
import type { HoldCause } from '../../shared/jobs/dlq-envelope.v1.ts';
import { validateJob } from '../../shared/jobs/job.v1.ts';
import { emptyBusiness, emptyNumber, type BusinessRecord, type NumberHold, type NumberRecord } from '../../shared/ledger/port.ts';
import { T0, WABA, accountUpdated, changeIdOf, iso, nameUpdated, pinEvent, reRegistration } from '../support/event-factories.ts';

const NUMBER = '106540352242922';
const DAY = 24 * 3_600_000;
const policy = { nameDeadlineMs: 14 * DAY };
const number = (overrides: Partial<NumberRecord> = {}): NumberRecord => ({ ...emptyNumber(NUMBER), version: 3, ...overrides });
const business = (overrides: Partial<BusinessRecord> = {}): BusinessRecord => ({ ...emptyBusiness(WABA), version: 2, ...overrides });

describe('digitsOf', () => {
  it.each([
    ['+1 555-078-3881', '15550783881'],
    ['15550783881', '15550783881'],
    ['+44 (0) 20 7946 0958', '4402079460958'],
    ['+41 44 668 18 00', '41446681800'],
    ['no digits', ''],
  ])('%s → %s', (display, digits) => {
    expect(digitsOf(display)).toBe(digits);
  });

  it("matches the webhook's digits with the list's format", () => {
    expect(digitsOf('15550783881')).toBe(digitsOf('+1 555-078-3881'));
  });
});

describe('planNameUpdate', () => {
  it('APPROVED → one register job (name_change, the WABA, a key from the change) and the approval with its deadline', () => {
    const event = nameUpdated();
    const plan = planNameUpdate(number(), event, policy);
    expect(plan.job).toEqual({
      action: 'register',
      phoneNumberId: NUMBER,
      reason: 'name_change',
      businessAccountId: WABA,
      idempotencyKey: `name-approval:${event.changeId.slice(0, 48)}`,
    });
    expect(validateJob(plan.job)).toMatchObject({ ok: true });
    expect(plan.number.nameApproval).toEqual({ approvedAt: T0, deadline: T0 + 14 * DAY, changeId: event.changeId, requestedName: 'Acme Support' });
    expect(plan.deadline).toEqual({ phoneNumberId: NUMBER, approvedAt: T0, deadline: T0 + 14 * DAY, businessAccountId: WABA });
    expect(plan.event).toEqual({ at: T0, detailType: 'PhoneNumberNameUpdated', changeId: event.changeId, summary: 'name APPROVED "Acme Support"' });
  });

  it('the same approval again changes nothing and asks for the same job key', () => {
    const event = nameUpdated();
    const first = planNameUpdate(number(), event, policy);
    const again = planNameUpdate(first.number, event, policy);
    expect(again.number).toBe(first.number);
    expect(again.job?.idempotencyKey).toBe(first.job?.idempotencyKey);
  });

  it('an approval older than the one recorded (reordered) is recorded only: no job, no overwrite', () => {
    const newer = planNameUpdate(number(), nameUpdated({ occurredAt: iso(T0 + DAY) }), policy).number;
    const older = planNameUpdate(newer, nameUpdated({ occurredAt: iso(T0) }), policy);
    expect(older.number).toBe(newer);
    expect(older.job).toBeUndefined();
    expect(older.deadline).toBeUndefined();
    expect(older.event?.summary).toBe('name APPROVED "Acme Support"');
  });

  it('a newer approval replaces the recorded one, with its own job', () => {
    const first = planNameUpdate(number(), nameUpdated(), policy);
    const second = planNameUpdate(first.number, nameUpdated({ occurredAt: iso(T0 + DAY) }), policy);
    expect(second.number.nameApproval?.approvedAt).toBe(T0 + DAY);
    expect(second.job?.idempotencyKey).not.toBe(first.job?.idempotencyKey);
  });

  it.each(['REJECTED', 'DEFERRED', 'PENDING', 'SOMETHING_NEW'])('%s → recorded only', (decision) => {
    const before = number();
    const plan = planNameUpdate(before, nameUpdated({ decision, rejectionReason: decision === 'REJECTED' ? 'NAME_FORMAT_UNACCEPTABLE' : null }), policy);
    expect(plan.number).toBe(before);
    expect(plan.job).toBeUndefined();
    expect(plan.deadline).toBeUndefined();
    expect(plan.event?.summary).toContain(`name ${decision}`);
  });

  it('the job key fits the job schema for any change id', () => {
    expect(nameApprovalJobKey(changeIdOf('x'))).toMatch(/^[A-Za-z0-9_.:#-]{1,80}$/);
  });
});

describe('planPinEvent: which hold stands', () => {
  const hold = (cause: HoldCause, extra: Partial<NumberHold> = {}): NumberHold => ({ cause, since: T0 - DAY, detail: 'earlier', ...extra });
  const now = T0 + 60_000;
  it.each<[string, NumberHold | undefined, boolean]>([
    ['no hold', undefined, true],
    ['pin_rejected', hold('pin_rejected', { pinVersion: 'v1' }), true],
    ['needs_verification', hold('needs_verification'), true],
    ['a pin_rejected newer than the change (its PIN version may postdate it)', hold('pin_rejected', { pinVersion: 'v2', since: T0 + 1000 }), false],
    ['an expired pin_locked', hold('pin_locked', { until: T0 - 1 }), true],
    ['an expired pin_locked newer than the change', hold('pin_locked', { since: T0 + 1, until: T0 + 2 }), false],
    ['an active pin_locked', hold('pin_locked', { until: now + 3_600_000 }), false],
    ['deregister_stuck', hold('deregister_stuck'), false],
    ['an older pin_changed', hold('pin_changed', { since: T0 - 1 }), true],
    ['a pin_changed from the same time (redelivery)', hold('pin_changed', { since: T0 }), false],
    ['a newer pin_changed (reordered)', hold('pin_changed', { since: T0 + 1000 }), false],
  ])('%s → replaced: %s', (_name, current, replaced) => {
    const before = number(current ? { hold: current } : {});
    const plan = planPinEvent(before, 'PinChanged', pinEvent(), now);
    if (replaced) expect(plan.number.hold).toEqual({ cause: 'pin_changed', since: T0, detail: 'PIN_CHANGED (requester 123456789)' });
    // A PIN refusal or lockout that stands learns of the change: no PIN version stored before it may lift it.
    else if (current?.cause === 'pin_rejected' || current?.cause === 'pin_locked') expect(plan.number.hold).toEqual({ ...current, changedAt: T0 });
    else expect(plan.number).toBe(before);
    expect(plan.job).toBeUndefined();
    expect(plan.event).toMatchObject({ at: T0, detailType: 'PinChanged' });
  });

  it("Meta's echo of wa-registrar's own PIN set (a rotation under way, or just finished) holds nothing", () => {
    const during = planPinEvent(number({ pinRotation: { since: T0 - 60_000, pendingVersion: 'v2' } }), 'PinChanged', pinEvent(), T0);
    const after = planPinEvent(number({ lastPinSet: { at: T0 + 30_000, version: 'v2', by: 'rotation' } }), 'PinChanged', pinEvent(), T0);
    const long = planPinEvent(number({ lastPinSet: { at: T0 - DAY, version: 'v2', by: 'rotation' } }), 'PinChanged', pinEvent(), T0);
    expect([during.number.hold, after.number.hold]).toEqual([undefined, undefined]);
    expect(after.event?.summary).toMatch(/superseded by the PIN wa-registrar set/);
    expect(long.number.hold?.cause).toBe('pin_changed');
  });

  it('a PIN reset request holds the same way, and leaves an account hold alone', () => {
    const accountHold: NumberHold = { cause: 'account_restricted', since: T0 - DAY, businessAccountId: WABA, detail: 'ACCOUNT_DELETED' };
    const plan = planPinEvent(number({ accountHold }), 'PinResetRequested', pinEvent({ event: 'PIN_RESET_REQUEST', requester: undefined }), T0);
    expect(plan.number.hold).toEqual({ cause: 'pin_changed', since: T0, detail: 'PIN_RESET_REQUEST' });
    expect(plan.number.accountHold).toEqual(accountHold);
  });
});

describe('classifyAccountUpdate', () => {
  it.each<[Parameters<typeof classifyAccountUpdate>[0], AccountEffect]>([
    [{ event: 'ACCOUNT_RESTRICTION', restrictions: [{ type: 'RESTRICTED_ADD_PHONE_NUMBER_ACTION' }] }, 'restricts'],
    [{ event: 'ACCOUNT_RESTRICTION', restrictions: [] }, 'lifts'],
    [{ event: 'ACCOUNT_RESTRICTION' }, 'lifts'],
    [{ event: 'DISABLED_UPDATE', banState: 'DISABLE' }, 'restricts'],
    [{ event: 'DISABLED_UPDATE', banState: 'REINSTATE' }, 'lifts'],
    [{ event: 'DISABLED_UPDATE', banState: 'SCHEDULE_FOR_DISABLE' }, 'informational'],
    [{ event: 'DISABLED_UPDATE' }, 'informational'],
    [{ event: 'ACCOUNT_DELETED' }, 'restricts'],
    [{ event: 'ACCOUNT_OFFBOARDED' }, 'restricts'],
    [{ event: 'PARTNER_REMOVED' }, 'restricts'],
    [{ event: 'ACCOUNT_VIOLATION' }, 'informational'],
    [{ event: 'VERIFIED_ACCOUNT' }, 'informational'],
    [{ event: 'SOMETHING_NEW' }, 'informational'],
    [{ event: 'constructor' }, 'informational'],
  ])('%j → %s', (event, effect) => {
    expect(classifyAccountUpdate(event)).toBe(effect);
  });
});

describe('account state and holds', () => {
  const restrict = accountUpdated();
  const lift = accountUpdated({ restrictions: [] });

  it('the business state moves only for a newer event; an older one changes nothing', () => {
    const restricted = nextAccountState(business(), restrict, 'restricts', T0);
    expect(restricted.account).toEqual({ state: 'restricted', at: T0, event: 'ACCOUNT_RESTRICTION' });
    const lifted = nextAccountState(restricted, lift, 'lifts', T0 + 1000);
    expect(lifted.account).toEqual({ state: 'clear', at: T0 + 1000, event: 'ACCOUNT_RESTRICTION' });
    expect(nextAccountState(lifted, restrict, 'restricts', T0)).toBe(lifted);
    expect(nextAccountState(lifted, lift, 'lifts', T0 + 1000)).toBe(lifted);
    expect(nextAccountState(lifted, accountUpdated({ event: 'ACCOUNT_VIOLATION' }), 'informational', T0 + 5000)).toBe(lifted);
  });

  it('at the same second a restriction wins over a lift', () => {
    const lifted = nextAccountState(business(), lift, 'lifts', T0);
    expect(nextAccountState(lifted, restrict, 'restricts', T0).account?.state).toBe('restricted');
    const restricted = nextAccountState(business(), restrict, 'restricts', T0);
    expect(nextAccountState(restricted, lift, 'lifts', T0)).toBe(restricted);
  });

  it('an event is current only while the state is the one it set', () => {
    const restricted = nextAccountState(business(), restrict, 'restricts', T0);
    expect(isCurrentAccountEvent(restricted, 'restricts', T0)).toBe(true);
    expect(isCurrentAccountEvent(restricted, 'lifts', T0 - 1000)).toBe(false);
    expect(isCurrentAccountEvent(restricted, 'informational', T0)).toBe(false);
  });

  it('a restricted business holds its numbers; a newer clear state lifts only its own older holds', () => {
    const restricted = nextAccountState(business(), restrict, 'restricts', T0);
    const held = withAccountState(number(), restricted, accountHoldDetail(restrict));
    expect(held.accountHold).toEqual({ cause: 'account_restricted', since: T0, businessAccountId: WABA, detail: 'ACCOUNT_RESTRICTION: RESTRICTED_ADD_PHONE_NUMBER_ACTION' });
    expect(withAccountState(held, restricted)).toBe(held);
    const clear = nextAccountState(restricted, lift, 'lifts', T0 + 1000);
    expect(withAccountState(held, clear).accountHold).toBeUndefined();
    const newerHold = { ...held, accountHold: { ...held.accountHold!, since: T0 + 2000 } };
    expect(withAccountState(newerHold, clear)).toBe(newerHold);
    const otherBusiness = { ...held, accountHold: { ...held.accountHold!, businessAccountId: '999' } };
    expect(withAccountState(otherBusiness, clear)).toBe(otherBusiness);
  });

  it('a number newly mapped into a restricted business is held; one already mapped is left as it is', () => {
    const restricted = nextAccountState(business(), accountUpdated({ event: 'ACCOUNT_DELETED' }), 'restricts', T0);
    const mapped = mapInto(number(), restricted);
    expect(mapped).toMatchObject({ businessAccountId: WABA, accountHold: { cause: 'account_restricted', since: T0, detail: 'ACCOUNT_DELETED' } });
    const cleared = number({ businessAccountId: WABA });
    expect(mapInto(cleared, restricted)).toBe(cleared);
    expect(mapInto(number(), business())).toEqual({ ...number(), businessAccountId: WABA });
  });
});

describe('planReRegistration', () => {
  it('one register job per request id, with the business when given', () => {
    const plan = planReRegistration(number(), reRegistration({ businessAccountId: WABA, reason: 'name_change' }));
    expect(plan.job).toEqual({ action: 'register', phoneNumberId: NUMBER, reason: 'name_change', businessAccountId: WABA, idempotencyKey: 'rereg:crm-4711' });
    expect(validateJob(plan.job)).toMatchObject({ ok: true });
    expect(planReRegistration(number(), reRegistration()).job).not.toHaveProperty('businessAccountId');
  });
});
