import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliCaptured } from '../../bin/cli.ts';
import { ManualClock } from '../../shared/clock.ts';

/** The CLI's argument handling: no AWS call is made for help or usage errors. */
function cli(args: string[]) {
  return runCliCaptured(args, { env: {}, cwd: '/nonexistent', clock: new ManualClock() });
}

describe('wa-registrar arguments', () => {
  it.each([
    [['--help'], 'Usage: wa-registrar <command>'],
    [['status', '--help'], 'Usage: wa-registrar status <phoneNumberId>'],
    [['enqueue', '-h'], 'Usage: wa-registrar enqueue register|deregister|set-localization'],
    [['dlq', '--help'], 'Usage: wa-registrar dlq list|show|redrive|purge'],
    [['dlq', 'list', '--help'], 'Usage: wa-registrar dlq list'],
    [['dlq', 'show', '--help'], 'Usage: wa-registrar dlq show <messageId>'],
    [['dlq', 'redrive', '--help'], 'Usage: wa-registrar dlq redrive (--id ID ... | --eligible | --all)'],
    [['dlq', 'purge', '--help'], 'Usage: wa-registrar dlq purge --id ID'],
    [['hold', '--help'], 'Usage: wa-registrar hold clear <phoneNumberId> [--force] | hold clear --token'],
    [['hold', 'clear', '--help'], 'pin_locked           Meta stopped checking PINs'],
  ])('%j prints help and exits 0', async (args, expected) => {
    const run = await cli(args);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(expected);
    expect(run.stderr).toBe('');
  });

  it.each([
    [[], 'a command is required'],
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['dlq'], 'dlq needs a command'],
    [['dlq', 'peek'], 'unknown dlq command "peek"'],
    [['status', '1', '--nope'], "status: Unknown option '--nope'"],
    [['dlq', 'list', '--code', 'abc'], '--code must be a whole number'],
    [['dlq', 'redrive', '--id', 'm', '--number', '1'], 'narrow --eligible and --all, not --id'],
    [['dlq', 'redrive', '--eligible', '--force'], '--force applies only to --id'],
    [['dlq', 'purge'], 'dlq purge needs at least one --id'],
    [['enqueue', '--file', 'x.jsonl', '--key', 'k'], '--key applies to a single job, not to --file'],
    [['status', '1', '--budget', 'both'], '--budget must be shared or separate'],
    [['status', '1', '--margin-minutes', '2000'], '--margin-minutes must be a whole number from 0 to 1440'],
    [['hold'], 'hold needs a command: clear'],
    [['hold', 'lift', '1'], 'unknown hold command "lift"; expected clear'],
    [['hold', 'clear'], 'hold clear needs one <phoneNumberId>, or --token'],
    [['hold', 'clear', '1', '--token'], 'hold clear --token takes no phoneNumberId'],
    [['hold', 'clear', '--token', '--force'], "--force applies only to a number's pin_locked hold"],
    [['hold', 'clear', 'x1'], 'phoneNumberId must be 1-20 digits'],
  ])('%j is a usage error (exit 2)', async (args, expected) => {
    const run = await cli(args);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(expected);
    expect(run.stderr.startsWith('wa-registrar: ')).toBe(true);
  });

  it('reads the margin from the worker\'s variable with the worker\'s schema, naming the variable when it is bad', async () => {
    // Act
    const run = await runCliCaptured(['status', '1'], { env: { WINDOW_MARGIN_MINUTES: 'soon' }, cwd: '/nonexistent', clock: new ManualClock() });
    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('wa-registrar: WINDOW_MARGIN_MINUTES must be a whole number from 0 to 1440\n');
  });

  it('refuses a local resources file that points at another machine, before any AWS call (exit 1)', async () => {
    // Prepare: a file naming a remote endpoint, in a shell with no AWS credentials (the CLI would use dummy ones).
    const cwd = await mkdtemp(join(tmpdir(), 'wa-remote-'));
    await mkdir(join(cwd, '.wa-registrar'));
    await writeFile(join(cwd, '.wa-registrar', 'local-stack.json'), JSON.stringify({
      region: 'eu-west-1', endpoint: 'http://198.51.100.7:4566', jobQueueUrl: 'http://198.51.100.7:4566/1/jobs.fifo',
      deadLetterQueueUrl: 'http://198.51.100.7:4566/1/dlq.fifo', ledgerTableName: 't', tokenSecretId: 'tok', pinSecretPrefix: 'pin/',
    }));
    // Act
    const run = await runCliCaptured(['dlq', 'list'], { env: {}, cwd, clock: new ManualClock() });
    // Assess: refused from the file alone; an attempted call would have failed with "cannot reach" instead
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `wa-registrar: ${join(cwd, '.wa-registrar', 'local-stack.json')} names the endpoint http://198.51.100.7:4566, which is not on this machine: ` +
        'the local run writes only loopback endpoints, and the CLI would send them dummy credentials. ' +
        'Delete it and start the local run again (npm start), or name a deployed stack with --stack NAME\n',
    );
  });

  it('says how to find the resources when none are known (exit 1)', async () => {
    const run = await cli(['dlq', 'list']);

    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'wa-registrar: no dead-letter queue is known (looked in: flags). Pass --dlq-url, or --stack NAME for a deployed stack, or start the local run (npm start), which writes .wa-registrar/local-stack.json.\n',
    );
  });
});
