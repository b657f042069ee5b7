import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { systemClock, type Clock, HOUR_MS } from '../shared/clock.ts';
import type { BudgetPolicy } from '../shared/domain/budget.ts';
import { enqueueJobs } from '../shared/jobs/enqueue.ts';
import { JOB_REASONS, validateJob, type JobV1, type JobV1Input } from '../shared/jobs/job.v1.ts';
import { DynamoDbAttemptLedger } from '../shared/ledger/dynamodb-ledger.ts';
import { budgetWarnings, type BudgetWarning } from '../shared/ops/budget-warnings.ts';
import { createOpsClients, isLocalEndpoint, type OpsClients } from '../shared/ops/clients.ts';
import { VIEW_CATEGORIES, type DeadLetter, type DeadLetterFilter, type ScanOptions, type ViewCategory } from '../shared/ops/dead-letters.ts';
import {
  deadLetterDocument,
  deadLetterSummary,
  findDeadLetter,
  listDeadLetters,
  purgeDeadLetters,
  renderDeadLetter,
  renderDeadLetterTable,
} from '../shared/ops/dlq.ts';
import { progressBar, table } from '../shared/ops/format.ts';
import { formatFromName, parseJobFile, type FileJob } from '../shared/ops/job-file.ts';
import { redriveDeadLetters, type RedriveDeps, type RedriveMode } from '../shared/ops/redrive.ts';
import { requireResource, resolveResources, ResourceError, type ResolveContext, type Resources } from '../shared/ops/resources.ts';
import { readStatus, renderStatus } from '../shared/ops/status.ts';

/** Where the CLI reads and writes; tests pass their own. */
export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  stdinIsTTY: boolean;
  env: Record<string, string | undefined>;
  cwd: string;
  clock: Clock;
  /** Asks a question on the terminal; absent when there is none. */
  prompt?: (question: string) => Promise<string>;
  /** Test hooks. */
  describeStack?: ResolveContext['describeStack'];
  redriveDelete?: RedriveDeps['deleteDeadLetter'];
  scan?: ScanOptions;
}

