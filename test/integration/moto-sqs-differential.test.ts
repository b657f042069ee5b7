import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ensureMotoInstalled } from '../../tools/moto-server.ts';

/**
 * scripts/moto_server.py replaces moto's scans of an SQS queue with indexes (issue 9). Its rules must stay
 * moto's: test/support/moto-sqs-trace.py runs the same random operations (sends, batches, receives with
 * visibility 0 to 100 s, deletes and visibility changes with current, old and unknown handles, clock ticks,
 * purges; FIFO and standard queues, with and without a redrive policy) against stock and patched moto on a fake
 * clock, and every answer and every queue's full state after each operation must be identical.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SEEDS = [1, 40] as const;
const OPS = 300;

interface Trace {
  seed: number;
  fifo: boolean;
  trace: unknown[][];
}

async function traces(mode: 'stock' | 'patched'): Promise<Trace[]> {
  const { stdout } = await promisify(execFile)(
    ensureMotoInstalled(),
    [join(root, 'test', 'support', 'moto-sqs-trace.py'), mode, String(SEEDS[0]), String(SEEDS[1]), String(OPS)],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Trace);
}

describe('patched moto SQS answers exactly as stock moto 5.2.5', () => {
  it(`${SEEDS[1] - SEEDS[0] + 1} random sequences of ${OPS} operations`, async () => {
    const [stock, patched] = await Promise.all([traces('stock'), traces('patched')]);
    expect(patched).toHaveLength(stock.length);
    for (const [position, expected] of stock.entries()) {
      const actual = patched[position]!;
      const step = expected.trace.findIndex((record, index) => JSON.stringify(record) !== JSON.stringify(actual.trace[index]));
      // On a difference, show the first step that differs (its last field is a digest of the queues' state).
      expect(step === -1 ? null : { seed: expected.seed, step, stock: expected.trace[step], patched: actual.trace[step] }).toBeNull();
    }
  }, 120_000);
});
