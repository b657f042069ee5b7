import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { DAY_MS } from '../clock.ts';
import { numberItemExpiry, type BudgetPolicy } from '../domain/budget.ts';
import type { AttemptLedger, NumberHold, NumberRecord } from '../ledger/port.ts';

/**
 * What a PIN rotation writes on the number's ledger item, as pure functions of the item (the tests run them without a
 * ledger), and the one commit loop that writes them under the item's version.
 */

/** While a rotation is marked, the item is kept at least this long (a stuck rotation must stay visible to the worker). */
const ROTATION_KEPT_MS = 30 * DAY_MS;

/** Holds a rotation lifts: the PIN Meta now has is the one just stored as AWSCURRENT. */
const LIFTED_BY_ROTATION = new Set<NumberHold['cause']>(['pin_rejected', 'pin_changed', 'pin_locked']);

/**
 * Whether finishing a rotation lifts `hold`: a refused PIN (133005) or a PIN changed elsewhere are answered by the PIN
 * just set; a lockout (133008/133009) only once its `until` has passed, since Meta checks no PIN before then.
 */
export function liftedByRotation(hold: NumberHold | undefined, now: number): boolean {
  if (!hold || !LIFTED_BY_ROTATION.has(hold.cause)) return false;
  return hold.cause !== 'pin_locked' || (hold.until !== undefined && hold.until <= now);
}

/** The item with the rotation `pendingVersion` marked (unchanged when it already is). */
export function markRotation(number: NumberRecord, pendingVersion: string, now: number): NumberRecord {
  if (number.pinRotation?.pendingVersion === pendingVersion) return number;
  return { ...number, pinRotation: { since: now, pendingVersion } };
}

/** The item with the rotation's first send recorded (unchanged when not this rotation, or already recorded). */
export function markSent(number: NumberRecord, pendingVersion: string, now: number): NumberRecord {
  const mark = number.pinRotation;
  if (mark?.pendingVersion !== pendingVersion || mark.sentAt !== undefined) return number;
  return { ...number, pinRotation: { ...mark, sentAt: now } };
}

/** The item without a rotation mark (unchanged when there is none). */
export function clearRotation(number: NumberRecord): NumberRecord {
  if (!number.pinRotation) return number;
  const { pinRotation: _cleared, ...rest } = number;
  return rest;
}

/**
 * The item once `version` is AWSCURRENT and Meta's PIN: no rotation mark, `lastPinSet` naming the version (kept as is
 * when it already does, so a repeated finish changes nothing), and a PIN hold lifted ({@link liftedByRotation}).
 */
export function finishRotation(number: NumberRecord, version: string, now: number): { number: NumberRecord; lifted?: NumberHold } {
  const sentAt = number.pinRotation?.pendingVersion === version ? number.pinRotation.sentAt : undefined;
  let next = clearRotation(number);
  if (next.lastPinSet?.version !== version) next = { ...next, lastPinSet: { at: now, version, by: 'rotation', ...(sentAt === undefined ? {} : { sentAt }) } };
  const hold = next.hold;
  if (!liftedByRotation(hold, now)) return { number: next };
  const { hold: _lifted, ...rest } = next;
  return { number: rest, lifted: hold! };
}

/** Commits give up after this many conflicts in a row (the worker keeps writing the item). */
const MAX_CONFLICTS = 10;

/** What {@link updateNumber} needs. */
export interface NumberUpdateDeps {
  ledger: Pick<AttemptLedger, 'number' | 'commit'>;
  clock: Clock;
  policy: Pick<BudgetPolicy, 'windowMs' | 'marginMs'>;
}

/**
 * Reads the number's item, applies `change` and commits the result under the version read; a conflict (a worker
 * wrote meanwhile) reads and applies again. `change` returns the item unchanged (same object) when there is nothing
 * to write, and may throw to refuse. Returns the item as stored and what `change` reported.
 */
export async function updateNumber<T>(
  deps: NumberUpdateDeps,
  phoneNumberId: string,
  change: (number: NumberRecord, now: number) => { number: NumberRecord; report: T },
): Promise<{ number: NumberRecord; report: T }> {
  for (let round = 0; round < MAX_CONFLICTS; round++) {
    const read = await deps.ledger.number(phoneNumberId);
    const now = deps.clock.now();
    const { number: changed, report } = change(read, now);
    if (changed === read) return { number: read, report };
    const next: NumberRecord = { ...changed, version: read.version + 1 };
    const expiresAt = Math.max(numberItemExpiry(next, now, deps.policy), next.pinRotation ? now + ROTATION_KEPT_MS : 0);
    const result = await deps.ledger.commit({ phoneNumberId, number: next, expiresAt: { number: expiresAt, job: expiresAt, attempt: expiresAt } }, randomUUID());
    if (result === 'committed') return { number: next, report };
  }
  throw new Error(`the ledger item of number ${phoneNumberId} kept changing (${MAX_CONFLICTS} conflicts); try again`);
}
