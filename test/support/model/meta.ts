import { changeIdOf, WEBHOOK_OBJECT } from '../../../shared/webhooks/meta-webhook.ts';
import { metaSignature, webhookRequest } from './event-adapter.ts';
import { businessOf, displayDigitsOf, BUSINESS_IDS, type AccountUpdate, type MetaFact, type Signature } from './program.ts';
import type { AccountEffect, MetaChange } from './records.ts';
import type { World } from './world.ts';

/**
 * Meta's side of the events path: what a fact does at Meta (a PIN changed in WhatsApp Manager changes the simulator's
 * PIN), the webhook change that reports it (with the model clock's time, cut to the second, as Meta's `entry[].time`),
 * and the POSTs that deliver it, signed as Meta signs them or in the ways the receiver must refuse.
 */

/** Meta's `account_update` value for each kind, and what it means (the model's reading of Meta's documentation). */
const ACCOUNT_UPDATES: Record<AccountUpdate, { effect: AccountEffect; value: (time: number) => Record<string, unknown> }> = {
  restrict: {
    effect: 'restricts',
    value: (time) => ({ event: 'ACCOUNT_RESTRICTION', restriction_info: [{ restriction_type: 'RESTRICTED_ADD_PHONE_NUMBER_ACTION', expiration: time + 7 * 86_400 }] }),
  },
  lift: { effect: 'lifts', value: () => ({ event: 'ACCOUNT_RESTRICTION', restriction_info: [] }) },
  disable: { effect: 'restricts', value: () => ({ event: 'DISABLED_UPDATE', ban_info: { waba_ban_state: 'DISABLE' } }) },
  reinstate: { effect: 'lifts', value: () => ({ event: 'DISABLED_UPDATE', ban_info: { waba_ban_state: ['REINSTATE'] } }) },
  delete: { effect: 'restricts', value: () => ({ event: 'ACCOUNT_DELETED' }) },
  schedule_disable: { effect: 'informational', value: () => ({ event: 'DISABLED_UPDATE', ban_info: { waba_ban_state: 'SCHEDULE_FOR_DISABLE', waba_ban_date: '2026-12-31' } }) },
  violation: { effect: 'informational', value: () => ({ event: 'ACCOUNT_VIOLATION', violation_info: { violation_type: 'SCAM' } }) },
};

/** What the simulator's new_name_status shows after a decision. */
const NEW_NAME_STATUS: Record<string, string> = { APPROVED: 'APPROVED', REJECTED: 'DECLINED' };

const REQUESTER = '1234567890';
/** The requester Meta names for a PIN wa-registrar set through the API (its system user): another change than a person's. */
export const API_REQUESTER = '61550000000001';

/**
 * Makes the fact happen at Meta and returns the change its webhook reports (recorded as the model's truth). Its event
 * time is `ageMs` ago (a late webhook); what it does to the simulator happens now.
 */
export function metaChange(world: World, fact: MetaFact, ageMs = 0, effects = true, requester = REQUESTER): MetaChange {
  const happenedAt = world.clock.now() - ageMs;
  const time = Math.floor(happenedAt / 1000);
  const base = { seq: world.records.nextSeq(), time, eventAt: time * 1000, happenedAt };
  let change: MetaChange;
  if (fact.kind === 'account') {
    const businessAccountId = BUSINESS_IDS[fact.b % world.setup.businesses]!;
    const member = world.numbers.findIndex((_, index) => businessOf(world.setup, index) === businessAccountId);
    const { effect, value } = ACCOUNT_UPDATES[fact.update];
    // Restrictions name one of the business's numbers, as Meta's examples do; the others do not.
    const named = effect === 'restricts' && member >= 0 && fact.update === 'restrict' ? { phone_number: displayDigitsOf(member) } : {};
    const full = { ...named, ...value(time) };
    change = { ...base, changeId: changeIdOf('account_update', businessAccountId, time, full), field: 'account_update', businessAccountId, value: full, account: effect };
  } else {
    const index = fact.n % world.numbers.length;
    const phoneNumberId = world.numberId(index);
    const businessAccountId = businessOf(world.setup, index);
    const number = world.simulator.number(phoneNumberId)!;
    if (fact.kind === 'name') {
      const value = {
        display_phone_number: displayDigitsOf(index),
        decision: fact.decision,
        requested_verified_name: `Model Name ${world.records.changes.length + 1}`,
        rejection_reason: fact.decision === 'REJECTED' ? 'NAME_FORMAT_UNACCEPTABLE' : null,
      };
      if (effects) number.newNameStatus = NEW_NAME_STATUS[fact.decision] ?? 'PENDING_REVIEW';
      const changeId = changeIdOf('phone_number_name_update', businessAccountId, time, value);
      change = { ...base, changeId, field: 'phone_number_name_update', businessAccountId, value, phoneNumberId, decision: fact.decision };
    } else {
      // The person changed the PIN in WhatsApp Manager: a register with the stored (older) PIN now gets 133005. Unless
      // wa-registrar set a PIN at Meta after the change's time (a late webhook): that later set is the PIN Meta has.
      const overwritten = world.simulator.calls.some(
        (call) => call.operation === 'set_pin' && call.phoneNumberId === phoneNumberId && call.answeredWith === 'pin set' && call.at >= happenedAt,
      );
      if (effects && fact.event === 'PIN_CHANGED' && !overwritten) number.pin = world.newMetaPin(phoneNumberId);
      const value = { display_phone_number: displayDigitsOf(index), event: fact.event, requester };
      change = { ...base, changeId: changeIdOf('security', businessAccountId, time, value), field: 'security', businessAccountId, value, phoneNumberId, security: fact.event };
    }
  }
  world.records.changes.push(change);
  return change;
}