/** Wrong arguments: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command ran and failed: exit code 1. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

const RESOURCE_OPTIONS = {
  'job-queue-url': { type: 'string' },
  'dlq-url': { type: 'string' },
  table: { type: 'string' },
  'aws-region': { type: 'string' },
  endpoint: { type: 'string' },
  stack: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

const BUDGET_OPTIONS = {
  limit: { type: 'string' },
  'window-hours': { type: 'string' },
  budget: { type: 'string' },
} as const satisfies Options;

const FILTER_OPTIONS = {
  number: { type: 'string' },
  category: { type: 'string' },
  code: { type: 'string' },
} as const satisfies Options;

const RESOURCE_HELP = `
Where (default: .wa-registrar/local-stack.json, written by \`npm start\`):
  --stack NAME            read queues and table from a deployed stack's outputs
  --job-queue-url URL     --dlq-url URL     --table NAME
  --aws-region REGION     (AWS_REGION)       --endpoint URL   (an emulator)
  --json                  machine-readable output
  -h, --help`;

const BUDGET_HELP = `
Budget settings (the worker's defaults; env ATTEMPT_LIMIT, ATTEMPT_WINDOW_HOURS, ATTEMPT_BUDGET_SHARED):
  --limit N               requests per window (10)
  --window-hours H        window length (72)
  --budget shared|separate  one budget for register+deregister (shared), or one each`;

const HELP: Record<string, string> = {
  main: `wa-registrar: operate the WhatsApp number registrar

Usage: wa-registrar <command> [options]

Commands:
  status <phoneNumberId>                  the number's attempt window: requests, slots left, blocks
  enqueue register|deregister|set-localization <phoneNumberId>   queue one job
  enqueue --file jobs.jsonl|jobs.csv      queue many jobs (all validated before anything is sent)
  dlq list                                what is dead-lettered, and why
  dlq show <messageId>                    one dead-letter's envelope and request history
  dlq redrive --id ID | --eligible | --all [--dry-run]   send dead-letters back to the job queue
  dlq purge --id ID [--yes]               delete dead-letters for good

Run \`wa-registrar <command> --help\` for a command's options. Exit codes: 0 ok, 1 failed, 2 usage.
Region flag: --aws-region (also --region on every command except enqueue, where --region is the data-localization region).`,
  status: `Usage: wa-registrar status <phoneNumberId> [options]

Shows, per budget counter, the requests in the current window (time, operation, reason, outcome, code),
the slots left, when the next slot frees, and any block by Meta (133016).
${BUDGET_HELP}
${RESOURCE_HELP}`,
  enqueue: `Usage: wa-registrar enqueue register|deregister|set-localization <phoneNumberId> [options]
       wa-registrar enqueue --file jobs.jsonl|jobs.csv [--skip-invalid] [options]

  --region CODE           data-localization region (register, set-localization): AU ID IN JP SG KR DE CH GB BR BH ZA AE CA
  --reason REASON         ${JOB_REASONS.join(' | ')} (default manual)
  --key KEY               idempotency key (default: a random one, printed)
  --file PATH             JSON Lines (.jsonl/.ndjson) or CSV (.csv, header row of job field names)
  --skip-invalid          send the valid lines of a file that has invalid ones (default: send nothing)

Every job is checked with the worker's schema first. Warns when the ledger shows a number has no slots left or
is blocked (the worker will dead-letter such jobs as rate_limited without spending an attempt).
${BUDGET_HELP}
${RESOURCE_HELP}`,
  'dlq list': `Usage: wa-registrar dlq list [--number ID] [--category C] [--code N] [options]

Peeks at every dead-letter (short visibility timeout, released at once; nothing is removed).
Categories: ${VIEW_CATEGORIES.join(', ')}
${RESOURCE_HELP}`,
  'dlq show': `Usage: wa-registrar dlq show <messageId> [options]

The dead-letter's whole envelope: reason, next step, Meta's error, and every request the job made. Never a PIN or token.
${RESOURCE_HELP}`,
  'dlq redrive': `Usage: wa-registrar dlq redrive (--id ID ... | --eligible | --all) [--dry-run] [options]

  --id ID                 exactly these messages (repeatable), whatever their category, once their cause is fixed
  --eligible              rate_limited dead-letters whose eligibleAt has passed (what the 15-minute schedule does)
  --all                   --eligible plus missing_secret and retries_exhausted (each only once eligible);
                          permanent_error, needs_verification and max_receives go back only by --id;
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
  dlq: `Usage: wa-registrar dlq list|show|redrive|purge [options]   (see \`wa-registrar dlq <command> --help\`)`,
};

/** Runs one CLI invocation; returns the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    await dispatch(argv, io);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`wa-registrar: ${error.message}\n`);
      return 2;
    }
    io.stderr.write(`wa-registrar: ${describeFailure(error)}\n`);
    if (io.env.WA_REGISTRAR_DEBUG === '1' && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return 1;
  }
}

/** Runs the CLI in-process with no terminal and returns what it printed (the local run, tests and benchmarks). */
export async function runCliCaptured(
  argv: string[],
  io: Omit<CliIo, 'stdout' | 'stderr' | 'stdinIsTTY'>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    ...io,
    stdinIsTTY: false,
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

async function dispatch(argv: string[], io: CliIo): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(`${HELP.main}\n`);
    if (command === undefined) throw new UsageError('a command is required (status, enqueue, dlq)');
    return;
  }
  switch (command) {
    case 'status':
      return status(rest, io);
    case 'enqueue':
      return enqueue(rest, io);
    case 'dlq': {
      const [sub, ...args] = rest;
      if (sub === undefined || sub === '--help' || sub === '-h') {
        io.stdout.write(`${HELP.dlq}\n`);
        if (sub === undefined) throw new UsageError('dlq needs a command: list, show, redrive or purge');
        return;
      }
      if (sub === 'list') return dlqList(args, io);
      if (sub === 'show') return dlqShow(args, io);
      if (sub === 'redrive') return dlqRedrive(args, io);
      if (sub === 'purge') return dlqPurge(args, io);
      throw new UsageError(`unknown dlq command "${sub}"; expected list, show, redrive or purge`);
    }
    default:
      throw new UsageError(`unknown command "${command}"; run wa-registrar --help`);
  }
}

