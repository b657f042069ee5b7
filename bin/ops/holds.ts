import { randomUUID } from 'node:crypto';
import { numberItemExpiry, slotLifetimeMs, type BudgetPolicy } from '../../shared/domain/budget.ts';
import type { AppGates, AttemptLedger, NumberHold, NumberRecord, TokenGate } from '../../shared/ledger/port.ts';
import { tokenGateOf, withTokenGate } from '../../shared/domain/token-gates.ts';
import { formatTime } from '../views/format.ts';

/** What lifts a number's hold, as the status view and `hold clear` say it. */
export function holdLiftedBy(phoneNumberId: string, hold: Pick<NumberHold, 'cause' | 'until'>, now: number): string {
  const clear = `wa-registrar hold clear ${phoneNumberId}`;
  switch (hold.cause) {
    case 'pin_rejected':
      return `Lifted by a new version of the PIN secret (PIN_SECRET_PREFIX + ${phoneNumberId}), or by \`${clear}\` once sure the stored PIN is right.`;
    case 'pin_locked':
      return hold.until !== undefined && hold.until > now
        ? `Meta checks no PIN before ${formatTime(hold.until)}; after that, lifted by a new PIN version, or by \`${clear}\` (before then only with --force).`
        : `Lifted by a new version of the PIN secret, or by \`${clear}\` once sure the stored PIN is right.`;
    case 'needs_verification':
      return `Verify the number (request_code, then verify_code), then \`${clear}\`; a job whose pre-flight read finds it VERIFIED also lifts it.`;
    case 'deregister_stuck':
      return `Meta keeps answering 133000 after a repair: have the number looked at in WhatsApp Manager (or by Meta support), then \`${clear}\`.`;
    case 'pin_changed':
      return `Meta says the PIN was changed or a reset requested: store the number's current PIN as a new version of its secret (PIN_SECRET_PREFIX + ${phoneNumberId}); that lifts it, or \`${clear}\` once sure the stored PIN is right.`;
    case 'account_restricted':
      return `Meta restricted, disabled or removed the business account: a later account_update that lifts it ends the hold, or \`${clear}\` once the account is in good standing.`;
  }
}

/** What lifts a token gate: the default token's, or a business's own token's. */
export function tokenGateLiftedBy(businessAccountId?: string): string {
  if (businessAccountId !== undefined) {
    return `Lifted by a new version of the business's token secret (TOKEN_SECRET_PREFIX + ${businessAccountId}), or by \`wa-registrar hold clear --token --business ${businessAccountId}\` once sure it is right.`;
  }
  return 'Lifted by a new version of the token secret (TOKEN_SECRET_ID), or by `wa-registrar hold clear --token` once sure the stored token is right.';
}

/** Commits give up after this many conflicts in a row: the worker keeps writing the item faster than we can. */
const MAX_CONFLICTS = 10;

export type ClearHoldResult =
  | { cleared: true; hold: NumberHold }
  | { cleared: false; why: 'no_hold' }
  | { cleared: false; why: 'locked'; hold: NumberHold };

/**
 * Removes the number's hold, whatever its cause, keeping the rest of the number item (spent slots, blocks,
 * reservations) as read. A `pin_locked` hold whose `until` is still ahead stays unless `force`: Meta checks no
 * PIN before then, so a job sent earlier would only spend an attempt on another lockout.
 * Read, then a commit conditioned on the version read; a conflict (a worker wrote the item meanwhile) reads again.
 */
export async function clearNumberHold(
  ledger: AttemptLedger,
  phoneNumberId: string,
  options: { now: number; policy: BudgetPolicy; force?: boolean },
): Promise<ClearHoldResult> {
  for (let round = 0; round < MAX_CONFLICTS; round++) {
    const number = await ledger.number(phoneNumberId);
    // The account hold first: it stops every job, and a PIN hold under it still needs its own clear.
    const hold = number.accountHold ?? number.hold;
    if (!hold) return { cleared: false, why: 'no_hold' };
    if (hold.cause === 'pin_locked' && hold.until !== undefined && hold.until > options.now && !options.force) {
      return { cleared: false, why: 'locked', hold };
    }
    const { [hold === number.accountHold ? 'accountHold' : 'hold']: _removed, ...rest } = number;
    const next: NumberRecord = { ...rest, version: number.version + 1 };
    const expiresAt = numberItemExpiry(next, options.now, options.policy);
    const result = await ledger.commit({ phoneNumberId, number: next, expiresAt: { number: expiresAt, job: expiresAt, attempt: expiresAt } }, randomUUID());
    if (result === 'committed') return { cleared: true, hold };
  }
  throw new Error(`the ledger item of number ${phoneNumberId} kept changing (${MAX_CONFLICTS} conflicts); try again`);
}

export type ClearTokenGateResult = { cleared: true; gate: TokenGate } | { cleared: false; why: 'no_gate' };

/**
 * Opens a token gate (after 190/0): the default token's, or (`scope`) a business's own token's, keeping every other
 * gate and throttle as read. Retries on conflict like {@link clearNumberHold}.
 */
export async function clearTokenGate(ledger: AttemptLedger, options: { now: number; policy: BudgetPolicy; scope?: string }): Promise<ClearTokenGateResult> {
  for (let round = 0; round < MAX_CONFLICTS; round++) {
    const app = await ledger.appGates();
    const gate = tokenGateOf(app, options.scope);
    if (!gate) return { cleared: false, why: 'no_gate' };
    const next: AppGates = { ...withTokenGate(app, options.scope, undefined), version: app.version + 1 };
    const expiresAt = Math.max(options.now + slotLifetimeMs(options.policy), next.throttledUntil ?? 0);
    // The app item is not a number's; the commit needs a number id only to place the items it leaves out.
    const result = await ledger.commit({ phoneNumberId: '0', app: next, expiresAt: { number: expiresAt, job: expiresAt, attempt: expiresAt } }, randomUUID());
    if (result === 'committed') return { cleared: true, gate };
  }
  throw new Error(`the ledger's app item kept changing (${MAX_CONFLICTS} conflicts); try again`);
}

