import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import { SqsDeadLetterSink } from '../../shared/queue/sqs-queue.ts';
import { startGraphSimulator, type GraphSimulator } from '../../tools/graph-simulator.ts';
import type { ExplainView } from '../../bin/views/explain.ts';
import { blockNumber, createCliStack, envelope, holdNumber, hoursFrom, receiveAll, writeLedger, type CliStack } from '../support/ops-helpers.ts';
import { expectNoSecrets } from '../support/secrets-scan.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const TOKEN = 'explain-test-token-5f2a9c';
const PINS = { wrong: '246810', right: '135791' };

/** Numbers in distinct situations. */
const N = { wrongPin: '9100', expired: '9101', blocked: '9102', healthy: '9103', deadLetter: '9104' } as const;

describe('wa-registrar explain (against moto and the Graph simulator)', () => {
  let env: CliStack;
  let ledger: DynamoDbAttemptLedger;
  let simulator: GraphSimulator;
  let deadLetterId: string;
  const printed: string[] = [];

  /** Runs explain with the simulator as Graph; everything it prints is kept for the secret scan. */
  async function explain(id: string, ...flags: string[]) {
    const run = await env.cli(['explain', id, ...flags], { env: { ...process.env, GRAPH_API_BASE_URL: simulator.baseUrl } });
    printed.push(run.stdout, run.stderr);
    return run;
  }
  const explainJson = async (id: string, ...flags: string[]) => {
    const run = await explain(id, '--json', ...flags);
    expect(run.code).toBe(0);
    return JSON.parse(run.stdout) as ExplainView;
  };

  beforeAll(async () => {
    env = await createCliStack('cli-explain', NOW);
    ledger = new DynamoDbAttemptLedger(env.dynamodb, env.stack.ledgerTableName);
    simulator = await startGraphSimulator({ tokens: [TOKEN], now: () => env.clock.now() });
    const secrets = new SecretsManagerClient({ region: 'eu-west-1' });
    await secrets.send(new CreateSecretCommand({ Name: env.stack.tokenSecretId, SecretString: TOKEN }));

    // Prepare: 9100's stored PIN was refused once; the ledger holds it under that (still current) version.
    const refused = (await secrets.send(new CreateSecretCommand({ Name: `${env.stack.pinSecretPrefix}${N.wrongPin}`, SecretString: PINS.wrong }))).VersionId!;
    simulator.addNumber(N.wrongPin, { pin: PINS.right });
    await writeLedger(ledger, N.wrongPin, [{ at: hoursFrom(NOW, -2), operation: 'register', outcome: 'rejected', code: 133005, reason: 'account_creation' }]);
    await holdNumber(ledger, N.wrongPin, { cause: 'pin_rejected', since: hoursFrom(NOW, -2), code: 133005, pinVersion: refused, detail: 'error 133005 on a register' });
    // 9101's verification expired at Meta; nothing on the ledger knows it yet.
    simulator.addNumber(N.expired, { codeVerificationStatus: 'EXPIRED' });
    // 9102 met 133016.
    simulator.addNumber(N.blocked);
    await writeLedger(ledger, N.blocked, [{ at: hoursFrom(NOW, -1), operation: 'register', outcome: 'rejected', code: 133016 }]);
    await blockNumber(ledger, N.blocked, ['register'], hoursFrom(NOW, 71));
    // 9103 is registered and healthy.
    simulator.addNumber(N.healthy, { registered: true, pin: PINS.right });
    await writeLedger(ledger, N.healthy, [{ at: hoursFrom(NOW, -30), operation: 'register', outcome: 'success', reason: 'account_creation' }]);
    // 9104's job was dead-lettered with an error a redrive cannot fix by itself.
    simulator.addNumber(N.deadLetter);
    const dead = envelope({ category: 'permanent_error', phoneNumberId: N.deadLetter, code: 131009, deadLetteredAt: hoursFrom(NOW, -3) });
    await new SqsDeadLetterSink(env.sqs, env.stack.deadLetterQueueUrl).send(dead);
    const [message] = await receiveAll(env.sqs, env.stack.deadLetterQueueUrl, 0);
    deadLetterId = message!.MessageId!;
  });

  afterAll(async () => {
    await simulator?.stop();
  });

  it('names a wrong PIN held on the ledger, with the PIN to store', async () => {
    // Act
    const view = await explainJson(N.wrongPin);

    // Assess
    expect(view.verdict).toMatchObject({ rule: 'pin_rejected', since: new Date(hoursFrom(NOW, -2)).toISOString() });
    expect(view.verdict.cause).toContain('and that version is still the current one');
    expect(view.verdict.nextStep).toContain(`Store the right PIN as a new version of the PIN secret (PIN_SECRET_PREFIX + ${N.wrongPin})`);
    expect(view.live).toMatchObject({ result: 'known', status: 'DISCONNECTED' });
    expect(view.timeline.map((entry) => entry.kind)).toEqual(['attempt', 'hold', 'live']);
    expect(view.findings.map((finding) => finding.rule)).toEqual(['pin_rejected', 'not_registered']);
  });

  it('names an expired verification from the live read, with the verify command', async () => {
    const view = await explainJson(N.expired);

    expect(view.verdict.rule).toBe('verification');
    expect(view.verdict.cause).toContain('verification expired');
    expect(view.verdict.nextStep).toContain(`\`wa-registrar verify request ${N.expired} --method sms\``);
    expect(view.live).toMatchObject({ result: 'known', codeVerificationStatus: 'EXPIRED' });
  });

  it('names a block by Meta and until when', async () => {
    const view = await explainJson(N.blocked);

    expect(view.verdict).toMatchObject({ rule: 'blocked', until: new Date(hoursFrom(NOW, 71)).toISOString() });
    expect(view.verdict.cause).toContain('Meta blocked the number (133016) until 2026-11-28 11:00 UTC');
  });

  it('says a connected, healthy number is live', async () => {
    const view = await explainJson(N.healthy);

    expect(view.verdict).toEqual({ rule: 'live', cause: 'CONNECTED on CLOUD_API, verification VERIFIED, name APPROVED', nextStep: 'Nothing to do.' });
    expect(view.findings).toHaveLength(1);
  });

  it('names a waiting dead letter and the commands for it, leaving it on the queue', async () => {
    // Act
    const view = await explainJson(N.deadLetter);
    const listed = await env.cli(['dlq', 'list', '--number', N.deadLetter, '--json']);

    // Assess
    expect(view.verdict.rule).toBe('dead_letters');
    expect(view.verdict.cause).toBe('1 dead letter(s) waiting: 1 permanent_error');
    expect(view.verdict.nextStep).toContain(`\`wa-registrar dlq show ${deadLetterId}\`, then once the cause is fixed \`wa-registrar dlq redrive --id ${deadLetterId}\``);
    expect(view.timeline.find((entry) => entry.kind === 'dead_letter')?.summary).toBe(`register dead-lettered: permanent_error 131009 (message ${deadLetterId})`);
    // Read-only: the dead letter is still there, and visible.
    expect((JSON.parse(listed.stdout) as { messages: Array<{ messageId: string }> }).messages.map((message) => message.messageId)).toEqual([deadLetterId]);
  });

  it('prints the verdict line first, then the timeline, for people', async () => {
    const run = await explain(N.wrongPin);
    const lines = run.stdout.split('\n');

    expect(run.code).toBe(0);
    expect(lines[0]).toMatch(new RegExp(`^Number ${N.wrongPin}: pin_rejected \\(since 2026-11-25 10:00 UTC\\): Meta refused the stored PIN \\(code 133005, PIN version [0-9a-f-]+\\)`));
    expect(lines[1]).toMatch(/^ {2}next: Store the right PIN/);
    expect(run.stdout).toContain('  live state: DISCONNECTED on NOT_APPLICABLE, verification VERIFIED (read 2026-11-25 12:00 UTC)');
    expect(run.stdout).toMatch(/Timeline \(oldest first\):\n {2}TIME +KIND +WHAT\n {2}2026-11-25 10:00 UTC +attempt +register \(account_creation\) rejected 133005/);
  });

  it('goes on without the live state when the token cannot be read, or Graph is not known, and says why', async () => {
    // Act
    const missing = await explainJson(N.healthy, '--token-secret', 'no-such-secret');
    const noGraph = await env.cli(['explain', N.healthy, '--json'], { env: { ...process.env, GRAPH_API_BASE_URL: '' } });
    const offline = await explainJson(N.healthy, '--offline');
    printed.push(noGraph.stdout, noGraph.stderr);

    // Assess
    expect(missing.live).toEqual({ result: 'not_read', why: expect.stringContaining('the token secret no-such-secret does not exist') });
    expect(missing.verdict.rule).toBe('live_per_ledger');
    expect(noGraph.code).toBe(0);
    expect((JSON.parse(noGraph.stdout) as ExplainView).live).toEqual({ result: 'not_read', why: expect.stringContaining('pass --graph-url') });
    expect(offline.live).toEqual({ result: 'not_read', why: '--offline' });
  });

  it('says a Graph that refuses the token refuses it, and fails nothing', async () => {
    // Prepare: Meta no longer accepts the stored token.
    simulator.setTokens(['another-token']);

    // Act
    const view = await explainJson(N.healthy);
    simulator.setTokens([TOKEN]);

    // Assess
    expect(view.verdict.rule).toBe('token_rejected');
    expect(view.live).toMatchObject({ result: 'unknown' });
  });

  it('rejects bad arguments with exit code 2', async () => {
    const runs = await Promise.all([explain('abc'), explain(N.healthy, '--graph-url', 'http://graph.example.com'), env.cli(['explain'])]);

    expect(runs.map((run) => run.code)).toEqual([2, 2, 2]);
    expect(runs[1]!.stderr).toContain('--graph-url must be https');
  });

  it('never sent a register or deregister, and printed no secret', () => {
    expect(simulator.limitedCalls()).toEqual([]);
    expect(simulator.calls.filter((call) => call.operation === 'read_state').length).toBeGreaterThan(0);
    expect(simulator.calls.every((call) => call.method === 'GET')).toBe(true);
    expectNoSecrets(printed, [TOKEN, PINS.wrong, PINS.right]);
  });
});