// ---------------------------------------------------------------- status

async function status(args: string[], io: CliIo): Promise<void> {
  const parsed = parse(args, { ...RESOURCE_OPTIONS, ...BUDGET_OPTIONS, region: { type: 'string' } }, 'status');
  if (!parsed) {
    io.stdout.write(`${HELP.status}\n`);
    return;
  }
  const { values, positionals } = parsed;
  const phoneNumberId = onePositional(positionals, 'status needs one <phoneNumberId>');
  if (!/^\d{1,20}$/.test(phoneNumberId)) throw new UsageError('phoneNumberId must be 1-20 digits');
  const policy = budgetPolicy(values, io.env);
  await withResources(values, io, { regionAlias: true }, async (resources, clients) => {
    const ledger = new DynamoDbAttemptLedger(clients.dynamodb, requireResource(resources, 'ledgerTableName'));
    const view = await readStatus(ledger, phoneNumberId, policy, io.clock.now());
    io.stdout.write(values.json ? `${JSON.stringify(view, null, 2)}\n` : `${renderStatus(view)}\n`);
  });
}

// ---------------------------------------------------------------- enqueue

const ACTION_WORDS: Record<string, JobV1['action']> = {
  register: 'register',
  deregister: 'deregister',
  'set-localization': 'set_localization',
  set_localization: 'set_localization',
};

