import {
  findDeadLetter,
  HELD_CATEGORIES,
  listDeadLetters,
  purgeDeadLetters,
  redriveDeadLetters,
  SqsDeadLetterQueue,
  SqsRedriveTarget,
  VIEW_CATEGORIES,
  type DeadLetter,
  type RedriveMode,
} from '../../shared/dead-letters/index.ts';
import { requireResource } from '../ops/resources.ts';
import { deadLetterDocument, deadLetterSummary, renderDeadLetter, renderDeadLetterTable } from '../views/dead-letters.ts';
import { table } from '../views/format.ts';
import {
  CommandError,
  FILTER_OPTIONS,
  filterFrom,
  holdProbeFor,
  onePositional,
  parse,
  RESOURCE_HELP,
  RESOURCE_OPTIONS,
  scanOptions,
  UsageError,
  withResources,
  type CliIo,
  type Command,
} from '../cli-support.ts';

const HELP = {
  'dlq list': `Usage: wa-registrar dlq list [--number ID] [--category C] [--code N] [options]

Peeks at every dead-letter (short visibility timeout, released at once; nothing is removed).
Categories: ${VIEW_CATEGORIES.join(', ')}
${RESOURCE_HELP}`,
  'dlq show': `Usage: wa-registrar dlq show <messageId> [options]

The dead-letter's whole envelope: reason, next step, Meta's error, and every request the job made. Never a PIN or token.
${RESOURCE_HELP}`,
  'dlq redrive': `Usage: wa-registrar dlq redrive (--id ID ... | --eligible | --all) [--dry-run] [options]

  --id ID                 exactly these messages (repeatable), whatever their category, once their cause is fixed
  --eligible              rate_limited dead-letters whose eligibleAt has passed, and held ones
                          (${HELD_CATEGORIES.join(', ')}) whose hold is lifted: cleared with
                          \`wa-registrar hold clear\`, or a new version of the refused PIN or token stored
                          (pin_locked never before its eligibleAt). What the 15-minute schedule does.
  --all                   --eligible plus missing_secret and retries_exhausted (each only once eligible);
                          permanent_error and max_receives go back only by --id;
                          invalid_job and unreadable messages never (they carry no job)
  --force                 with --id: send even before eligibleAt
  --number ID --category C --code N   narrow --eligible / --all
  --dry-run               print what would be redriven; change nothing

Each job goes back once, with the same idempotency key and the next redrive generation, then leaves the DLQ.
If a run stops between the two, running it again re-sends the same message, which SQS (deduplication id)
and the worker (generation already run) both drop.
${RESOURCE_HELP}`,
  'dlq purge': `Usage: wa-registrar dlq purge --id ID [--id ID ...] [--yes] [options]

Deletes the named dead-letters for good after showing them and asking for confirmation.
  --yes                   do not ask (for scripts); without a terminal and without --yes, purge refuses.
${RESOURCE_HELP}`,
} as const;

/** Usage of the group, printed for `wa-registrar dlq --help`. */
export const DLQ_HELP = 'Usage: wa-registrar dlq list|show|redrive|purge [options]   (see `wa-registrar dlq <command> --help`)';

async function dlqList(args: string[], io: CliIo): Promise<void> {
  const parsed = parse(args, { ...RESOURCE_OPTIONS, ...FILTER_OPTIONS, region: { type: 'string' } }, 'dlq list');
  if (!parsed) {
    io.stdout.write(`${HELP['dlq list']}\n`);
    return;
  }
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw new UsageError(`dlq list takes no arguments (got "${positionals[0]}")`);
  const filter = filterFrom(values);
  await withResources(values, io, { regionAlias: true }, async (resources, clients) => {
    const queueUrl = requireResource(resources, 'deadLetterQueueUrl');
    const listing = await listDeadLetters(new SqsDeadLetterQueue(clients.sqs, queueUrl), filter, scanOptions(resources, io));
    const now = io.clock.now();
    if (values.json) {
      io.stdout.write(
        `${JSON.stringify(
          {
            messages: listing.messages.map((message) => deadLetterSummary(message, now)),
            seen: listing.seen,
            queueCount: listing.queueCount,
            ...(listing.incomplete ? { incomplete: listing.incomplete } : {}),
          },
          null,
          2,
        )}\n`,
      );
    } else {
      io.stdout.write(`${renderDeadLetterTable(listing.messages, now)}\n`);
      const filtered = listing.messages.length === listing.seen ? '' : ` (${listing.seen} in all before filters)`;
      io.stdout.write(`\n${listing.messages.length} dead-letter(s)${filtered}.\n`);
    }
    if (listing.incomplete) io.stderr.write(`note: ${listing.incomplete}\n`);
    for (const problem of listing.releaseProblems) io.stderr.write(`warning: ${problem} (it reappears after its short timeout)\n`);
  });
}

