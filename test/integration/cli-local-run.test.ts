import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_NUMBERS } from '../../bin/local-demo.ts';
import { runLocal } from '../../bin/local-run.ts';
import { LocalResourcesError, readLocalResources, writeLocalResources } from '../../shared/local-resources.ts';
import { isLoopbackUrl } from '../../shared/loopback.ts';
import { LOCAL_WEBHOOK_SECRETS } from '../../tools/emulator-resources.ts';

const root = join(import.meta.dirname, '..', '..');

/** Runs a command from the repository root as a person would, in a shell with no AWS settings, collecting the output. */
function run(command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: root,
      // No AWS settings from the test environment: the local run must bring its own.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every secret value the local run holds: the PINs, the Graph token, the app secret and the verify token. */
const SECRETS = [...new Set(DEMO_NUMBERS.flatMap((number) => [number.storedPin, number.simulator.pin ?? number.storedPin]))].filter((secret): secret is string => secret !== undefined).concat('local-demo-token', ...Object.values(LOCAL_WEBHOOK_SECRETS));

/** A timeline row: time, number, action, outcome. */
const row = (number: string, action: string, outcome: string) => new RegExp(`^\\s+\\d\\d:\\d\\d:\\d\\d\\s+${number}\\s+${action}\\s+${outcome}`, 'gm');

describe('npm start (the local run)', () => {
  it('-- --once plays the demo, prints the timeline from real outcomes, and exits 0', { timeout: 180_000 }, async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'wa-local-run-'));

    // Act
    const started = await run('npm', ['start', '--silent', '--', '--once', '--dir', dir]);

    // Assess
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const { stdout } = started;
    expect(stdout.match(row('1001', 'register', 'completed'))).toHaveLength(1);
    expect(stdout.match(row('1002', 'deregister', 'completed'))).toHaveLength(1);
    expect(stdout).toMatch(/1003\s+set_localization\s+completed\s+-\s+read_state→known, deregister→success, read_state→known, register→success/);
    expect(stdout).toMatch(/1004\s+register\s+dead-lettered: pin_rejected\s+133005\s+read_state→known, register→133005/);
    expect(stdout.match(row('1005', '(?:register|deregister)', 'completed'))).toHaveLength(10);
    expect(stdout.match(row('1005', '(?:register|deregister)', 'dead-lettered: rate_limited'))).toHaveLength(2);
    // The DLQ listing and the ledger come from the CLI reading the resources file the run wrote.
    expect(stdout).toMatch(/1004\s+register\s+pin_rejected\s+133005/);
    expect(stdout).toContain('1005  register + deregister  [■■■■■■■■■■] 10/10 used, 0 left  FULL');

    // A name approval posted 3 times (twice at once) and once forged: 401 for the forgery, one event, one job, one register.
    expect(stdout).toMatch(/1006 {2}phone_number_name_update APPROVED, posted 3 times \(2 at once, then again\): HTTP 200, 200, 200\n/);
    expect(stdout).toContain('receiver: 1 event published, 2 duplicates dropped');
    expect(stdout).toContain('the same body with a wrong signature: HTTP 401 (signature mismatch), nothing published');
    expect(stdout).toMatch(/bus → buffer queue → resolver: 1 event, 1 job \(register 1006, reason name_change, key name-approval:/);
    expect(stdout).toContain('worker: 1 job for 1006: completed, Graph calls: read_state→known, register→success; the Graph simulator received 1 register request for 1006');
    expect(stdout.match(row('1006', 'register', 'completed\\s+-\\s+read_state→known, register→success'))).toHaveLength(1);
    expect(stdout).toMatch(/1006 {2}Name: display name "Acme Demo 1006" approved [^;]+; re-registered since \(met\)\./);

    // A PIN changed elsewhere holds the number: its register job is dead-lettered with no Graph call at all.
    expect(stdout).toContain('1007  security PIN_CHANGED: HTTP 200: 1 event published (PinChanged)');
    expect(stdout).toContain('a register job for 1007 → worker: dead-lettered (pin_changed), Graph calls: none; the Graph simulator received 0 register requests for 1007');
    expect(stdout.match(row('1007', 'register', 'dead-lettered: pin_changed\\s+-\\s+none'))).toHaveLength(1);
    expect(stdout).toMatch(/1007\s+register\s+pin_changed\s/);
    expect(stdout).toMatch(/1007 {2}HELD \(pin_changed\) since .*PIN_CHANGED/);

    // The lifecycle stories: a provisioned PIN, a lapsed verification fixed by OTP, and explain on every number.
    expect(stdout).toContain('the PIN Graph received is the stored one (neither printed)');
    expect(stdout).toMatch(/1009 {2}its verification lapsed \(EXPIRED\): a register job → worker: dead-lettered \(needs_verification\), Graph calls: read_state→known\n/);
    expect(stdout).toContain('Lifted the needs_verification hold');
    expect(stdout).toContain('the held job, sent back by verify confirm → worker: completed, Graph calls: read_state→known, register→success');
    expect(stdout).toMatch(/\n {2}1004 {2}pin_rejected \(since [^)]+\): Meta refused the stored PIN/);
    expect(stdout).toMatch(/\n {2}1005 {2}window_full: /);
    expect(stdout).toMatch(/\n {2}1007 {2}pin_changed \(since /);
    expect(stdout).toMatch(/\n {2}1009 {2}live: CONNECTED on CLOUD_API/);
    expect(stdout).toContain('The Graph simulator received 18 register/deregister requests for 21 jobs; 4 job(s) were refused by the worker before anything was sent.');
    expect(stdout).toContain('Done (--once).');
    // No PIN, token, app secret or verify token ever reaches the terminal.
    for (const secret of SECRETS) expect(stdout).not.toContain(secret);
    // The resources file is removed with the emulator it points at.
    expect(existsSync(join(dir, '.wa-registrar', 'local-stack.json'))).toBe(false);
  });

  it('keeps running with the receiver served: the resources file names it, and the webhook sender\'s signed post ends in a register', { timeout: 120_000 }, async () => {
    // Prepare: the local run in this process, stopped by the test instead of Ctrl-C
    const dir = await mkdtemp(join(tmpdir(), 'wa-local-run-'));
    let output = '';
    let stop!: () => void;
    const stopSignal = new Promise<void>((resolve) => (stop = resolve));
    const until = async (text: string | RegExp) => {
      for (let waited = 0; !(typeof text === 'string' ? output.includes(text) : text.test(output)); waited += 20) {
        if (waited > 60_000) throw new Error(`no ${String(text)} in:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const running = runLocal({ once: false, cwd: dir, env: {}, out: { write: (text: string) => (output += text) }, stopSignal });
    let exitCode: number | undefined;
    try {
      await until('Ready. In another terminal:');
      const file = await readFile(join(dir, '.wa-registrar', 'local-stack.json'), 'utf8');
      const sample = join(dir, '.wa-registrar', 'sample-name-approved.json');

      // Act: the sender CLI as the Ready section prints it, reading the app secret from Secrets Manager on moto
      const sent = await run('npx', ['tsx', 'tools/webhook-sender.ts', sample, '--dir', dir]);
      await until(row('1001', 'register', 'completed\\s+-\\s+read_state→known, register→success'));
      const again = await run('npx', ['tsx', 'tools/webhook-sender.ts', sample, '--dir', dir]);
      await until('webhook  HTTP 200: 0 events published; 1 duplicate dropped');

      // Assess
      const resources = JSON.parse(file) as Record<string, string>;
      expect(isLoopbackUrl(resources.webhookUrl)).toBe(true);
      expect(resources).toMatchObject({ appSecretId: expect.stringMatching(/meta-app-secret$/), verifyTokenSecretId: expect.stringMatching(/webhook-verify-token$/) });
      expect(output).toContain(resources.webhookUrl);
      expect(sent).toMatchObject({ code: 0, stderr: '' });
      expect(sent.stdout).toBe(`POST ${resources.webhookUrl} (${(await readFile(sample)).length} bytes, signed with ${resources.appSecretId}): HTTP 200 ok\n`);
      expect(again.code).toBe(0);
      expect(output).toContain('webhook  HTTP 200: 1 event published (PhoneNumberNameUpdated)');
      expect(output).toMatch(/event {4}PhoneNumberNameUpdated applied: name APPROVED "Acme Demo 1001": number updated, register job name-approval:\S+ sent/);
      for (const secret of SECRETS) expect(file).not.toContain(secret);
    } finally {
      stop();
      exitCode = await running;
    }
    expect(exitCode).toBe(0);
    expect(output).toContain('Stopping.');
    for (const secret of SECRETS) expect(output).not.toContain(secret);
    expect(existsSync(join(dir, '.wa-registrar', 'local-stack.json'))).toBe(false);
    expect(existsSync(join(dir, '.wa-registrar', 'sample-name-approved.json'))).toBe(false);
  });
});

describe('the local resources file', () => {
  const written = {
    region: 'eu-west-1', endpoint: 'http://127.0.0.1:5000', jobQueueUrl: 'http://127.0.0.1:5000/1/jobs.fifo', deadLetterQueueUrl: 'http://127.0.0.1:5000/1/dlq.fifo',
    ledgerTableName: 't', tokenSecretId: 'tok', pinSecretPrefix: 'pin/', eventBusName: 'bus', eventQueueUrl: 'http://127.0.0.1:5000/1/buffer',
    eventsDeadLetterQueueUrl: 'http://127.0.0.1:5000/1/events-dlq', changeTableName: 'changes', appSecretId: 'app', verifyTokenSecretId: 'verify',
  };

  it('keeps the webhook receiver\'s URL and secret ids, and refuses a receiver that is not on this machine', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'wa-local-file-'));
    const remote = await mkdtemp(join(tmpdir(), 'wa-local-file-'));
    await mkdir(join(remote, '.wa-registrar'));
    await writeFile(join(remote, '.wa-registrar', 'local-stack.json'), JSON.stringify({ ...written, webhookUrl: 'http://203.0.113.9:8080' }));
    // Act
    await writeLocalResources(dir, { ...written, webhookUrl: 'http://127.0.0.1:4000' });
    const read = await readLocalResources(dir);
    const refused = readLocalResources(remote);
    // Assess
    expect(read).toEqual({ ...written, webhookUrl: 'http://127.0.0.1:4000' });
    await expect(refused).rejects.toThrow(LocalResourcesError);
    await expect(refused).rejects.toThrow('names the webhookUrl http://203.0.113.9:8080, which is not on this machine');
    await expect(writeLocalResources(dir, { ...written, webhookUrl: 'http://203.0.113.9:8080' })).rejects.toThrow();
  });
});
