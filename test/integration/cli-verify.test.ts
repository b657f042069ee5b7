import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { DeleteSecretCommand } from '@aws-sdk/client-secrets-manager';
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../bin/cli.ts';
import type { VerifyIo } from '../../bin/commands/verify.ts';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import { writeLocalResources } from '../../shared/local-resources.ts';
import { receiveAll } from '../support/ops-helpers.ts';
import { useWorkerHarness } from '../support/worker-harness.ts';

const NUMBER = '5001';
const PIN = '204817';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A code Meta would refuse: the right one with every digit moved on by one. */
const wrong = (code: string) => code.replace(/\d/g, (digit) => String((Number(digit) + 1) % 10));

describe('wa-registrar verify (against moto, the Graph simulator and the real worker)', () => {
  // The number's verification lapsed: the worker's pre-flight read holds it and dead-letters its register.
  const harness = useWorkerHarness(NUMBER, PIN, { number: { codeVerificationStatus: 'EXPIRED' } });
  /** Everything the CLI printed in a test, for the code scan. */
  let printed: string[] = [];

  async function workdir(): Promise<string> {
    const cwd = await mkdtemp(join(tmpdir(), 'wa-cli-verify-'));
    await writeLocalResources(cwd, harness.stack);
    return cwd;
  }

  async function cli(args: string[], io: Partial<VerifyIo> = {}): Promise<Run> {
    let stdout = '';
    let stderr = '';
    const code = await runCli(args, {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      stdinIsTTY: false,
      env: { ...process.env, GRAPH_API_BASE_URL: harness.simulator.baseUrl },
      cwd: await workdir(),
      clock: harness.clock,
      ...io,
    } as VerifyIo);
    printed.push(stdout, stderr);
    return { code, stdout, stderr };
  }

  /** The real bin in a child process, the code piped to its stdin (as `printf %s "$CODE" | wa-registrar …` does). */
  async function bin(args: string[], stdin: string): Promise<Run> {
    const root = join(import.meta.dirname, '..', '..');
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', GRAPH_API_BASE_URL: harness.simulator.baseUrl };
    const child = spawn(join(root, 'node_modules', '.bin', 'node'), [join(root, 'bin', 'wa-registrar.mjs'), ...args], { cwd: await workdir(), env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(stdin);
    const code = await new Promise<number>((resolve) => child.on('close', (exit) => resolve(exit ?? -1)));
    printed.push(stdout, stderr);
    return { code, stdout, stderr };
  }

  /** Every item of the ledger table, as stored. */
  async function ledgerDump(): Promise<string> {
    const output = await harness.clients.dynamodb.send(new ScanCommand({ TableName: harness.stack.ledgerTableName, ConsistentRead: true }));
    return JSON.stringify(output.Items ?? []);
  }

  /** Runs the register job into the verification hold: one dead letter of category needs_verification. */
  async function heldRegister(): Promise<void> {
    await harness.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'account_creation', idempotencyKey: 'held-register' });
    await harness.source.drain();
    expect(harness.outcomes.at(-1)).toMatchObject({ status: 'dead_lettered', category: 'needs_verification' });
  }

  it('request, a wrong code, then the right one: recorded, hold lifted, the held register redriven and registered; the code is never shown or kept', async () => {
    printed = [];
    // Prepare
    await heldRegister();
    const ledger = new DynamoDbAttemptLedger(harness.clients.dynamodb, harness.stack.ledgerTableName);
    expect((await ledger.number(NUMBER)).hold?.cause).toBe('needs_verification');

    // Act: ask for a code, the owner "receives" it; first a mistyped code, then the right one from stdin.
    const requested = await cli(['verify', 'request', NUMBER, '--method', 'sms']);
    const code = harness.simulator.verificationCode(NUMBER)!;
    harness.clock.advance(60_000);
    const refused = await cli(['verify', 'confirm', NUMBER, wrong(code)]);
    const afterRefusal = await ledger.number(NUMBER);
    harness.clock.advance(60_000);
    const confirmed = await cli(['verify', 'confirm', NUMBER, '-', '--json'], { readCode: async () => `${code}\n` });
    const afterConfirm = await ledger.number(NUMBER);
    await harness.source.drain();

    // Assess: the request.
    expect(requested.code).toBe(0);
    expect(requested.stdout).toContain(`Meta is sending a verification code to number ${NUMBER} by SMS (en_US)`);
    expect(requested.stdout).toContain(`wa-registrar verify confirm ${NUMBER} -`);
    expect(code).toMatch(/^\d{6}$/);
    // The wrong code: plain words, exit 1, hold kept, lastError on the ledger.
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(new RegExp(`^wa-registrar: verify confirm ${NUMBER}: Meta did not accept the code: it is wrong, or it expired\\. The number stays held \\(needs_verification\\)\\. Next: Check the digits`));
    expect(afterRefusal.hold?.cause).toBe('needs_verification');
    expect(afterRefusal.verification).toMatchObject({ requestedAt: harness.clock.now() - 120_000, method: 'SMS', lastError: { at: harness.clock.now() - 60_000, message: 'Meta did not accept the code: it is wrong, or it expired.' } });
    // The right code: verified, hold lifted, the held register sent back.
    expect(confirmed.code).toBe(0);
    const document = JSON.parse(confirmed.stdout);
    expect(document).toMatchObject({ phoneNumberId: NUMBER, verified: true, via: 'verify_code', liftedHold: { cause: 'needs_verification' } });
    expect(document.redrive.redriven).toMatchObject([{ phoneNumberId: NUMBER, action: 'register', category: 'needs_verification', jobKey: 'held-register', generation: 1, holdLifted: 'the verification hold is cleared' }]);
    expect(afterConfirm.hold).toBeUndefined();
    expect(afterConfirm.verification).toEqual({ requestedAt: harness.clock.now() - 120_000, method: 'SMS', confirmedAt: harness.clock.now() });
    expect((await ledger.events(NUMBER)).map((event) => event.detailType)).toEqual(['VerificationRequested', 'VerificationFailed', 'VerificationConfirmed']);
    // The worker ran the redriven job: registered, with one register request in all.
    expect(harness.outcomes.at(-1)).toMatchObject({ jobKey: 'held-register', status: 'completed' });
    expect(harness.simulator.number(NUMBER)?.registered).toBe(true);
    expect(harness.simulator.limitedCalls(NUMBER)).toHaveLength(1);
    expect(await receiveAll(harness.clients.sqs, harness.stack.deadLetterQueueUrl, 0)).toHaveLength(0);
    // Neither code is in anything printed, logged or stored.
    const kept = [...printed, ...harness.logs, await ledgerDump()];
    for (const secret of [code, wrong(code)]) expect(kept.filter((text) => text.includes(secret))).toEqual([]);
  });

  it('the real bin reads the code from stdin with - and --code-stdin, and never echoes it', async () => {
    printed = [];
    // Prepare
    await heldRegister();
    expect((await cli(['verify', 'request', NUMBER, '--method', 'voice', '--language', 'de'])).code).toBe(0);
    const code = harness.simulator.verificationCode(NUMBER)!;

    // Act
    const mistyped = await bin(['verify', 'confirm', NUMBER, '-'], `${wrong(code)}\n`);
    const notACode = await bin(['verify', 'confirm', NUMBER, '--code-stdin'], 'my code is 12\n');
    const confirmed = await bin(['verify', 'confirm', NUMBER, '--code-stdin'], `${code.slice(0, 3)}-${code.slice(3)}\n`);

    // Assess
    expect(mistyped.code).toBe(1);
    expect(mistyped.stderr).toContain('Meta did not accept the code: it is wrong, or it expired.');
    expect(notACode).toMatchObject({ code: 2, stdout: '' });
    expect(notACode.stderr).toBe('wa-registrar: the verification code must be exactly 6 digits (what was given is not shown)\n');
    expect(confirmed.code).toBe(0);
    expect(confirmed.stdout).toContain(`Number ${NUMBER} is verified: Meta accepted the code`);
    expect(confirmed.stdout).toContain('Lifted the needs_verification hold');
    expect(confirmed.stdout).toMatch(/Sent 1 held job\(s\) back to the job queue:\n.*\n\S+\s+register\s+held-register\s+1\s+\S+/);
    for (const secret of [code, wrong(code)]) expect([...printed, await ledgerDump()].filter((text) => text.includes(secret))).toEqual([]);
  });

  it('a held job whose delete fails: exit 1 saying the number is verified, and dlq redrive finishes it', async () => {
    // Prepare
    await heldRegister();
    expect((await cli(['verify', 'request', NUMBER, '--method', 'sms'])).code).toBe(0);
    const code = harness.simulator.verificationCode(NUMBER)!;
    // Act: the redrive sends the job, then its delete from the DLQ fails.
    const confirmed = await cli(['verify', 'confirm', NUMBER, '-'], { readCode: async () => code, redriveDelete: async () => { throw new Error('simulated network loss'); } });
    const again = await cli(['dlq', 'redrive', '--eligible', '--number', NUMBER]);
    // Assess
    expect(confirmed.code).toBe(1);
    expect(confirmed.stdout).toContain('Lifted the needs_verification hold');
    expect(confirmed.stderr).toContain('the job went back to the job queue but stays on the dead-letter queue (simulated network loss)');
    expect(confirmed.stderr).toContain(`wa-registrar: number ${NUMBER} is verified, but 1 held job(s) did not go back; run \`wa-registrar dlq redrive --eligible --number ${NUMBER}\``);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^Redrove 1 dead-letter\(s\)\./);
  });

  it('a throttled request is refused in plain words with its end, and recorded as lastError', async () => {
    // Prepare
    const usage = JSON.stringify({ '102290129340398': [{ type: 'whatsapp_business_management', call_count: 100, estimated_time_to_regain_access: 27 }] });
    harness.simulator.injectLifecycle(NUMBER, { type: 'graph_error', code: 80008, headers: { 'x-business-use-case-usage': usage } });
    // Act
    const human = await cli(['verify', 'request', NUMBER, '--method', 'sms']);
    harness.clock.advance(60_000);
    const json = await cli(['verify', 'request', NUMBER, '--method', 'sms', '--json']);
    // Assess
    expect(human).toMatchObject({ code: 1, stdout: '' });
    expect(human.stderr).toMatch(
      new RegExp(`^wa-registrar: verify request ${NUMBER}: Meta is throttling the app or the business account: it refused the call for now\\. Next: Wait until the throttle ends .*\\(Meta error 80008, HTTP 400, fbtrace_id Sim\\w+, "\\(#80008\\) Use-case rate limit reached", throttled until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\)\n$`),
    );
    // The second request went through (the fault was used up) and cleared the error.
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ phoneNumberId: NUMBER, requested: true, method: 'SMS', language: 'en_US' });
    const events = await new DynamoDbAttemptLedger(harness.clients.dynamodb, harness.stack.ledgerTableName).events(NUMBER);
    expect(events.map((event) => [event.detailType, event.summary])).toEqual([
      ['VerificationFailed', 'request_code failed (error 80008): Meta is throttling the app or the business account: it refused the call for now.'],
      ['VerificationRequested', 'code requested by SMS (en_US)'],
    ]);
  });

  it('an answer lost after Meta verified: a state read shows VERIFIED, so the verification counts; no hold, no held job', async () => {
    // Prepare: a job waiting on the job queue, not held; Meta applies verify_code and never answers.
    await harness.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'account_creation', idempotencyKey: 'unheld' });
    expect((await cli(['verify', 'request', NUMBER, '--method', 'sms'])).code).toBe(0);
    const code = harness.simulator.verificationCode(NUMBER)!;
    harness.simulator.injectLifecycle(NUMBER, { type: 'apply_then_hang' });
    // Act
    const confirmed = await cli(['verify', 'confirm', NUMBER, code], { env: { ...process.env, GRAPH_API_BASE_URL: harness.simulator.baseUrl, GRAPH_TIMEOUT_MS: '1000' } });
    // Assess
    expect(confirmed.code).toBe(0);
    expect(confirmed.stdout).toBe(
      `Number ${NUMBER} is verified: Meta gave no answer to verify_code, but the number reads VERIFIED (${new Date(harness.clock.now()).toISOString().slice(0, 16).replace('T', ' ')} UTC).\n` +
        'The number had no verification hold.\n' +
        'No held job of this number was waiting on the dead-letter queue.\n',
    );
    // The job on the job queue was never touched.
    expect(await receiveAll(harness.clients.sqs, harness.stack.jobQueueUrl, 0)).toHaveLength(1);
  });

  it.each([
    [['verify', 'request', NUMBER, '--method', 'sms'], { GRAPH_API_BASE_URL: '' }, 2, 'so Graph is the local simulator: pass --graph-url'],
    [['verify', 'request', NUMBER, '--method', 'sms', '--graph-url', 'http://graph.example.com'], {}, 2, '--graph-url must be https'],
    [['verify', 'request', '999', '--method', 'sms'], {}, 1, 'Meta rejected a parameter'],
  ])('%j fails before or at Meta, in plain words', async (args, env, exit, message) => {
    // Act
    const run = await cli(args, { env: { ...process.env, GRAPH_API_BASE_URL: harness.simulator.baseUrl, ...env } });
    // Assess
    expect(run.code).toBe(exit);
    expect(run.stderr).toContain(message);
  });

  it('names the token secret when it is missing, and calls nobody', async () => {
    // Prepare
    await harness.clients.secretsManager.send(new DeleteSecretCommand({ SecretId: harness.stack.tokenSecretId, ForceDeleteWithoutRecovery: true }));
    const before = harness.simulator.calls.length;
    // Act
    const run = await cli(['verify', 'request', NUMBER, '--method', 'sms']);
    // Assess
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toBe(`wa-registrar: the token secret ${harness.stack.tokenSecretId} does not exist; store the Graph token there first\n`);
    expect(harness.simulator.calls.length).toBe(before);
  });
});
