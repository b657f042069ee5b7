import type { Clock } from '../clock.ts';
import { matchesFilter, type DeadLetter, type DeadLetterFilter, type ViewCategory } from './dead-letter.ts';
import { deadLetterHold, holdVerdict, memoizeProbe, type HoldProbe, type HoldVerdict } from './hold-probe.ts';
import type { DeadLetterQueue, RedriveTarget, ScanOptions } from './port.ts';
import { decideRedrive, type RedriveMode } from './redrive-policy.ts';

/** What a redrive works on: the two queues through their ports, a clock, and optionally the hold probe. */
export interface RedriveDeps {
  deadLetters: DeadLetterQueue;
  /** The job queue. */
  jobs: RedriveTarget;
  clock: Clock;
  scan?: ScanOptions;
  /** Replaces the DLQ delete (tests use it to interrupt a redrive between send and delete). */
  deleteDeadLetter?: (message: DeadLetter) => Promise<void>;
  /** Checks whether held dead letters' holds are lifted; without it held categories stay (except by id). */
  holds?: HoldProbe;
}

/** Which messages a run takes, and whether it only says what it would do. */
export interface RedriveOptions {
  mode: RedriveMode;
  /** Narrows `eligible`/`all`; ignored for `ids`. */
  filter?: DeadLetterFilter;
  dryRun?: boolean;
  /** Epoch ms (wall clock): no new send starts after it. */
  deadline?: number;
}

interface RedrivenJob {
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

/** What one run did with each message it saw; the CLI prints it, the scheduled redrive logs it. */
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
  const remove = deps.deleteDeadLetter ?? ((message: DeadLetter) => deps.deadLetters.delete(message));
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
    const scan = await deps.deadLetters.scan({
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
          const sent = await deps.jobs.send(message.job!, message.jobKey!, redriven.generation);
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