async function enqueue(args: string[], io: CliIo): Promise<void> {
  const parsed = parse(
    args,
    {
      ...RESOURCE_OPTIONS,
      ...BUDGET_OPTIONS,
      region: { type: 'string' },
      reason: { type: 'string' },
      key: { type: 'string' },
      file: { type: 'string' },
      'skip-invalid': { type: 'boolean' },
    },
    'enqueue',
  );
  if (!parsed) {
    io.stdout.write(`${HELP.enqueue}\n`);
    return;
  }
  const { values, positionals } = parsed;
  const policy = budgetPolicy(values, io.env);
  if (values.file !== undefined) {
    if (positionals.length > 0) throw new UsageError('enqueue --file takes no action or number; they come from the file');
    for (const flag of ['region', 'reason', 'key'] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} applies to a single job, not to --file`);
    }
    return enqueueFile(String(values.file), Boolean(values['skip-invalid']), values, policy, io);
  }
  if (positionals.length !== 2) throw new UsageError('enqueue needs <register|deregister|set-localization> <phoneNumberId>, or --file');
  const [word, phoneNumberId] = positionals as [string, string];
  const action = ACTION_WORDS[word];
  if (!action) throw new UsageError(`unknown action "${word}"; expected register, deregister or set-localization`);
  const input: JobV1Input = {
    action,
    phoneNumberId,
    ...(values.region === undefined ? {} : { dataLocalizationRegion: String(values.region) as never }),
    ...(values.reason === undefined ? {} : { reason: String(values.reason) as never }),
    ...(values.key === undefined ? {} : { idempotencyKey: String(values.key) }),
  };
  const checked = validateJob(input);
  if (!checked.ok) {
    const hint = /dataLocalizationRegion/.test(checked.error) && values.region && /-/.test(String(values.region))
      ? ' (on enqueue, --region is the data-localization region; the AWS region is --aws-region)'
      : '';
    throw new UsageError(`not a valid job: ${checked.error}${hint}; nothing was sent`);
  }
  await withResources(values, io, { regionAlias: false }, async (resources, clients) => {
    const queueUrl = requireResource(resources, 'jobQueueUrl');
    const warnings = await warnAboutBudgets([checked.job], resources, clients, policy, io);
    const result = await enqueueJobs(clients.sqs, queueUrl, [checked.job]);
    const sent = result.sent[0];
    if (!sent) throw new CommandError(`SQS refused the job: ${result.failed[0]?.error ?? 'no reason given'}`);
    if (values.json) {
      io.stdout.write(`${JSON.stringify({ sent: [{ ...sent, job: { ...checked.job, idempotencyKey: sent.idempotencyKey } }], warnings }, null, 2)}\n`);
    } else {
      const region = checked.job.dataLocalizationRegion ? ` (region ${checked.job.dataLocalizationRegion})` : '';
      io.stdout.write(`Queued ${checked.job.action} for ${phoneNumberId}${region}: idempotency key ${sent.idempotencyKey}, message ${sent.messageId}\n`);
    }
  });
}

async function enqueueFile(path: string, skipInvalid: boolean, values: Values, policy: BudgetPolicy, io: CliIo): Promise<void> {
  const format = formatFromName(path);
  if (!format) throw new UsageError(`cannot tell the format of ${path}: name it .jsonl, .ndjson or .csv`);
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, path), 'utf8');
  } catch (error) {
    throw new CommandError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const file = parseJobFile(text, format);
  const total = file.jobs.length + file.invalid.length;
  if (file.invalid.length > 0) {
    const shown = file.invalid.slice(0, 50);
    for (const problem of shown) io.stderr.write(`${path}:${problem.line}: ${problem.error}\n`);
    if (file.invalid.length > shown.length) io.stderr.write(`... and ${file.invalid.length - shown.length} more invalid line(s)\n`);
    if (!skipInvalid) {
      throw new CommandError(
        `nothing was sent: ${file.invalid.length} of ${total} job(s) in ${path} are not valid. ` +
          `Fix them, or pass --skip-invalid to send the ${file.jobs.length} valid one(s).`,
      );
    }
  }
  if (file.jobs.length === 0) throw new CommandError(`${path} holds no valid job; nothing was sent`);
  await withResources(values, io, { regionAlias: false }, async (resources, clients) => {
    const queueUrl = requireResource(resources, 'jobQueueUrl');
    const jobs = file.jobs.map((entry) => entry.job);
    const warnings = await warnAboutBudgets(jobs, resources, clients, policy, io);
    const progress = progressReporter(io, jobs.length);
    const started = performance.now();
    const result = await enqueueJobs(clients.sqs, queueUrl, jobs, { onProgress: progress.update });
    progress.done();
    const seconds = (performance.now() - started) / 1000;
    const keyless = jobs.filter((job) => job.idempotencyKey === undefined).length;
    const failed = result.failed.map((failure) => ({ line: (file.jobs[failure.index] as FileJob).line, error: failure.error }));
    if (values.json) {
      io.stdout.write(
        `${JSON.stringify({ sent: result.sent.length, failed, skippedInvalid: file.invalid, warnings, seconds: Number(seconds.toFixed(2)) }, null, 2)}\n`,
      );
    } else {
      const parts = [`Sent ${result.sent.length} of ${total} job(s) from ${path} in ${seconds.toFixed(1)} s`];
      if (file.invalid.length > 0) parts.push(`${file.invalid.length} invalid line(s) skipped`);
      if (failed.length > 0) parts.push(`${failed.length} refused by SQS`);
      if (warnings.length > 0) parts.push(`${warnings.length} number(s) short of slots`);
      io.stdout.write(`${parts.join('; ')}.\n`);
      if (keyless > 0) {
        io.stdout.write(`${keyless} job(s) had no idempotencyKey and got a random one: sending this file again would queue them again.\n`);
      }
      for (const failure of failed) io.stderr.write(`${path}:${failure.line}: not sent: ${failure.error}\n`);
    }
    if (failed.length > 0) throw new CommandError(`${failed.length} job(s) were not sent; the others were`);
  });
}

async function warnAboutBudgets(jobs: JobV1[], resources: Resources, clients: OpsClients, policy: BudgetPolicy, io: CliIo): Promise<BudgetWarning[]> {
  if (!resources.ledgerTableName) {
    io.stderr.write('note: no ledger table known (--table), so slots were not checked before sending\n');
    return [];
  }
  const ledger = new DynamoDbAttemptLedger(clients.dynamodb, resources.ledgerTableName);
  const warnings = await budgetWarnings(ledger, jobs, policy, io.clock.now());
  const shown = warnings.slice(0, 20);
  for (const warning of shown) io.stderr.write(`warning: ${warning.message}\n`);
  if (warnings.length > shown.length) io.stderr.write(`warning: ... and ${warnings.length - shown.length} more number(s) short of slots\n`);
  return warnings;
}

/** A bar redrawn in place on a terminal; a plain line per 10% otherwise (logs, CI). */
function progressReporter(io: CliIo, total: number) {
  const tty = Boolean(io.stderr.isTTY);
  let lastDecile = -1;
  return {
    update: (done: number) => {
      if (tty) {
        io.stderr.write(`\r${progressBar(done, total)} jobs sent`);
        return;
      }
      const decile = Math.floor((done / total) * 10);
      if (decile !== lastDecile && (decile > lastDecile || done === total)) {
        lastDecile = decile;
        io.stderr.write(`sent ${done}/${total}\n`);
      }
    },
    done: () => {
      if (tty) io.stderr.write('\n');
    },
  };
}

// ---------------------------------------------------------------- dlq

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
    const listing = await listDeadLetters(clients.sqs, queueUrl, filter, scanOptions(resources, io));
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
    const found = await findDeadLetter(clients.sqs, queueUrl, messageId, scanOptions(resources, io));
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
    const report = await redriveDeadLetters(
      {
        sqs: clients.sqs,
        jobQueueUrl: requireResource(resources, 'jobQueueUrl'),
        deadLetterQueueUrl: requireResource(resources, 'deadLetterQueueUrl'),
        clock: io.clock,
        scan: { visibilityTimeoutSeconds: 120, ...scanOptions(resources, io) },
        ...(io.redriveDelete ? { deleteDeadLetter: io.redriveDelete } : {}),
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
      clients.sqs,
      queueUrl,
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

// ---------------------------------------------------------------- plumbing

type Values = Record<string, string | boolean | string[] | undefined>;

/** Parses options; returns undefined when --help was asked for. Unknown options are usage errors. */
function parse(args: string[], options: Options, command: string): { values: Values; positionals: string[] } | undefined {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message.replace(/\. To specify a positional argument.*$/s, '')}; see wa-registrar ${command} --help`);
  }
  const values = parsed.values as Values;
  if (values.help) return undefined;
  return { values, positionals: parsed.positionals };
}

