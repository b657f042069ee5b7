import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseJob } from '../../shared/jobs/job.v1.ts';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import { createCliStack, hoursFrom, receiveAll, startDrain, writeLedger, type CliStack } from '../support/ops-helpers.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

/** 1,000 JSONL jobs, each for its own number, with invalid lines at the given 1-based line numbers. */
function bulkFile(badLines: number[]): string {
  return Array.from({ length: 1000 }, (_, index) => {
    const line = index + 1;
    if (line === badLines[0]) return '{"action":"regster","phoneNumberId":"5000"}';
    if (line === badLines[1]) return '{"action":"register","phoneNumberId":"5001","pin":"012345"}';
    if (line === badLines[2]) return 'not json at all';
    return JSON.stringify({ action: 'register', phoneNumberId: String(900000 + line), reason: 'account_creation', idempotencyKey: `bulk-${line}` });
  }).join('\n');
}

describe('wa-registrar enqueue (against moto)', () => {
  let env: CliStack;

  beforeEach(async () => {
    env = await createCliStack('cli-enqueue', NOW);
  });

  it('queues one job with the number as message group and the given key and region', async () => {
    // Act
    const run = await env.cli(['enqueue', 'set-localization', '4200', '--region', 'CH', '--reason', 'localization_change', '--key', 'move-4200-ch']);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Queued set_localization for 4200 \(region CH\): idempotency key move-4200-ch, message \S+\n$/);
    const messages = await receiveAll(env.sqs, env.stack.jobQueueUrl);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.Attributes?.MessageGroupId).toBe('4200');
    const job = parseJob(messages[0]!.Body!);
    expect(job).toEqual({
      ok: true,
      job: { schemaVersion: 1, action: 'set_localization', phoneNumberId: '4200', dataLocalizationRegion: 'CH', reason: 'localization_change', idempotencyKey: 'move-4200-ch' },
    });
  });

  it('refuses an invalid job with exit code 2 and sends nothing', async () => {
    const region = await env.cli(['enqueue', 'register', '4201', '--region', 'US']);
    const awsRegion = await env.cli(['enqueue', 'register', '4201', '--region', 'eu-west-1']);
    const deregisterWithRegion = await env.cli(['enqueue', 'deregister', '4201', '--region', 'CH']);

    expect([region.code, awsRegion.code, deregisterWithRegion.code]).toEqual([2, 2, 2]);
    expect(region.stderr).toContain('dataLocalizationRegion must be one of AU, ID');
    expect(awsRegion.stderr).toContain('the AWS region is --aws-region');
    expect(deregisterWithRegion.stderr).toContain('has no meaning for deregister');
    expect(await env.count(env.stack.jobQueueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('warns before queuing for a number with no slots left, naming when it reopens', async () => {
    // Prepare
    const ledger = new DynamoDbAttemptLedger(env.dynamodb, env.stack.ledgerTableName);
    await writeLedger(
      ledger,
      '4202',
      Array.from({ length: 10 }, (_, index) => ({ at: hoursFrom(NOW, -70 + index), operation: 'register' as const, outcome: 'rejected' as const, code: 133005 })),
    );

    // Act
    const full = await env.cli(['enqueue', 'register', '4202']);
    const free = await env.cli(['enqueue', 'register', '4203']);

    // Assess
    expect(full.code).toBe(0);
    expect(full.stderr).toContain('warning: number 4202 has 0 of 10 register/deregister slots left and these jobs need 1; the rest wait until 2026-11-25 14:15 UTC (in 2h 15m)');
    expect(free.stderr).not.toContain('warning');
    expect((await env.count(env.stack.jobQueueUrl)).visible).toBe(2);
  });

  it('bulk: 1,000 jobs with 3 bad lines sends nothing and names the lines; --skip-invalid sends the 997', async () => {
    // Prepare
    await writeFile(join(env.cwd, 'jobs.jsonl'), bulkFile([17, 503, 1000]));

    // Act
    const strict = await env.cli(['enqueue', '--file', 'jobs.jsonl']);
    const afterStrict = await env.count(env.stack.jobQueueUrl);
    const consumer = startDrain(env.sqs, env.stack.jobQueueUrl);
    const lenient = await env.cli(['enqueue', '--file', 'jobs.jsonl', '--skip-invalid']);
    const received = await consumer.stop();

    // Assess
    expect(strict.code).toBe(1);
    expect(afterStrict).toEqual({ visible: 0, inFlight: 0 });
    expect(strict.stderr).toContain('jobs.jsonl:17: action: ');
    expect(strict.stderr).toContain('jobs.jsonl:503: a job must not carry a secret (found "pin")');
    expect(strict.stderr).toContain('jobs.jsonl:1000: not valid JSON');
    expect(strict.stderr).not.toContain('012345');
    expect(strict.stderr).toContain('nothing was sent: 3 of 1000 job(s) in jobs.jsonl are not valid. Fix them, or pass --skip-invalid to send the 997 valid one(s).');
    expect(lenient.code).toBe(0);
    expect(lenient.stdout).toMatch(/^Sent 997 of 1000 job\(s\) from jobs\.jsonl in [\d.]+ s; 3 invalid line\(s\) skipped\.\n$/);
    const keys = new Set(received.map((body) => JSON.parse(body).idempotencyKey));
    expect(received).toHaveLength(997);
    expect(keys.size).toBe(997);
    expect(['bulk-16', 'bulk-18', 'bulk-502', 'bulk-504', 'bulk-999'].every((key) => keys.has(key))).toBe(true);
    // Not a TTY: plain progress lines, ending with the total.
    expect(lenient.stderr.trim().split('\n').at(-1)).toBe('sent 997/997');
  }, 240_000); // moto's FIFO sends slow down with queue depth; this one moves 1,000 messages

  it('bulk: sending the same keyed file twice queues nothing new (FIFO deduplication)', async () => {
    await writeFile(join(env.cwd, 'again.jsonl'), ['{"action":"register","phoneNumberId":"4300","idempotencyKey":"a-1"}', '', '{"action":"deregister","phoneNumberId":"4301","idempotencyKey":"a-2"}'].join('\n'));

    const first = await env.cli(['enqueue', '--file', 'again.jsonl']);
    const second = await env.cli(['enqueue', '--file', 'again.jsonl', '--json']);

    expect([first.code, second.code]).toEqual([0, 0]);
    expect(JSON.parse(second.stdout)).toMatchObject({ sent: 2, failed: [], skippedInvalid: [] });
    expect((await env.count(env.stack.jobQueueUrl)).visible).toBe(2);
  });

  it('bulk: draws a progress bar on a terminal', async () => {
    await writeFile(join(env.cwd, 'three.jsonl'), ['1', '2', '3'].map((n) => JSON.stringify({ action: 'register', phoneNumberId: `46${n}`, idempotencyKey: `tty-${n}` })).join('\n'));
    let terminal = '';

    const run = await env.cli(['enqueue', '--file', 'three.jsonl'], { stderr: { isTTY: true, write: (text: string) => (terminal += text) } });

    expect(run.code).toBe(0);
    expect(terminal).toBe(`\r[${'█'.repeat(30)}] 3/3 jobs sent\n`);
  });

  it('bulk: reads CSV with a header row, quoted cells and empty optional cells', async () => {
    // Prepare
    const csv = [
      'action,phoneNumberId,dataLocalizationRegion,reason,idempotencyKey',
      'register,4400,CH,account_creation,"csv-1"',
      'deregister,4401,,,csv-2',
      '"set_localization",4402,,localization_change,csv-3',
      'register,4403,US,,csv-4',
    ].join('\r\n');
    await writeFile(join(env.cwd, 'jobs.csv'), csv);

    // Act
    const strict = await env.cli(['enqueue', '--file', 'jobs.csv']);
    const lenient = await env.cli(['enqueue', '--file', 'jobs.csv', '--skip-invalid']);

    // Assess
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('jobs.csv:5: dataLocalizationRegion: dataLocalizationRegion must be one of');
    expect(lenient.code).toBe(0);
    const jobs = (await receiveAll(env.sqs, env.stack.jobQueueUrl)).map((message) => JSON.parse(message.Body!));
    expect(jobs.map((job) => [job.phoneNumberId, job.action, job.dataLocalizationRegion ?? null, job.reason]).sort()).toEqual([
      ['4400', 'register', 'CH', 'account_creation'],
      ['4401', 'deregister', null, 'manual'],
      ['4402', 'set_localization', null, 'localization_change'],
    ]);
  });

  it('bulk: warns about each number the file would overdraw, counting all its jobs together', async () => {
    // Prepare: 8 of 10 used; the file asks for 3 more requests (register + set_localization = 1 + 2).
    const ledger = new DynamoDbAttemptLedger(env.dynamodb, env.stack.ledgerTableName);
    await writeLedger(ledger, '4500', Array.from({ length: 8 }, (_, index) => ({ at: hoursFrom(NOW, -10 + index), operation: 'register' as const, outcome: 'success' as const })));
    await writeFile(join(env.cwd, 'mix.jsonl'), ['{"action":"register","phoneNumberId":"4500"}', '{"action":"set_localization","phoneNumberId":"4500","dataLocalizationRegion":"DE"}', '{"action":"register","phoneNumberId":"4501"}'].join('\n'));

    // Act
    const run = await env.cli(['enqueue', '--file', 'mix.jsonl', '--json']);

    // Assess
    expect(run.code).toBe(0);
    const output = JSON.parse(run.stdout);
    expect(output.warnings).toHaveLength(1);
    expect(output.warnings[0]).toMatchObject({ phoneNumberId: '4500', needed: 3, left: 2, why: 'window_full', reopensAt: new Date(hoursFrom(NOW, 62.25)).toISOString() });
  });

  it('usage errors: unknown action, --file with a number, unknown format', async () => {
    const action = await env.cli(['enqueue', 'unregister', '1']);
    const mixed = await env.cli(['enqueue', 'register', '1', '--file', 'x.jsonl']);
    const format = await env.cli(['enqueue', '--file', 'jobs.txt']);
    const missing = await env.cli(['enqueue', '--file', 'missing.jsonl']);

    expect([action.code, mixed.code, format.code, missing.code]).toEqual([2, 2, 2, 1]);
    expect(missing.stderr).toBe('wa-registrar: cannot read missing.jsonl: no such file\n');
  });
});
