import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import type { StatusView } from '../../bin/views/status.ts';
import { blockNumber, createCliStack, hoursFrom, uniquePrefix, writeLedger, type CliStack } from '../support/ops-helpers.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

describe('wa-registrar status (against moto)', () => {
  let env: CliStack;
  let ledger: DynamoDbAttemptLedger;

  beforeAll(async () => {
    env = await createCliStack('cli-status', NOW);
    ledger = new DynamoDbAttemptLedger(env.dynamodb, env.stack.ledgerTableName);
    // Prepare: number 700 has mixed outcomes in the window and one request from before it.
    await writeLedger(
      ledger,
      '700',
      [
        { at: hoursFrom(NOW, -80), operation: 'register', outcome: 'success', reason: 'account_creation' },
        { at: hoursFrom(NOW, -50), operation: 'register', outcome: 'rejected', code: 133005 },
        { at: hoursFrom(NOW, -30), operation: 'deregister', outcome: 'success', reason: 'localization_change' },
        { at: hoursFrom(NOW, -29), operation: 'register', outcome: 'unknown', reason: 'localization_change' },
        { at: hoursFrom(NOW, -2), operation: 'register', outcome: 'success', reason: 'name_change' },
      ],
    );
    // Number 701 used its whole window; number 702 was blocked by Meta.
    await writeLedger(
      ledger,
      '701',
      Array.from({ length: 10 }, (_, index) => ({ at: hoursFrom(NOW, -60 + index), operation: 'register' as const, outcome: 'rejected' as const, code: 133005 })),
    );
    await writeLedger(ledger, '702', [{ at: hoursFrom(NOW, -1), operation: 'register', outcome: 'rejected', code: 133016 }]);
    await blockNumber(ledger, '702', ['register'], hoursFrom(NOW, 71));
  });

  it('shows the requests in window + margin with outcomes, slots left and when the next slot frees (--json)', async () => {
    // Act
    const run = await env.cli(['status', '700', '--json']);

    // Assess
    expect(run.code).toBe(0);
    const view = JSON.parse(run.stdout) as StatusView;
    expect(view.scopes).toHaveLength(1);
    const [all] = view.scopes;
    // The oldest request in the window (50 h ago) frees its slot after 72 h plus the 15-minute margin.
    expect(all).toMatchObject({ scope: 'all', used: 4, left: 6, limit: 10, open: true, reserved: 0, nextSlotFreesAt: new Date(hoursFrom(NOW, 22.25)).toISOString() });
    expect(all!.attempts.map((attempt) => [attempt.operation, attempt.outcome, attempt.code ?? null])).toEqual([
      ['register', 'rejected', 133005],
      ['deregister', 'success', null],
      ['register', 'unknown', null],
      ['register', 'success', null],
    ]);
    expect(all!.attempts[1]!.reason).toBe('localization_change');
    expect(view.olderAttempts).toBe(1);
    expect(all!.blockedUntil).toBeUndefined();
    expect(view.policy).toEqual({ limit: 10, windowHours: 72, marginMinutes: 15, shared: true });
    expect(view.lastSuccess).toEqual({ operation: 'register', at: new Date(hoursFrom(NOW, -2)).toISOString() });
    expect(view.hold).toBeUndefined();
  });

  it('draws the window as a bar for people', async () => {
    const run = await env.cli(['status', '700']);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Number 700: 10 requests per 72 h (+ 15 min margin), shared by register and deregister (now 2026-11-25 12:00 UTC)');
    expect(run.stdout).toContain('[■■■■□□□□□□] 4/10 used, 6 left');
    expect(run.stdout).toContain('oldest request leaves the window at 2026-11-26 10:15 UTC (in 22h 15m), giving back a slot');
    expect(run.stdout).toContain('Last success: register at 2026-11-25 10:00 UTC (2h ago).');
    expect(run.stdout).toMatch(/2026-11-23 10:00 UTC\s+register\s+manual\s+rejected\s+133005/);
  });

  it('says when a full window reopens', async () => {
    const json = JSON.parse((await env.cli(['status', '701', '--json'])).stdout) as StatusView;
    const human = await env.cli(['status', '701']);

    expect(json.scopes[0]).toMatchObject({ used: 10, left: 0, open: false, reopensAt: new Date(hoursFrom(NOW, 12.25)).toISOString() });
    expect(human.stdout).toContain('[■■■■■■■■■■] 10/10 used, 0 left  FULL');
    expect(human.stdout).toContain('window full: the next request can go at 2026-11-26 00:15 UTC (in 12h 15m)');
  });

  it('shows a block by Meta and until when (in shared mode a register block blocks both)', async () => {
    const json = JSON.parse((await env.cli(['status', '702', '--json'])).stdout) as StatusView;
    const human = await env.cli(['status', '702']);

    expect(json.scopes[0]).toMatchObject({ used: 1, open: false, blockedUntil: new Date(hoursFrom(NOW, 71)).toISOString() });
    expect(human.stdout).toContain('BLOCKED by Meta (133016) until 2026-11-28 11:00 UTC (in 2d 23h)');
  });

  it('splits the counters with --budget separate from the same stored requests (switching modes forgets nothing)', async () => {
    const json = JSON.parse((await env.cli(['status', '700', '--json', '--budget', 'separate'])).stdout) as StatusView;
    const blocked = JSON.parse((await env.cli(['status', '702', '--json', '--budget', 'separate'])).stdout) as StatusView;

    expect(json.scopes.map((scope) => [scope.scope, scope.used])).toEqual([
      ['register', 3],
      ['deregister', 1],
    ]);
    expect(json.notes).toEqual([]);
    // Separate budgets: the register block leaves deregister open.
    expect(blocked.scopes.map((scope) => [scope.scope, scope.open])).toEqual([
      ['register', false],
      ['deregister', true],
    ]);
  });

  it('follows the budget settings from the environment', async () => {
    const json = JSON.parse((await env.cli(['status', '700', '--json'], { env: { ...process.env, ATTEMPT_LIMIT: '5', ATTEMPT_WINDOW_HOURS: '24' } })).stdout) as StatusView;

    const margin = JSON.parse((await env.cli(['status', '700', '--json'], { env: { ...process.env, ATTEMPT_WINDOW_HOURS: '48', WINDOW_MARGIN_MINUTES: '180' } })).stdout) as StatusView;

    expect(json.policy).toEqual({ limit: 5, windowHours: 24, marginMinutes: 15, shared: true });
    expect(json.scopes[0]).toMatchObject({ used: 1, left: 4 });
    // 48 h + 3 h takes in the request from 50 h ago that 48 h + 15 min would not; it frees its slot in 1 h.
    expect(margin.policy.marginMinutes).toBe(180);
    expect(margin.scopes[0]).toMatchObject({ used: 4, nextSlotFreesAt: new Date(hoursFrom(NOW, 1)).toISOString() });
  });

  it('shows an untouched number as all free', async () => {
    const human = await env.cli(['status', '799']);

    expect(human.code).toBe(0);
    expect(human.stdout).toContain('[□□□□□□□□□□] 0/10 used, 10 left');
  });

  it('rejects bad arguments with exit code 2 and a sentence', async () => {
    const missing = await env.cli(['status']);
    const letters = await env.cli(['status', 'abc']);
    const limit = await env.cli(['status', '700', '--limit', '11']);

    expect([missing.code, letters.code, limit.code]).toEqual([2, 2, 2]);
    expect(letters.stderr).toBe('wa-registrar: phoneNumberId must be 1-20 digits\n');
    expect(limit.stderr).toContain('--limit must be a whole number from 1 to 10');
  });

  it('fails with exit code 1 naming the table when it does not exist', async () => {
    const run = await env.cli(['status', '700', '--table', 'no-such-table']);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the ledger table no-such-table does not exist');
  });

  it('runs as the real `wa-registrar` bin, finding the local run from .wa-registrar/local-stack.json', async () => {
    // Prepare: a shell with no AWS settings at all, as beside `npm start`.
    const root = join(import.meta.dirname, '..', '..');
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };

    // Act
    const result = await promisify(execFile)(join(root, 'node_modules', '.bin', 'node'), [join(root, 'bin', 'wa-registrar.mjs'), 'status', '700', '--json'], { cwd: envCwd(), env });

    // Assess
    const view = JSON.parse(result.stdout) as StatusView;
    expect(view.phoneNumberId).toBe('700');
    // The bin runs on the system clock, so only time-independent facts are checked here.
    expect(view.scopes.map((scope) => scope.scope)).toEqual(['all']);
    expect(view.olderAttempts + view.scopes[0]!.used).toBe(5);
  });

  const envCwd = () => env.cwd;

  it('finds the table from a deployed stack\'s outputs with --stack (CloudFormation on moto)', async () => {
    // Prepare: a stack whose outputs name this test's resources, as the real stack's do.
    const stackName = uniquePrefix('cli-status-stack');
    const outputs = {
      JobQueueUrl: env.stack.jobQueueUrl,
      DeadLetterQueueUrl: env.stack.deadLetterQueueUrl,
      LedgerTableName: env.stack.ledgerTableName,
      Region: 'eu-west-1',
      TokenSecretId: env.stack.tokenSecretId,
      PinSecretPrefix: env.stack.pinSecretPrefix,
    };
    const template = {
      Resources: { Placeholder: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
      Outputs: Object.fromEntries(Object.entries(outputs).map(([key, value]) => [key, { Value: value }])),
    };
    await new CloudFormationClient({ region: 'eu-west-1' }).send(new CreateStackCommand({ StackName: stackName, TemplateBody: JSON.stringify(template) }));

    // Act: from a directory with no local-stack.json, so only the stack can say where the table is.
    const run = await env.cli(['status', '700', '--json', '--stack', stackName], { cwd: tmpdir() });
    const missing = await env.cli(['status', '700', '--stack', `${stackName}-missing`], { cwd: tmpdir() });

    // Assess
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as StatusView).scopes[0]!.used).toBe(4);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`cannot read the outputs of stack ${stackName}-missing`);
  });
});