function onePositional(positionals: string[], message: string): string {
  if (positionals.length !== 1) throw new UsageError(message);
  return positionals[0]!;
}

function filterFrom(values: Values): DeadLetterFilter {
  const filter: DeadLetterFilter = {};
  if (values.number !== undefined) filter.phoneNumberId = String(values.number);
  if (values.category !== undefined) {
    const category = String(values.category);
    if (!VIEW_CATEGORIES.includes(category as ViewCategory)) {
      throw new UsageError(`--category must be one of ${VIEW_CATEGORIES.join(', ')}`);
    }
    filter.category = category as ViewCategory;
  }
  if (values.code !== undefined) {
    const code = Number(values.code);
    if (!Number.isInteger(code)) throw new UsageError('--code must be a whole number (a Meta error code such as 133016)');
    filter.code = code;
  }
  return filter;
}

/** The budget settings, from flags, else the worker's variables, else the worker's defaults. */
export function budgetPolicy(values: Values, env: Record<string, string | undefined>): BudgetPolicy {
  const int = (flag: string, envName: string, fallback: number, min: number, max: number) => {
    const raw = (values[flag] as string | undefined) ?? env[envName];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new UsageError(`${values[flag] !== undefined ? `--${flag}` : envName} must be a whole number from ${min} to ${max}`);
    }
    return value;
  };
  const limit = int('limit', 'ATTEMPT_LIMIT', 10, 1, 10);
  const windowHours = int('window-hours', 'ATTEMPT_WINDOW_HOURS', 72, 1, 24 * 14);
  const blockHours = int('block-hours', 'BLOCK_HOURS', 72, 1, 24 * 14);
  let shared = true;
  if (values.budget !== undefined) {
    if (values.budget !== 'shared' && values.budget !== 'separate') throw new UsageError('--budget must be shared or separate');
    shared = values.budget === 'shared';
  } else if (env.ATTEMPT_BUDGET_SHARED !== undefined && env.ATTEMPT_BUDGET_SHARED !== '') {
    if (!['true', 'false'].includes(env.ATTEMPT_BUDGET_SHARED)) throw new UsageError('ATTEMPT_BUDGET_SHARED must be "true" or "false"');
    shared = env.ATTEMPT_BUDGET_SHARED === 'true';
  }
  return { limit, windowMs: windowHours * HOUR_MS, shared, blockMs: blockHours * HOUR_MS };
}

