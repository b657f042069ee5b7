/**
 * Ops CLI benchmarks against moto: bulk enqueue throughput (10,000 jobs through `enqueue --file`) and the time
 * `dlq list` takes over 1,000 dead-letters. Figures are printed, never asserted.
 * Run alone with `npx tsx bench/ops.bench.ts`, or with the others via `npm run bench`.
 *
 * Stock moto 5.2.5 rescans every stored message of a queue several times per SQS call, so its cost per message
 * grows with queue depth (real SQS's does not). scripts/moto_server.py replaces those scans with indexes, so the
 * figures measure the CLI and its round trips, not the queue's depth (WA_REGISTRAR_MOTO_STOCK_SQS=1 runs moto
 * unpatched, for comparison). The enqueue run has a consumer draining the job queue, as the worker would; the
 * DLQ run holds all 1,000 messages.
 */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCliCaptured } from '../bin/cli.ts';
import { createAwsClients } from '../shared/aws-clients.ts';
import { systemClock } from '../shared/clock.ts';
import { deduplicationId } from '../shared/queue/sqs-queue.ts';
import { envelope, startDrain } from '../test/support/ops-helpers.ts';
import { provisionEmulatorResources as provisionLocalStack } from '../tools/emulator-resources.ts';
import { startMotoServer } from '../tools/moto-server.ts';

const JOBS = 10_000;
const DEAD_LETTERS = 1_000;
const LIST_RUNS = 3;

async function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = await runCliCaptured(args, { env: process.env, cwd, clock: systemClock });
  if (run.code !== 0) throw new Error(`wa-registrar ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return run;
}

/** Runs the benchmarks and returns a Markdown section. */
export async function run(): Promise<string> {
  process.env.AWS_ACCESS_KEY_ID ??= 'bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
  const moto = await startMotoServer();
  const cwd = await mkdtemp(join(tmpdir(), 'wa-ops-bench-'));
  try {
    const clients = createAwsClients({ endpoint: moto.endpoint, region: 'eu-west-1' });
    const stack = await provisionLocalStack({ endpoint: moto.endpoint, region: 'eu-west-1', namePrefix: 'bench-ops' }, clients);
    await mkdir(join(cwd, '.wa-registrar'));
    await writeFile(join(cwd, '.wa-registrar', 'local-stack.json'), JSON.stringify(stack));

    // Bulk enqueue: 10,000 jobs, one per number, each with its own idempotency key.
    const lines = Array.from({ length: JOBS }, (_, index) =>
      JSON.stringify({ action: 'register', phoneNumberId: String(3_000_000 + index), reason: 'account_creation', idempotencyKey: `bench-${index}` }),
    );
    await writeFile(join(cwd, 'jobs.jsonl'), `${lines.join('\n')}\n`);
    const consumer = startDrain(clients.sqs, stack.jobQueueUrl);
    const started = performance.now();
    const enqueue = await cli(['enqueue', '--file', 'jobs.jsonl', '--json'], cwd);
    const enqueueWall = (performance.now() - started) / 1000;
    const received = await consumer.stop();
    const summary = JSON.parse(enqueue.stdout) as { sent: number; seconds: number };
    console.error(`ops bench: enqueued ${summary.sent} jobs in ${enqueueWall.toFixed(1)} s`);
    if (summary.sent !== JOBS || received.length !== JOBS) throw new Error(`sent ${summary.sent}, received ${received.length} of ${JOBS}`);

    // DLQ listing: 1,000 dead-letters, one per number (FIFO groups), listed three times.
    const seedStarted = performance.now();
    for (let start = 0; start < DEAD_LETTERS; start += 10) {
      const entries = Array.from({ length: 10 }, (_, offset) => {
        const item = envelope({ category: offset % 3 === 0 ? 'permanent_error' : 'rate_limited', phoneNumberId: String(4_000_000 + start + offset), code: 133005, eligibleAt: Date.now() + 3_600_000 });
        return { Id: String(offset), MessageBody: JSON.stringify(item), MessageGroupId: item.phoneNumberId!, MessageDeduplicationId: deduplicationId('dlq', item.jobKey, 0) };
      });
      await clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: stack.deadLetterQueueUrl, Entries: entries }));
    }
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    console.error(`ops bench: seeded ${DEAD_LETTERS} dead-letters in ${seedSeconds.toFixed(1)} s`);
    const listTimes: number[] = [];
    for (let round = 0; round < LIST_RUNS; round++) {
      const listStarted = performance.now();
      const listing = await cli(['dlq', 'list', '--json'], cwd);
      listTimes.push((performance.now() - listStarted) / 1000);
      console.error(`ops bench: dlq list ${round + 1}/${LIST_RUNS} took ${listTimes.at(-1)!.toFixed(1)} s`);
      const seen = (JSON.parse(listing.stdout) as { messages: unknown[] }).messages.length;
      if (seen !== DEAD_LETTERS) throw new Error(`dlq list saw ${seen} of ${DEAD_LETTERS}`);
    }
    const sorted = [...listTimes].sort((a, b) => a - b);

    return [
      '### Ops CLI (against moto)',
      '',
      '| Measure | Figure |',
      '|---|---|',
      `| \`enqueue --file\`: ${JOBS.toLocaleString('en')} jobs, sending only (SendMessageBatch of 10, job queue drained alongside) | ${summary.seconds.toFixed(1)} s = **${Math.round(JOBS / summary.seconds)} jobs/s** |`,
      `| \`enqueue --file\`: the whole command (read, validate, ledger check of ${JOBS.toLocaleString('en')} numbers, send) | ${enqueueWall.toFixed(1)} s = ${Math.round(JOBS / enqueueWall)} jobs/s |`,
      `| \`dlq list\` over ${DEAD_LETTERS.toLocaleString('en')} dead-letters (peek + release all), median of ${LIST_RUNS} | **${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} s** (runs: ${listTimes.map((time) => time.toFixed(1)).join(', ')} s) |`,
      `| seeding those ${DEAD_LETTERS.toLocaleString('en')} dead-letters (SendMessageBatch, no consumer) | ${seedSeconds.toFixed(1)} s |`,
      '',
      'The emulator is moto 5.2.5 with its SQS scans over every stored message replaced by indexes (scripts/moto_server.py),',
      'so an SQS call costs the same at any queue depth, as on SQS, and both commands are bound by round trips: 1,000',
      '`SendMessageBatch` calls for 10,000 jobs, about 100 receives and 100 `ChangeMessageVisibilityBatch` releases per 1,000 dead letters.',
    ].join('\n');
  } finally {
    await moto.stop();
    await rm(cwd, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await run());
}
