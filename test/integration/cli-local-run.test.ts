import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

/** Runs `npm start -- --once` as a person would (its own moto and simulator), collecting the output. */
function npmStartOnce(dir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['start', '--silent', '--', '--once', '--dir', dir], {
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

describe('npm start -- --once (the local run)', () => {
  it('plays the demo, prints the timeline from real outcomes, and exits 0', { timeout: 180_000 }, async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'wa-local-run-'));

    // Act
    const run = await npmStartOnce(dir);

    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const row = (number: string, action: string, outcome: string) => new RegExp(`^\\s+\\d\\d:\\d\\d:\\d\\d\\s+${number}\\s+${action}\\s+${outcome}`, 'gm');
    expect(run.stdout.match(row('1001', 'register', 'completed'))).toHaveLength(1);
    expect(run.stdout.match(row('1002', 'deregister', 'completed'))).toHaveLength(1);
    expect(run.stdout).toMatch(/1003\s+set_localization\s+completed\s+-\s+read_state→known, deregister→success, read_state→known, register→success/);
    expect(run.stdout).toMatch(/1004\s+register\s+dead-lettered: pin_rejected\s+133005\s+read_state→known, register→133005/);
    expect(run.stdout.match(row('1005', '(?:register|deregister)', 'completed'))).toHaveLength(10);
    expect(run.stdout.match(row('1005', '(?:register|deregister)', 'dead-lettered: rate_limited'))).toHaveLength(2);
    // The DLQ listing and the ledger come from the CLI reading the resources file the run wrote.
    expect(run.stdout).toMatch(/1004\s+register\s+pin_rejected\s+133005/);
    expect(run.stdout).toContain('1005  register + deregister  [■■■■■■■■■■] 10/10 used, 0 left  FULL');
    expect(run.stdout).toContain('The Graph simulator received 15 register/deregister requests for 16 jobs; 2 job(s) were refused by the worker before anything was sent.');
    expect(run.stdout).toContain('Done (--once).');
    // No PIN and no token ever reach the terminal.
    for (const secret of ['482913', '246810', '135790', '222222', '111111', '000123', 'local-demo-token']) {
      expect(run.stdout).not.toContain(secret);
    }
    // The resources file is removed with the emulator it points at.
    expect(existsSync(join(dir, '.wa-registrar', 'local-stack.json'))).toBe(false);
  });
});
