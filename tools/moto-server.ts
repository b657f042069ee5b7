import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A running moto server on loopback. */
export interface MotoServer {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/** Creates the project's `.venv` with the pinned moto on first use (see scripts/ensure-moto.sh). */
export function ensureMotoInstalled(): string {
  execFileSync('bash', [join(projectRoot, 'scripts', 'ensure-moto.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  return join(projectRoot, '.venv', 'bin', 'python');
}

/** Asks the OS for a free loopback port. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts moto_server on 127.0.0.1 on a free port and waits until it answers. */
export async function startMotoServer(): Promise<MotoServer> {
  const python = ensureMotoInstalled();
  const port = await freePort();
  // Our launcher serializes DynamoDB requests, as real DynamoDB's conditional writes are atomic, and indexes moto's
  // SQS queues so a call costs the same at any depth (WA_REGISTRAR_MOTO_STOCK_SQS=1, passed through, turns that off).
  const child: ChildProcess = spawn(python, [join(projectRoot, 'scripts', 'moto_server.py'), '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: 'false' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${stderr}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not answer on ${endpoint} within 30 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    endpoint,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
