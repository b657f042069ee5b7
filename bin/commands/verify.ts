import { Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { SqsDeadLetterQueue, SqsRedriveTarget, type RedriveReport } from '../../shared/dead-letters/index.ts';
import type { CodeMethod } from '../../shared/graph/port.ts';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import type { NumberHold } from '../../shared/ledger/port.ts';
import { GRAPH_HELP, GRAPH_OPTIONS, graphClientFor, readGraphToken } from '../ops/graph-access.ts';
import { holdLiftedBy } from '../ops/holds.ts';
import { requireResource } from '../ops/resources.ts';
import {
  confirmCode,
  redriveVerifiedNumber,
  requestCode,
  VERIFICATION_CODE,
  VerificationRecordError,
  type VerificationDeps,
  type VerificationFailure,
} from '../ops/verification.ts';
import { formatTime, table } from '../views/format.ts';
import {
  budgetPolicy,
  checkPhoneNumberId,
  CommandError,
  holdProbeFor,
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
  request: `Usage: wa-registrar verify request <phoneNumberId> --method sms|voice [--language en_US] [options]

Asks Meta to send a verification code to the number (POST /{id}/request_code), by SMS or by a voice call, and
records the request on the ledger. The number's owner receives the code; confirm it with \`verify confirm\`.
  --method sms|voice      how Meta sends the code
  --language L            the message's language, a locale such as en_US (default), pt_BR, de
${GRAPH_HELP}
${RESOURCE_HELP}`,
  confirm: `Usage: wa-registrar verify confirm <phoneNumberId> -|<code> [options]

Confirms the code the number's owner received (POST /{id}/verify_code). On success: records it on the ledger,
lifts the number's needs_verification hold (no other hold), and sends the number's jobs that waited for it
(needs_verification dead-letters) back to the job queue, as \`dlq redrive --eligible\` would.
  -                       read the code from stdin: piped, or typed at a hidden prompt on a terminal.
                          Keeps it out of shell history and of the process list. Same as --code-stdin.
  --code-stdin            read the code from stdin (instead of an argument)
  <code>                  the 6 digits as an argument (seen in shell history and ps: prefer -)
The code is never printed, logged, stored or put in an error message.
${GRAPH_HELP}
${RESOURCE_HELP}`,
} as const;

/** Usage of the group, printed for `wa-registrar verify --help`. */
export const VERIFY_HELP = 'Usage: wa-registrar verify request <phoneNumberId> --method sms|voice | verify confirm <phoneNumberId> -   (see `wa-registrar verify <command> --help`)';

/** The CLI's io, plus what `-` reads the code from (tests); the process's stdin by default. */
export type VerifyIo = CliIo & { readCode?: () => Promise<string> };

const LANGUAGE = /^[a-z]{2,3}(_[A-Z]{2})?$/;

async function request(args: string[], io: CliIo): Promise<void> {
  const parsed = parse(args, { ...RESOURCE_OPTIONS, ...GRAPH_OPTIONS, region: { type: 'string' }, method: { type: 'string' }, language: { type: 'string' } }, 'verify request');
  if (!parsed) {
    io.stdout.write(`${HELP.request}\n`);
    return;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError('verify request needs one <phoneNumberId>');
  const phoneNumberId = checkPhoneNumberId(positionals[0]!);
  const method = String(values.method ?? '').toUpperCase();
  if (method !== 'SMS' && method !== 'VOICE') throw new UsageError('verify request needs --method sms or --method voice');
  const language = String(values.language ?? 'en_US');
  if (!LANGUAGE.test(language)) throw new UsageError('--language must be a locale such as en_US, pt_BR or de');
  await withVerification(values, io, async (deps) => {
    const result = await requestCode(deps, { phoneNumberId, method: method as CodeMethod, language });
    if (!result.ok) return fail(io, values, `verify request ${phoneNumberId}`, phoneNumberId, result.failure);
    if (values.json) {
      write(io, { phoneNumberId, requested: true, method, language, requestedAt: iso(result.requestedAt) });
      return;
    }
    io.stdout.write(
      `Meta is sending a verification code to number ${phoneNumberId} by ${method === 'SMS' ? 'SMS' : 'voice call'} (${language}), requested ${formatTime(result.requestedAt)}.\n` +
        `Once the owner has it: wa-registrar verify confirm ${phoneNumberId} -   (reads the code from stdin, so it stays out of shell history)\n`,
    );
  });
}

async function confirm(args: string[], io: CliIo): Promise<void> {
  const parsed = parse(args, { ...RESOURCE_OPTIONS, ...GRAPH_OPTIONS, region: { type: 'string' }, 'code-stdin': { type: 'boolean' } }, 'verify confirm');
  if (!parsed) {
    io.stdout.write(`${HELP.confirm}\n`);
    return;
  }
  const { values, positionals } = parsed;
  const fromStdin = Boolean(values['code-stdin']);
  // Never echo a positional here: one of them may be the code.
  if (positionals.length !== (fromStdin ? 1 : 2)) {
    throw new UsageError(fromStdin ? 'verify confirm --code-stdin takes one <phoneNumberId>' : 'verify confirm needs <phoneNumberId> and the code (or - to read it from stdin)');
  }
  const phoneNumberId = checkPhoneNumberId(positionals[0]!);
  const given = fromStdin ? '-' : positionals[1]!;
  const code = normalizeCode(given === '-' ? await readCode(io as VerifyIo) : given);
  await withVerification(values, io, async (deps, redrive) => {
    const result = await confirmCode(deps, { phoneNumberId, code }).catch((error: unknown) => {
      throw error instanceof VerificationRecordError ? new CommandError(error.message) : error;
    });
    if (!result.ok) {
      const held = result.hold ? ` The number stays held (${result.hold.cause}).` : '';
      return fail(io, values, `verify confirm ${phoneNumberId}`, phoneNumberId, result.failure, held, result.hold);
    }
    const report = await redrive(phoneNumberId).catch((error: unknown) => {
      throw new CommandError(
        `number ${phoneNumberId} is verified${result.liftedHold ? ' and its hold lifted' : ''}, but its held jobs could not be sent back (${(error as Error).message}); ` +
          `run \`wa-registrar dlq redrive --eligible --number ${phoneNumberId}\``,
      );
    });
    if (values.json) {
      write(io, {
        phoneNumberId,
        verified: true,
        via: result.via,
        confirmedAt: iso(result.confirmedAt),
        ...(result.liftedHold ? { liftedHold: holdDocument(result.liftedHold) } : {}),
        ...(result.remainingHold ? { remainingHold: holdDocument(result.remainingHold) } : {}),
        redrive: report,
      });
    } else {
      io.stdout.write(`${renderConfirmation(phoneNumberId, result, report, deps.now)}\n`);
    }
    for (const failure of report.failed) io.stderr.write(`failed ${failure.messageId} (${failure.stage}): ${failure.error}\n`);
    for (const problem of report.releaseProblems) io.stderr.write(`warning: ${problem}\n`);
    if (report.truncated) io.stderr.write('note: stopped early; run `wa-registrar dlq redrive --eligible` for the rest\n');
    if (report.failed.length > 0) {
      throw new CommandError(
        `number ${phoneNumberId} is verified, but ${report.failed.length} held job(s) did not go back; run \`wa-registrar dlq redrive --eligible --number ${phoneNumberId}\` (re-sends are deduplicated)`,
      );
    }
  });
}

/** Resolves everything a step needs before Meta is called, so nothing fails after Meta has acted but for the ledger. */
async function withVerification(
  values: Record<string, string | boolean | string[] | undefined>,
  io: CliIo,
  run: (deps: VerificationDeps, redrive: (phoneNumberId: string) => Promise<RedriveReport>) => Promise<void>,
): Promise<void> {
  // The number item's TTL is recomputed on write with the worker's window settings (from the environment).
  const policy = budgetPolicy({}, io.env);
  await withResources(values, io, { regionAlias: true }, async (resources, clients) => {
    const ledger = new DynamoDbAttemptLedger(clients.dynamodb, requireResource(resources, 'ledgerTableName'));
    const jobQueueUrl = requireResource(resources, 'jobQueueUrl');
    const deadLetterQueueUrl = requireResource(resources, 'deadLetterQueueUrl');
    const graph = graphClientFor(values, io.env, resources, () => io.clock.now());
    const token = await readGraphToken(clients.secretsManager, values, io.env, resources);
    const holds = holdProbeFor(resources, clients);
    const redrive = (phoneNumberId: string) =>
      redriveVerifiedNumber(
        {
          jobs: new SqsRedriveTarget(clients.sqs, jobQueueUrl),
          deadLetters: new SqsDeadLetterQueue(clients.sqs, deadLetterQueueUrl),
          clock: io.clock,
          scan: { visibilityTimeoutSeconds: 120, ...scanOptions(resources, io) },
          ...(io.redriveDelete ? { deleteDeadLetter: io.redriveDelete } : {}),
          ...(holds ? { holds } : {}),
        },
        phoneNumberId,
      );
    await run({ ledger, graph, token, now: io.clock.now(), policy }, redrive);
  });
}

/** Prints the failure (a document with --json) and exits 1 with one line in plain words. Never the code. */
function fail(
  io: CliIo,
  values: Record<string, unknown>,
  what: string,
  phoneNumberId: string,
  failure: VerificationFailure,
  extra = '',
  hold?: NumberHold,
): never {
  const now = io.clock.now();
  const retryAt = failure.regainAfterSeconds === undefined ? undefined : now + failure.regainAfterSeconds * 1000;
  if (values.json) {
    write(io, {
      phoneNumberId,
      ok: false,
      error: { ...failure, ...(retryAt === undefined ? {} : { retryAt: iso(retryAt) }) },
      ...(hold ? { hold: holdDocument(hold) } : {}),
    });
  }
  const facts = [
    failure.code === undefined ? undefined : `Meta error ${failure.code}`,
    failure.httpStatus === undefined ? undefined : `HTTP ${failure.httpStatus}`,
    failure.fbtraceId === undefined ? undefined : `fbtrace_id ${failure.fbtraceId}`,
    failure.metaMessage === undefined ? undefined : `"${failure.metaMessage}"`,
    retryAt === undefined ? undefined : `throttled until ${formatTime(retryAt)}`,
  ].filter(Boolean);
  throw new CommandError(`${what}: ${failure.sentence}${extra} Next: ${failure.next}${facts.length > 0 ? ` (${facts.join(', ')})` : ''}`);
}

function renderConfirmation(
  phoneNumberId: string,
  result: Extract<Awaited<ReturnType<typeof confirmCode>>, { ok: true }>,
  report: RedriveReport,
  now: number,
): string {
  const lines = [
    result.via === 'verify_code'
      ? `Number ${phoneNumberId} is verified: Meta accepted the code (${formatTime(result.confirmedAt)}).`
      : `Number ${phoneNumberId} is verified: Meta gave no answer to verify_code, but the number reads VERIFIED (${formatTime(result.confirmedAt)}).`,
  ];
  const lifted = result.liftedHold;
  lines.push(lifted ? `Lifted the needs_verification hold (since ${formatTime(lifted.since)}): ${lifted.detail}.` : 'The number had no verification hold.');
  if (result.remainingHold) {
    lines.push(`Still held (${result.remainingHold.cause}): verify lifts only a needs_verification hold. ${holdLiftedBy(phoneNumberId, result.remainingHold, now)}`);
  }
  if (report.redriven.length === 0) {
    lines.push('No held job of this number was waiting on the dead-letter queue.');
  } else {
    lines.push(`Sent ${report.redriven.length} held job(s) back to the job queue:`);
    lines.push(table(['MESSAGE ID', 'ACTION', 'JOB KEY', 'GENERATION', 'NEW JOB MESSAGE'], report.redriven.map((job) => [job.messageId, job.action, job.jobKey, job.generation, job.jobMessageId])));
  }
  if (report.skipped.length > 0) {
    lines.push(`Left on the dead-letter queue (${report.skipped.length}):`);
    lines.push(table(['MESSAGE ID', 'CATEGORY', 'WHY'], report.skipped.map((item) => [item.messageId, item.category, item.why])));
  }
  return lines.join('\n');
}

/** `123456`, `123-456` or `123 456` (as Meta's SMS shows it) → `123456`; anything else is a usage error that names no digit. */
function normalizeCode(raw: string): string {
  const code = raw.trim().replace(/^(\d{3})[-\s](\d{3})$/, '$1$2');
  if (!VERIFICATION_CODE.test(code)) throw new UsageError('the verification code must be exactly 6 digits (what was given is not shown)');
  return code;
}

/** The code from the test hook, else the process's stdin: piped, or a hidden prompt on a terminal. */
function readCode(io: VerifyIo): Promise<string> {
  if (io.readCode) return io.readCode();
  return process.stdin.isTTY ? readHidden('Verification code (not shown): ') : readPiped();
}

/** At most this much is read from a pipe: a code and a newline, with room to spare. */
const MAX_STDIN_BYTES = 1024;

async function readPiped(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_STDIN_BYTES) throw new UsageError('stdin holds more than a verification code');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** One line from the terminal with echo off: readline writes its echo to a stream that drops it. */
function readHidden(prompt: string): Promise<string> {
  process.stderr.write(prompt);
  const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
  const readline = createInterface({ input: process.stdin, output: silent, terminal: true });
  return new Promise<string>((resolve, reject) => {
    let answered = false;
    readline.on('SIGINT', () => readline.close());
    readline.on('close', () => {
      process.stderr.write('\n');
      if (!answered) reject(new UsageError('no verification code was entered'));
    });
    readline.question('', (answer) => {
      answered = true;
      resolve(answer);
      readline.close();
    });
  });
}

function holdDocument(hold: NumberHold) {
  return { ...hold, since: iso(hold.since), ...(hold.until === undefined ? {} : { until: iso(hold.until) }) };
}

function write(io: CliIo, document: unknown): void {
  io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
}

const iso = (ms: number) => new Date(ms).toISOString();

/** `wa-registrar verify request|confirm`. */
export const verifyCommands: Record<string, Command> = {
  request: { help: HELP.request, run: request },
  confirm: { help: HELP.confirm, run: confirm },
};
