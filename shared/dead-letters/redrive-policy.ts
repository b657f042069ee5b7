import { AUTO_REDRIVE_CATEGORIES } from '../jobs/dlq-envelope.v1.ts';
import type { DeadLetter, ViewCategory } from './dead-letter.ts';
import { isHeldCategory, type HoldVerdict } from './hold-probe.ts';

/**
 * Which dead-letters a redrive sends back.
 * - `eligible`: AUTO_REDRIVE_CATEGORIES (rate_limited) whose `eligibleAt` has passed, and HELD_CATEGORIES
 *   (pin_rejected, pin_locked, token_rejected, needs_verification) whose hold is lifted (see `holdVerdict`), never
 *   before `eligibleAt`. The scheduled redrive uses this.
 * - `all`: `eligible`, plus the categories where a redrive spends no attempt unless the cause is gone:
 *   `missing_secret` (the worker reads secrets before it reserves a slot) and `retries_exhausted` (transient
 *   failures; the worker reads the number's state before any new request). Still never before `eligibleAt`.
 *   `permanent_error` and `max_receives` are redriven only by id, after a person has fixed the cause, because a
 *   redrive before the fix spends an attempt to fail again. `invalid_job` and `unreadable` carry no job and are
 *   never redriven.
 * - `ids`: exactly these messages, whatever their category (except those with no job). A message whose
 *   `eligibleAt` is still ahead is refused unless `force`: the worker would only dead-letter it again.
 */
export type RedriveMode = { kind: 'eligible' } | { kind: 'all' } | { kind: 'ids'; ids: string[]; force?: boolean };

/** Categories `--all` takes (see RedriveMode). */
const ALL_MODE_CATEGORIES: readonly ViewCategory[] = [...AUTO_REDRIVE_CATEGORIES, 'missing_secret', 'retries_exhausted'];

export type RedriveDecision = { redrive: true } | { redrive: false; why: string };

/**
 * Whether `mode` redrives this message at `now`. Pure; the CLI's dry run and the real run share it. For a held
 * category, `hold` is the probe's verdict on its hold; without one (no ledger to ask) the message stays.
 */
export function decideRedrive(message: DeadLetter, mode: RedriveMode, now: number, hold?: HoldVerdict): RedriveDecision {
  if (!message.job || !message.jobKey) {
    return {
      redrive: false,
      why:
        message.category === 'invalid_job'
          ? 'not a valid job, so there is nothing to send: fix the producer, enqueue a corrected job, then purge this one'
          : `${message.problem ?? 'no job in this message'}; purge it once understood`,
    };
  }
  const notYet = message.eligibleAt !== undefined && message.eligibleAt > now;
  const notYetWhy = `not eligible until ${new Date(message.eligibleAt ?? 0).toISOString()}`;
  if (mode.kind !== 'ids' && isHeldCategory(message.category)) {
    if (notYet) return { redrive: false, why: notYetWhy };
    if (!hold) return { redrive: false, why: `${message.category}: the hold was not checked (no ledger table known); redrive by id once it is lifted` };
    return hold.lifted ? { redrive: true } : { redrive: false, why: `${message.category}: ${hold.why}` };
  }
  switch (mode.kind) {
    case 'eligible':
      if (!AUTO_REDRIVE_CATEGORIES.includes(message.category as never)) {
        return { redrive: false, why: `${message.category} is not redriven automatically` };
      }
      if (message.eligibleAt === undefined) return { redrive: false, why: 'has no eligibleAt' };
      return notYet ? { redrive: false, why: notYetWhy } : { redrive: true };
    case 'all':
      if (!ALL_MODE_CATEGORIES.includes(message.category)) {
        return { redrive: false, why: `${message.category} is redriven only by id, once the cause is fixed` };
      }
      if (message.category === 'rate_limited' && message.eligibleAt === undefined) {
        return { redrive: false, why: 'has no eligibleAt' };
      }
      return notYet ? { redrive: false, why: notYetWhy } : { redrive: true };
    case 'ids':
      if (!mode.ids.includes(message.messageId)) return { redrive: false, why: 'not named' };
      return notYet && !mode.force ? { redrive: false, why: `${notYetWhy} (pass --force to send it anyway)` } : { redrive: true };
  }
}
