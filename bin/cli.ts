import { createInterface } from 'node:readline/promises';
import { systemClock } from '../shared/clock.ts';
import { describeFailure, UsageError, type CliIo, type Command } from './cli-support.ts';
import { DLQ_HELP, dlqCommands } from './commands/dlq.ts';
import { enqueueCommand } from './commands/enqueue.ts';
import { explainCommand } from './commands/explain.ts';
import { HOLD_HELP, holdCommands } from './commands/hold.ts';
import { PIN_HELP, pinCommands } from './commands/pin.ts';
import { statusCommand } from './commands/status.ts';
import { VERIFY_HELP, verifyCommands } from './commands/verify.ts';

export type { CliIo } from './cli-support.ts';

const MAIN_HELP = `wa-registrar: operate the WhatsApp number registrar

Usage: wa-registrar <command> [options]

Commands:
  status <phoneNumberId>                  the number's attempt window: requests, slots left, blocks, hold, gates
  explain <phoneNumberId>                 why the number is not live: a verdict, the next step, and a timeline
  enqueue register|deregister|set-localization <phoneNumberId>   queue one job
  enqueue --file jobs.jsonl|jobs.csv      queue many jobs (all validated before anything is sent)
  dlq list                                what is dead-lettered, and why
  dlq show <messageId>                    one dead-letter's envelope and request history
  dlq redrive --id ID | --eligible | --all [--dry-run]   send dead-letters back to the job queue
  dlq purge --id ID [--yes]               delete dead-letters for good
  hold clear <phoneNumberId> [--force]    lift a number's hold (wrong PIN, PIN lockout, verification)
  hold clear --token                      open the app's token gate (after Meta refused the token)
  pin provision <phoneNumberId> [--force] [--reveal]   store a new random PIN as the number's PIN secret
  pin rotate <phoneNumberId>              change the PIN at Meta and in its secret together (Secrets Manager rotation)
  verify request <phoneNumberId> --method sms|voice   ask Meta to send the number a verification code
  verify confirm <phoneNumberId> -        confirm the code (read from stdin), lift the verification hold, redrive

Run \`wa-registrar <command> --help\` for a command's options. Exit codes: 0 ok, 1 failed, 2 usage.
Region flag: --aws-region (also --region on every command except enqueue, where --region is the data-localization region).`;

/** A command, or a group of subcommands with its own usage line. */
type Entry = Command | { group: true; help: string; commands: Record<string, Command> };

/** The command table: `dispatch` routes on it, each command lives in its own module under bin/commands/. */
const COMMANDS: Record<string, Entry> = {
  status: statusCommand,
  explain: explainCommand,
  enqueue: enqueueCommand,
  dlq: { group: true, help: DLQ_HELP, commands: dlqCommands },
  hold: { group: true, help: HOLD_HELP, commands: holdCommands },
  pin: { group: true, help: PIN_HELP, commands: pinCommands },
  verify: { group: true, help: VERIFY_HELP, commands: verifyCommands },
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
    io.stdout.write(`${MAIN_HELP}\n`);
    if (command === undefined) throw new UsageError(`a command is required (${Object.keys(COMMANDS).join(', ')})`);
    return;
  }
  const entry = COMMANDS[command];
  if (!entry) throw new UsageError(`unknown command "${command}"; run wa-registrar --help`);
  if (!('group' in entry)) return entry.run(rest, io);
  const [sub, ...args] = rest;
  const names = listed(Object.keys(entry.commands));
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.stdout.write(`${entry.help}\n`);
    if (sub === undefined) throw new UsageError(`${command} needs a command: ${names}`);
    return;
  }
  const subcommand = entry.commands[sub];
  if (!subcommand) throw new UsageError(`unknown ${command} command "${sub}"; expected ${names}`);
  return subcommand.run(args, io);
}

/** `a, b, c or d`. */
function listed(names: string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
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