/** What Meta changed about the same number or business before `fact`, `ageMs` ago: approved it too, changed its PIN too, or the opposite account update. */
const EARLIER_ACCOUNT: Record<AccountUpdate, AccountUpdate> = {
  restrict: 'lift',
  disable: 'reinstate',
  delete: 'lift',
  lift: 'restrict',
  reinstate: 'disable',
  schedule_disable: 'restrict',
  violation: 'restrict',
};

/** An earlier change about what `fact` concerns, `ageMs` ago (it happened before `fact`, so it changes nothing at Meta now). */
export function earlierChange(world: World, fact: MetaFact, ageMs: number): MetaChange {
  const earlier: MetaFact =
    fact.kind === 'name' ? { kind: 'name', n: fact.n, decision: 'APPROVED' } : fact.kind === 'security' ? fact : { kind: 'account', b: fact.b, update: EARLIER_ACCOUNT[fact.update] };
  return metaChange(world, earlier, ageMs, false);
}

/**
 * Delivers changes in one body, `copies` times (copies after the first with every object's keys in reverse order: the
 * same change, other bytes). A valid delivery answered 500 is redelivered once, as Meta retries.
 */
export async function deliver(world: World, changes: MetaChange[], copies: number, signature: Signature): Promise<void> {
  const changeIds = [...new Set(changes.map((change) => change.changeId))];
  for (let copy = 0; copy < copies; copy++) {
    const rawBody = Buffer.from(serialise(webhookBody(changes), copy > 0));
    for (let attempt = 0; attempt < 2; attempt++) {
      const post = await world.events.post(signed(rawBody, signature), { changeIds, signature });
      const what = `published ${post.published.length}, duplicates ${post.duplicates.length}${post.failed.length ? `, failed ${post.failed.length}` : ''}${post.ignored.length ? `, ignored ${post.ignored.join(',')}` : ''}`;
      world.records.note(`  webhook POST (${signature}) of ${changeIds.map((id) => id.slice(0, 8)).join(' ')} → ${post.status}${post.status === 200 ? `: ${what}` : ''}`);
      if (!(signature === 'valid' && post.status === 500)) break;
    }
  }
}

function webhookBody(changes: MetaChange[]): Record<string, unknown> {
  return {
    object: WEBHOOK_OBJECT,
    entry: changes.map((change) => ({ id: change.businessAccountId, time: change.time, changes: [{ field: change.field, value: change.value }] })),
  };
}

/** The request for these bytes, signed as `signature` says. */
function signed(rawBody: Buffer, signature: Signature) {
  switch (signature) {
    case 'valid':
      return webhookRequest(rawBody, metaSignature(rawBody));
    case 'wrong_secret':
      return webhookRequest(rawBody, metaSignature(rawBody, 'an-old-app-secret'));
    case 'malformed':
      return webhookRequest(rawBody, `sha256=${'z'.repeat(64)}`);
    case 'missing':
      return webhookRequest(rawBody, undefined);
    case 'tampered': {
      // Signed as Meta sent it, then changed on the way: every decision becomes an approval, every time moves.
      const header = metaSignature(rawBody);
      const text = rawBody.toString('utf8').replaceAll(/"decision":"[A-Z_]+"/g, '"decision":"APPROVED"').replaceAll(/"time":(\d+)/g, (_, t: string) => `"time":${Number(t) + 1}`);
      return webhookRequest(Buffer.from(text), header);
    }
  }
}

/** JSON with the keys of every object in reverse order when `reversed`. */
function serialise(value: unknown, reversed: boolean): string {
  if (!reversed) return JSON.stringify(value);
  const reorder = (inner: unknown): unknown => {
    if (Array.isArray(inner)) return inner.map(reorder);
    if (inner === null || typeof inner !== 'object') return inner;
    return Object.fromEntries(Object.entries(inner).reverse().map(([key, nested]) => [key, reorder(nested)]));
  };
  return JSON.stringify(reorder(value));
}