async function withResources(
  values: Values,
  io: CliIo,
  { regionAlias }: { regionAlias: boolean },
  run: (resources: Resources, clients: OpsClients) => Promise<void>,
): Promise<void> {
  const region = (values['aws-region'] as string | undefined) ?? (regionAlias ? (values.region as string | undefined) : undefined);
  const resources = await resolveResources(
    {
      ...(values['job-queue-url'] ? { jobQueueUrl: String(values['job-queue-url']) } : {}),
      ...(values['dlq-url'] ? { deadLetterQueueUrl: String(values['dlq-url']) } : {}),
      ...(values.table ? { ledgerTableName: String(values.table) } : {}),
      ...(region ? { region } : {}),
      ...(values.endpoint ? { endpoint: String(values.endpoint) } : {}),
      ...(values.stack ? { stack: String(values.stack) } : {}),
    },
    { cwd: io.cwd, env: io.env, ...(io.describeStack ? { describeStack: io.describeStack } : {}) },
  );
  const clients = createOpsClients(resources, io.env);
  try {
    await run(resources, clients);
  } catch (error) {
    throw explainAwsError(error, resources);
  } finally {
    clients.destroy();
  }
}

function scanOptions(resources: Resources, io: CliIo): ScanOptions {
  // Real SQS short polls can miss messages; an emulator answers every receive fully.
  return { waitTimeSeconds: isLocalEndpoint(resources.endpoint) ? 0 : 1, ...io.scan };
}

/** Turns SDK and network failures into sentences that say what to check. */
function explainAwsError(error: unknown, resources: Resources): unknown {
  if (error instanceof UsageError || error instanceof CommandError || error instanceof ResourceError) return error;
  const err = error as Error & { code?: string; cause?: { code?: string }; $metadata?: unknown };
  const code = err.code ?? err.cause?.code ?? '';
  const where = resources.endpoint ? `${resources.endpoint} (from ${resources.source})` : `AWS${resources.region ? ` in ${resources.region}` : ''}`;
  if (['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code) || /ECONNREFUSED/.test(String(err.message))) {
    const hint = resources.source.endsWith('local-stack.json') ? ': is the local run (npm start) still running?' : '';
    return new CommandError(`cannot reach ${where}${hint}`);
  }
  if (err.name === 'QueueDoesNotExist' || err.name === 'AWS.SimpleQueueService.NonExistentQueue') {
    return new CommandError(`the queue does not exist at ${where}; check --job-queue-url / --dlq-url or the stack`);
  }
  if (err.name === 'ResourceNotFoundException') {
    return new CommandError(`the ledger table ${resources.ledgerTableName ?? ''} does not exist at ${where}; check --table or the stack`);
  }
  if (err.name === 'CredentialsProviderError') return new CommandError(`no AWS credentials: ${err.message}`);
  if (/Region is missing/i.test(String(err.message))) return new CommandError('no AWS region: pass --aws-region or set AWS_REGION');
  return error;
}

function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    return error instanceof CommandError || error instanceof ResourceError ? error.message : `${error.name}: ${error.message}`;
  }
  return String(error);
}

/** The real process: stdio, environment, a terminal prompt when there is one. */
export async function main(argv: string[]): Promise<number> {
  const stdinIsTTY = Boolean(process.stdin.isTTY);
  return runCli(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    stdinIsTTY,
    env: process.env,
    cwd: process.cwd(),
    clock: systemClock,
    ...(stdinIsTTY
      ? {
          prompt: async (question: string) => {
            const readline = createInterface({ input: process.stdin, output: process.stderr });
            try {
              return await readline.question(question);
            } finally {
              readline.close();
            }
          },
        }
      : {}),
  });
}

