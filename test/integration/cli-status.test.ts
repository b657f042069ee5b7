import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import type { StatusView } from '../../shared/ops/status.ts';
import { createCliStack, hoursFrom, META_POLICY, uniquePrefix, writeLedger, type CliStack } from '../support/ops-helpers.ts';

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
      META_POLICY,
    );
    // Number 701 used its whole window; number 702 was blocked by Meta.
    await writeLedger(
      ledger,
      '701',
      Array.from({ length: 10 }, (_, index) => ({ at: hoursFrom(NOW, -60 + index), operation: 'register' as const, outcome: 'rejected' as const, code: 133005 })),
      META_POLICY,
    );
    await writeLedger(ledger, '702', [{ at: hoursFrom(NOW, -1), operation: 'register', outcome: 'rejected', code: 133016 }], META_POLICY);
    await ledger.block({ phoneNumberId: '702', scopes: ['all'], until: hoursFrom(NOW, 71), now: hoursFrom(NOW, -1) });
  });

  it('shows the requests in the window with outcomes, slots left and when the next slot frees (--json)', async () => {
    // Act
    const run = await env.cli(['status', '700', '--json']);

    // Assess
    expect(run.code).toBe(0);
    const view = JSON.parse(run.stdout) as StatusView;
    expect(view.scopes).toHaveLength(1);
    const [all] = view.scopes;
    expect(all).toMatchObject({ scope: 'all', used: 4, left: 6, limit: 10, open: true, nextSlotFreesAt: new Date(hoursFrom(NOW, 22)).toISOString() });
    expect(all!.attempts.map((attempt) => [attempt.operation, attempt.outcome, attempt.code ?? null])).toEqual([
      ['register', 'rejected', 133005],
      ['deregister', 'success', null],
      ['register', 'unknown', null],
      ['register', 'success', null],
    ]);
    expect(all!.attempts[1]!.reason).toBe('localization_change');
    expect(view.olderAttempts).toBe(1);
    expect(all!.blockedUntil).toBeUndefined();
  });

  it('draws the window as a bar for people', async () => {
    const run = await env.cli(['status', '700']);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('[■■■■□□□□□□] 4/10 used, 6 left');
    expect(run.stdout).toContain('oldest request leaves the window at 2026-11-26 10:00 UTC (in 22h), giving back a slot');
    expect(run.stdout).toMatch(/2026-11-23 10:00 UTC\s+register\s+manual\s+rejected\s+133005/);
  });

  it('says when a full window reopens', async () => {
    const json = JSON.parse((await env.cli(['status', '701', '--json'])).stdout) as StatusView;
    const human = await env.cli(['status', '701']);

    expect(json.scopes[0]).toMatchObject({ used: 10, left: 0, open: false, reopensAt: new Date(hoursFrom(NOW, 12)).toISOString() });
    expect(human.stdout).toContain('[■■■■■■■■■■] 10/10 used, 0 left  FULL');
    expect(human.stdout).toContain('window full: the next request can go at 2026-11-26 00:00 UTC (in 12h)');
  });

  it('shows a block by Meta and until when', async () => {
    const json = JSON.parse((await env.cli(['status', '702', '--json'])).stdout) as StatusView;
    const human = await env.cli(['status', '702']);

    expect(json.scopes[0]).toMatchObject({ used: 1, open: false, blockedUntil: new Date(hoursFrom(NOW, 71)).toISOString() });
    expect(human.stdout).toContain('BLOCKED by Meta (133016) until 2026-11-28 11:00 UTC (in 2d 23h)');
  });

  it('splits the counters with --budget separate and notes the ledger was written with a shared one', async () => {
    const json = JSON.parse((await env.cli(['status', '700', '--json', '--budget', 'separate'])).stdout) as StatusView;

    expect(json.scopes.map((scope) => [scope.scope, scope.used])).toEqual([
      ['register', 3],
      ['deregister', 1],
    ]);
    expect(json.notes.join(' ')).toContain('"all" counter');
  });

  it('follows the budget settings from the environment', async () => {
    const json = JSON.parse((await env.cli(['status', '700', '--json'], { env: { ...process.env, ATTEMPT_LIMIT: '5', ATTEMPT_WINDOW_HOURS: '24' } })).stdout) as StatusView;

    expect(json.policy).toEqual({ limit: 5, windowHours: 24, shared: true });
    expect(json.scopes[0]).toMatchObject({ used: 1, left: 4 });
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
