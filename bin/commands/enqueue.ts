import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { BudgetPolicy } from '../../shared/domain/budget.ts';
import { enqueueJobs } from '../../shared/jobs/enqueue.ts';
import { JOB_REASONS, validateJob, type JobV1, type JobV1Input } from '../../shared/jobs/job.v1.ts';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import { budgetWarnings, type BudgetWarning } from '../ops/budget-warnings.ts';
import type { OpsClients } from '../ops/clients.ts';
import { formatFromName, parseJobFile, type FileJob } from '../ops/job-file.ts';
import { requireResource, type Resources } from '../ops/resources.ts';
import { progressBar } from '../views/format.ts';
import {
  BUDGET_HELP,
  BUDGET_OPTIONS,
  budgetPolicy,
  CommandError,
  parse,
  RESOURCE_HELP,
  RESOURCE_OPTIONS,
  UsageError,
  withResources,
  type CliIo,
  type Command,
  type Values,
} from '../cli-support.ts';

const help = `Usage: wa-registrar enqueue register|deregister|set-localization <phoneNumberId> [options]
       wa-registrar enqueue --file jobs.jsonl|jobs.csv [--skip-invalid] [options]

  --region CODE           data-localization region (register, set-localization): AU ID IN JP SG KR DE CH GB BR BH ZA AE CA
  --reason REASON         ${JOB_REASONS.join(' | ')} (default manual)
  --key KEY               idempotency key (default: a random one, printed)
  --file PATH             JSON Lines (.jsonl/.ndjson) or CSV (.csv, header row of job field names)
  --skip-invalid          send the valid lines of a file that has invalid ones (default: send nothing)

Every job is checked with the worker's schema first. Warns when the ledger shows a number has no slots left or
is blocked (the worker will dead-letter such jobs as rate_limited without spending an attempt).
${BUDGET_HELP}
${RESOURCE_HELP}`;

const ACTION_WORDS: Record<string, JobV1['action']> = {
  register: 'register',
  deregister: 'deregister',
  'set-localization': 'set_localization',
  set_localization: 'set_localization',
};

async function run(args: string[], io: CliIo): Promise<void> {
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
    io.stdout.write(`${help}\n`);
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


/** `wa-registrar enqueue`: one job from flags, or many from a file, all validated before anything is sent. */
export const enqueueCommand: Command = { help, run };
