import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Clock } from '../clock.ts';
import { AUTO_REDRIVE_CATEGORIES } from '../jobs/dlq-envelope.v1.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import {
  deleteDeadLetter,
  matchesFilter,
  scanDeadLetters,
  type DeadLetter,
  type DeadLetterFilter,
  type ScanOptions,
  type ViewCategory,
} from './dead-letters.ts';
import { deadLetterHold, holdVerdict, isHeldCategory, memoizeProbe, type HoldProbe, type HoldVerdict } from './hold-probe.ts';

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
export const ALL_MODE_CATEGORIES: readonly ViewCategory[] = [...AUTO_REDRIVE_CATEGORIES, 'missing_secret', 'retries_exhausted'];

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

export interface RedriveDeps {
  sqs: SQSClient;
  jobQueueUrl: string;
  deadLetterQueueUrl: string;
  clock: Clock;
  scan?: ScanOptions;
  /** Replaces the DLQ delete (tests use it to interrupt a redrive between send and delete). */
  deleteDeadLetter?: (message: DeadLetter) => Promise<void>;
  /** Checks whether held dead letters' holds are lifted; without it held categories stay (except by id). */
  holds?: HoldProbe;
}

export interface RedriveOptions {
  mode: RedriveMode;
  /** Narrows `eligible`/`all`; ignored for `ids`. */
  filter?: DeadLetterFilter;
  dryRun?: boolean;
  /** Epoch ms (wall clock): no new send starts after it. */
  deadline?: number;
}

export interface RedrivenJob {
  messageId: string;
  phoneNumberId?: string;
  action?: string;
  category: ViewCategory;
  jobKey: string;
  /** The generation the job was sent with (the envelope's + 1). */
  generation: number;
  /** The new job message's id; absent on a dry run. */
  jobMessageId?: string;
  /** For a held category: what lifted its hold. */
  holdLifted?: string;
}

export interface RedriveReport {
  dryRun: boolean;
  redriven: RedrivenJob[];
  skipped: Array<{ messageId: string; phoneNumberId?: string; category: ViewCategory; why: string }>;
  /** `check`: the hold could not be checked (ledger or Secrets Manager failed); the message stays. */
  failed: Array<{ messageId: string; stage: 'check' | 'send' | 'delete'; error: string }>;
  /** Named ids the scan never saw (already gone, or hidden behind their group's head). */
  notFound: string[];
  /** Problems making held messages visible again; they reappear after the scan's short timeout anyway. */
  releaseProblems: string[];
  /** Stopped at the deadline or the scan cap; run again for the rest. */
  truncated: boolean;
}

/** Scans repeat while they make progress: deleting a group's head lets SQS show the next messages of that group. */
const MAX_PASSES = 50;

/**
 * Sends chosen dead-letters back to the job queue, each exactly once, and removes them from the DLQ.
 *
 * Order per message: send the job (idempotency key = the envelope's job key, redrive generation + 1), then delete
 * it from the DLQ. If the run stops between the two, the message shows up again and the next redrive sends the
 * very same message: same key and generation give the same FIFO deduplication id, so SQS drops it within its
 * 5-minute window, and after that the worker skips a generation it has already run. Nothing is lost (the DLQ
 * copy stays until the send succeeded) and nothing runs twice.
 */
export async function redriveDeadLetters(deps: RedriveDeps, options: RedriveOptions): Promise<RedriveReport> {
  const report: RedriveReport = {
    dryRun: options.dryRun ?? false,
    redriven: [],
    skipped: [],
    failed: [],
    notFound: [],
    releaseProblems: [],
    truncated: false,
  };
  const remove = deps.deleteDeadLetter ?? ((message: DeadLetter) => deleteDeadLetter(deps.sqs, deps.deadLetterQueueUrl, message));
  const decided = new Set<string>();
  const wanted = options.mode.kind === 'ids' ? new Set(options.mode.ids) : undefined;
  const pastDeadline = () => options.deadline !== undefined && Date.now() >= options.deadline;
  const probe = deps.holds ? memoizeProbe(deps.holds) : undefined;
  const checkHold = async (message: DeadLetter): Promise<HoldVerdict | undefined> => {
    const hold = options.mode.kind === 'ids' ? undefined : deadLetterHold(message);
    if (!hold || !probe) return undefined;
    return holdVerdict(hold, await probe.facts(hold), deps.clock.now());
  };

  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const scan = await scanDeadLetters(deps.sqs, deps.deadLetterQueueUrl, {
      ...deps.scan,
      ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
    });
    report.truncated ||= scan.truncated;
    const fresh = scan.messages.filter((message) => !decided.has(message.messageId));
    const deleted = new Set<string>();
    try {
      for (const message of fresh) {
        decided.add(message.messageId);
        if (wanted) {
          if (!wanted.has(message.messageId)) continue;
        } else if (options.filter && !matchesFilter(message, options.filter)) {
          continue;
        }
        let hold: HoldVerdict | undefined;
        try {
          hold = await checkHold(message);
        } catch (error) {
          report.failed.push({ messageId: message.messageId, stage: 'check', error: `could not check its hold: ${(error as Error).message}` });
          continue;
        }
        const decision = decideRedrive(message, options.mode, deps.clock.now(), hold);
        if (!decision.redrive) {
          report.skipped.push({
            messageId: message.messageId,
            ...(message.phoneNumberId === undefined ? {} : { phoneNumberId: message.phoneNumberId }),
            category: message.category,
            why: decision.why,
          });
          continue;
        }
        const redriven: RedrivenJob = {
          messageId: message.messageId,
          ...(message.phoneNumberId === undefined ? {} : { phoneNumberId: message.phoneNumberId }),
          ...(message.action === undefined ? {} : { action: message.action }),
          category: message.category,
          jobKey: message.jobKey!,
          generation: message.redriveGeneration + 1,
          ...(hold?.lifted ? { holdLifted: hold.how } : {}),
        };
        if (report.dryRun) {
          report.redriven.push(redriven);
          continue;
        }
        if (pastDeadline()) {
          report.truncated = true;
          break;
        }
        try {
          const sent = await enqueueJob(
            deps.sqs,
            deps.jobQueueUrl,
            { ...message.job!, idempotencyKey: message.jobKey! },
            { redriveGeneration: redriven.generation },
          );
          redriven.jobMessageId = sent.messageId;
        } catch (error) {
          report.failed.push({ messageId: message.messageId, stage: 'send', error: (error as Error).message });
          continue;
        }
        try {
          await remove(message);
          deleted.add(message.messageId);
          report.redriven.push(redriven);
        } catch (error) {
          report.failed.push({
            messageId: message.messageId,
            stage: 'delete',
            error:
              `the job went back to the job queue but stays on the dead-letter queue (${(error as Error).message}); ` +
              'redriving it again re-sends the same message, which SQS and the worker both deduplicate',
          });
        }
      }
    } finally {
      report.releaseProblems.push(...(await scan.release(scan.messages.filter((message) => !deleted.has(message.messageId)))));
    }
    if (report.dryRun || report.truncated || deleted.size === 0 || fresh.length === 0) break;
    if (wanted && [...wanted].every((id) => decided.has(id))) break;
  }
  if (wanted) report.notFound = [...wanted].filter((id) => !decided.has(id));
  return report;
}