async function dlqShow(args: string[], io: CliIo): Promise<void> {
  const parsed = parse(args, { ...RESOURCE_OPTIONS, region: { type: 'string' } }, 'dlq show');
  if (!parsed) {
    io.stdout.write(`${HELP['dlq show']}\n`);
    return;
  }
  const { values, positionals } = parsed;
  const messageId = onePositional(positionals, 'dlq show needs one <messageId> (see dlq list)');
  await withResources(values, io, { regionAlias: true }, async (resources, clients) => {
    const queueUrl = requireResource(resources, 'deadLetterQueueUrl');
    const found = await findDeadLetter(new SqsDeadLetterQueue(clients.sqs, queueUrl), messageId, scanOptions(resources, io));
    if (!found.message) {
      throw new CommandError(`no dead-letter ${messageId} is readable on the queue (already redriven or purged, or held by another reader; run dlq list)`);
    }
    const now = io.clock.now();
    io.stdout.write(values.json ? `${JSON.stringify(deadLetterDocument(found.message), null, 2)}\n` : `${renderDeadLetter(found.message, now)}\n`);
  });
}

async function dlqRedrive(args: string[], io: CliIo): Promise<void> {
  const parsed = parse(
    args,
    {
      ...RESOURCE_OPTIONS,
      ...FILTER_OPTIONS,
      region: { type: 'string' },
      id: { type: 'string', multiple: true },
      eligible: { type: 'boolean' },
      all: { type: 'boolean' },
      force: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
    },
    'dlq redrive',
  );
  if (!parsed) {
    io.stdout.write(`${HELP['dlq redrive']}\n`);
    return;
  }
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw new UsageError(`dlq redrive takes its messages as --id (got "${positionals[0]}")`);
  const ids = (values.id as string[] | undefined) ?? [];
  const chosen = [ids.length > 0, Boolean(values.eligible), Boolean(values.all)].filter(Boolean).length;
  if (chosen !== 1) throw new UsageError('dlq redrive needs exactly one of --id ID, --eligible or --all');
  if (values.force && ids.length === 0) throw new UsageError('--force applies only to --id');
  const filter = filterFrom(values);
  if (ids.length > 0 && Object.keys(filter).length > 0) throw new UsageError('--number, --category and --code narrow --eligible and --all, not --id');
  const mode: RedriveMode = ids.length > 0 ? { kind: 'ids', ids, force: Boolean(values.force) } : values.eligible ? { kind: 'eligible' } : { kind: 'all' };
  const dryRun = Boolean(values['dry-run']);
  await withResources(values, io, { regionAlias: true }, async (resources, clients) => {
    const holds = mode.kind === 'ids' ? undefined : holdProbeFor(resources, clients);
    if (mode.kind !== 'ids' && !holds) io.stderr.write('note: no ledger table known (--table), so held dead-letters (PIN, token, verification) were not checked\n');
    const report = await redriveDeadLetters(
      {
        jobs: new SqsRedriveTarget(clients.sqs, requireResource(resources, 'jobQueueUrl')),
        deadLetters: new SqsDeadLetterQueue(clients.sqs, requireResource(resources, 'deadLetterQueueUrl')),
        clock: io.clock,
        scan: { visibilityTimeoutSeconds: 120, ...scanOptions(resources, io) },
        ...(io.redriveDelete ? { deleteDeadLetter: io.redriveDelete } : {}),
        ...(holds ? { holds } : {}),
      },
      { mode, filter, dryRun },
    );
    if (values.json) {
      io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const verb = dryRun ? 'Would redrive' : 'Redrove';
      io.stdout.write(`${verb} ${report.redriven.length} dead-letter(s)${dryRun ? ' (dry run: nothing changed)' : ''}.\n`);
      if (report.redriven.length > 0) {
        const rows = report.redriven.map((job) => [job.messageId, job.phoneNumberId, job.action, job.category, job.jobKey, job.generation, job.jobMessageId]);
        io.stdout.write(`${table(['MESSAGE ID', 'NUMBER', 'ACTION', 'CATEGORY', 'JOB KEY', 'GENERATION', 'NEW JOB MESSAGE'], rows)}\n`);
      }
      const skipped = mode.kind === 'ids' ? report.skipped : report.skipped.filter((item) => item.why !== 'not named');
      if (skipped.length > 0) {
        io.stdout.write(`\nLeft on the dead-letter queue (${skipped.length}):\n`);
        io.stdout.write(`${table(['MESSAGE ID', 'NUMBER', 'CATEGORY', 'WHY'], skipped.map((item) => [item.messageId, item.phoneNumberId, item.category, item.why]))}\n`);
      }
    }
    for (const failure of report.failed) io.stderr.write(`failed ${failure.messageId} (${failure.stage}): ${failure.error}\n`);
    for (const id of report.notFound) io.stderr.write(`not found: ${id} (already redriven or purged, or held by another reader)\n`);
    for (const problem of report.releaseProblems) io.stderr.write(`warning: ${problem}\n`);
    if (report.truncated) io.stderr.write('note: stopped early; run the redrive again for the rest\n');
    if (report.failed.length > 0 || report.notFound.length > 0) {
      throw new CommandError(`${report.failed.length} failed and ${report.notFound.length} not found; run the same command again once the cause is fixed (re-sends are deduplicated)`);
    }
    if (mode.kind === 'ids' && report.redriven.length < ids.length) {
      throw new CommandError(`${ids.length - report.redriven.length} named dead-letter(s) were not redriven (see why above)`);
    }
  });
}

