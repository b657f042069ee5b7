import type { BusinessRecord, NumberRecord } from '../ledger/port.ts';
import type { AccountUpdated } from './registrar-events.v1.ts';

/** What an `account_update` means for the business's numbers. */
export type AccountEffect = 'restricts' | 'lifts' | 'informational';

type AccountFacts = Pick<AccountUpdated, 'restrictions' | 'banState'>;

/** `ban_info.waba_ban_state` of a DISABLED_UPDATE. A state not listed only informs. */
const BAN_STATE_EFFECTS: ReadonlyMap<string, AccountEffect> = new Map([
  ['DISABLE', 'restricts'],
  ['REINSTATE', 'lifts'],
  ['SCHEDULE_FOR_DISABLE', 'informational'],
]);

/**
 * Meta's `account_update` events by `event`. Anything not listed (ACCOUNT_VIOLATION, VERIFIED_ACCOUNT, events Meta
 * adds later) only informs: it is kept on the timeline and holds nothing.
 */
const ACCOUNT_EVENT_EFFECTS: ReadonlyMap<string, (facts: AccountFacts) => AccountEffect> = new Map([
  // The same event restricts and, with an empty (or absent) restriction list, lifts.
  ['ACCOUNT_RESTRICTION', (facts: AccountFacts) => ((facts.restrictions?.length ?? 0) > 0 ? 'restricts' : 'lifts')],
  ['DISABLED_UPDATE', (facts: AccountFacts) => BAN_STATE_EFFECTS.get(facts.banState ?? '') ?? 'informational'],
  ['ACCOUNT_DELETED', () => 'restricts'],
  ['ACCOUNT_OFFBOARDED', () => 'restricts'],
  ['PARTNER_REMOVED', () => 'restricts'],
]);

/** Whether an account update restricts the business's numbers, lifts a restriction, or only informs. */
export function classifyAccountUpdate(event: Pick<AccountUpdated, 'event'> & AccountFacts): AccountEffect {
  return ACCOUNT_EVENT_EFFECTS.get(event.event)?.(event) ?? 'informational';
}

const STATE_OF: Record<Exclude<AccountEffect, 'informational'>, 'restricted' | 'clear'> = { restricts: 'restricted', lifts: 'clear' };

/**
 * The business after a restricting or lifting event: its `account` changes only when the event is newer than the state
 * recorded (a reordered older event changes nothing). At the same second a restriction wins over a lift: the safe side.
 */
export function nextAccountState(business: BusinessRecord, event: Pick<AccountUpdated, 'event'>, effect: AccountEffect, at: number): BusinessRecord {
  if (effect === 'informational') return business;
  const state = STATE_OF[effect];
  const current = business.account;
  const newer = !current || at > current.at || (at === current.at && state === 'restricted' && current.state === 'clear');
  return newer ? { ...business, account: { state, at, event: event.event } } : business;
}

/**
 * Whether this event is the business's account state now, so its effect on the numbers applies: true for the event
 * that set it (and its redeliveries), false for an event older than the state.
 */
export function isCurrentAccountEvent(business: BusinessRecord, effect: AccountEffect, at: number): boolean {
  return effect !== 'informational' && business.account?.at === at && business.account.state === STATE_OF[effect];
}

/** The hold's one-line detail: the event and what Meta said about it. */
export function accountHoldDetail(event: Pick<AccountUpdated, 'event'> & AccountFacts): string {
  const restrictions = (event.restrictions ?? []).map((restriction) => restriction.type);
  if (restrictions.length > 0) return `${event.event}: ${restrictions.join(', ')}`.slice(0, 300);
  return event.banState ? `${event.event} (${event.banState})` : event.event;
}

/**
 * The number under its business's account state: a restricted business holds it (`accountHold`, cause
 * `account_restricted`), and a clear state lifts a hold of this business set no later than the state. Returns the
 * same object when nothing changes.
 */
export function withAccountState(number: NumberRecord, business: BusinessRecord, detail = business.account?.event ?? ''): NumberRecord {
  const account = business.account;
  if (!account) return number;
  const hold = number.accountHold;
  if (account.state === 'restricted') {
    if (hold && hold.since >= account.at) return number;
    return {
      ...number,
      accountHold: { cause: 'account_restricted', since: account.at, businessAccountId: business.businessAccountId, detail },
    };
  }
  if (!hold || hold.since > account.at) return number;
  if (hold.businessAccountId !== undefined && hold.businessAccountId !== business.businessAccountId) return number;
  const { accountHold: _lifted, ...rest } = number;
  return rest;
}
