import { randomUUID } from 'node:crypto';
import type { AttemptLedger, BusinessRecord, LedgerChanges, NameDeadline, NumberRecord } from '../ledger/port.ts';

/**
 * The resolver's writes: read, apply a pure change, commit under the version read; on a conflict (a worker or another
 * resolver wrote meanwhile) read again and apply the change again. A change that changes nothing writes nothing, so
 * a redelivered event costs reads only.
 */

const DAY_MS = 24 * 3_600_000;
/** A number item the resolver writes lives at least this long (a hold or an approval outlives the 72-hour window). */
export const EVENT_KEEP_MS = 30 * DAY_MS;
/** Conflicts in a row before giving up: the message fails and SQS delivers it again. */
const MAX_CONFLICTS = 8;

/** Thrown when an item kept changing under every attempt: infrastructure, retried by SQS. */
class LedgerContentionError extends Error {
  override readonly name = 'LedgerContentionError';
}

/**
 * When a number item may go: 30 days from now, and at least 30 days past a name approval's deadline (so a lapsed
 * deadline is still seen), past a block and past a reservation.
 */
function numberExpiry(number: NumberRecord, now: number): number {
  return Math.max(
    now + EVENT_KEEP_MS,
    number.nameApproval ? number.nameApproval.deadline + EVENT_KEEP_MS : 0,
    number.blockedUntil.register ?? 0,
    number.blockedUntil.deregister ?? 0,
    ...number.reserved.map((slot) => slot.until),
  );
}

/**
 * Applies `change` to the number as stored and commits it (with the deadline it lists). `change` returns the very
 * record it was given when nothing changes. Returns the change's result as written, and whether anything was.
 */
export async function updateNumber<P extends { number: NumberRecord; deadline?: NameDeadline }>(
  ledger: AttemptLedger,
  phoneNumberId: string,
  change: (number: NumberRecord) => P,
  now: number,
): Promise<P & { changed: boolean }> {
  for (let round = 0; round < MAX_CONFLICTS; round++) {
    const current = await ledger.number(phoneNumberId);
    const planned = change(current);
    if (planned.number === current) return { ...planned, changed: false };
    const number: NumberRecord = { ...planned.number, version: current.version + 1 };
    const expiry = numberExpiry(number, now);
    const changes: LedgerChanges = {
      phoneNumberId,
      number,
      ...(planned.deadline ? { deadline: planned.deadline } : {}),
      expiresAt: { number: expiry, job: expiry, attempt: expiry },
    };
    if ((await ledger.commit(changes, randomUUID())) === 'committed') return { ...planned, number, changed: true };
  }
  throw new LedgerContentionError(`the number item of ${phoneNumberId} changed under ${MAX_CONFLICTS} writes in a row`);
}

/** Applies `change` to the business item as stored and commits it; the business as it is afterwards, and whether it changed. */
export async function updateBusiness(
  ledger: AttemptLedger,
  businessAccountId: string,
  change: (business: BusinessRecord) => BusinessRecord,
  now: number,
): Promise<{ business: BusinessRecord; changed: boolean }> {
  for (let round = 0; round < MAX_CONFLICTS; round++) {
    const current = await ledger.business(businessAccountId);
    const next = change(current);
    if (next === current) return { business: current, changed: false };
    const business: BusinessRecord = { ...next, version: current.version + 1 };
    // A business-only write: no number item is written or checked (the id only names the write).
    const expiry = now + EVENT_KEEP_MS;
    const changes: LedgerChanges = { phoneNumberId: '', business, expiresAt: { number: expiry, job: expiry, attempt: expiry } };
    if ((await ledger.commit(changes, randomUUID())) === 'committed') return { business, changed: true };
  }
  throw new LedgerContentionError(`the business item of ${businessAccountId} changed under ${MAX_CONFLICTS} writes in a row`);
}