async function dlqPurge(args: string[], io: CliIo): Promise<void> {
  const parsed = parse(args, { ...RESOURCE_OPTIONS, region: { type: 'string' }, id: { type: 'string', multiple: true }, yes: { type: 'boolean', short: 'y' } }, 'dlq purge');
  if (!parsed) {
    io.stdout.write(`${HELP['dlq purge']}\n`);
    return;
  }
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw new UsageError(`dlq purge takes its messages as --id (got "${positionals[0]}")`);
  const ids = (values.id as string[] | undefined) ?? [];
  if (ids.length === 0) throw new UsageError('dlq purge needs at least one --id (see dlq list)');
  const yes = Boolean(values.yes);
  if (!yes && (!io.stdinIsTTY || !io.prompt)) {
    throw new UsageError('dlq purge deletes dead-letters for good and asks for confirmation, but there is no terminal to ask on; pass --yes to confirm in a script');
  }
  await withResources(values, io, { regionAlias: true }, async (resources, clients) => {
    const queueUrl = requireResource(resources, 'deadLetterQueueUrl');
    const now = io.clock.now();
    const report = await purgeDeadLetters(
      new SqsDeadLetterQueue(clients.sqs, queueUrl),
      ids,
      async (targets: DeadLetter[]) => {
        if (yes) return true;
        io.stderr.write(`${renderDeadLetterTable(targets, now)}\n`);
        const answer = await io.prompt!(`Delete these ${targets.length} dead-letter(s) for good? This cannot be undone. Type "yes" to confirm: `);
        return /^y(es)?$/i.test(answer.trim());
      },
      scanOptions(resources, io),
    );
    if (values.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else if (report.cancelled) io.stdout.write('Cancelled; nothing was deleted.\n');
    else io.stdout.write(`Deleted ${report.deleted.length} dead-letter(s)${report.deleted.length > 0 ? `: ${report.deleted.join(', ')}` : ''}.\n`);
    for (const id of report.notFound) io.stderr.write(`not found: ${id}\n`);
    for (const failure of report.failed) io.stderr.write(`failed ${failure.messageId}: ${failure.error}\n`);
    if (report.cancelled) throw new CommandError('purge cancelled at the prompt');
    if (report.notFound.length > 0 || report.failed.length > 0) {
      throw new CommandError(`${report.notFound.length} not found and ${report.failed.length} failed`);
    }
  });
}


/** `wa-registrar dlq list|show|redrive|purge`. */
export const dlqCommands: Record<string, Command> = {
  list: { help: HELP['dlq list'], run: dlqList },
  show: { help: HELP['dlq show'], run: dlqShow },
  redrive: { help: HELP['dlq redrive'], run: dlqRedrive },
  purge: { help: HELP['dlq purge'], run: dlqPurge },
};
