/**
 * Worker benchmarks: batch latency against one Graph call, AWS requests per job on a warm container,
 * and a retry storm through wa-registrar beside a naive consumer, all in one run.
 * Run alone with `npx tsx bench/worker.bench.ts`, or with the others via `npm run bench`.
 */
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { pathToFileURL } from 'node:url';
import { createWorker, type WorkerOverrides } from '../functions/register-worker/worker.ts';
import { InMemoryAttemptLedger } from '../test/support/in-memory-ledger.ts';
import { createAwsClients, type AwsClients } from '../shared/aws-clients.ts';
import { ManualClock, MINUTE_MS } from '../shared/clock.ts';
import { loadConfig } from '../shared/config.ts';
import { enqueueJobs } from '../shared/jobs/enqueue.ts';
import { HttpGraphClient } from '../shared/graph/http-graph-client.ts';
import { startGraphSimulator, type GraphSimulator, type SimulatedFault } from '../tools/graph-simulator.ts';
import type { LocalResources } from '../shared/local-resources.ts';
import { provisionEmulatorResources } from '../tools/emulator-resources.ts';
import { startMotoServer } from '../tools/moto-server.ts';
import { SqsPoller } from '../tools/sqs-poller.ts';
import { naiveConsumer } from './naive-consumer.ts';

const TOKEN = 'bench-token';
const PIN = '024680';
const LATENCY_MS = 200;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/** Counts every SDK operation a client sends, by service. */
function countRequests(clients: AwsClients): Record<string, number> {
  const counts: Record<string, number> = { dynamodb: 0, sqs: 0, secretsManager: 0 };
  for (const [name, client] of Object.entries(clients) as Array<[keyof AwsClients, AwsClients[keyof AwsClients]]>) {
    const stack = client.middlewareStack as unknown as {
      add(middleware: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>, options: { step: 'initialize'; name: string }): void;
    };
    stack.add(
      (next) => async (args) => {
        counts[name] = (counts[name] ?? 0) + 1;
        return next(args);
      },
      { step: 'initialize', name: `bench-count-${name}` },
    );
  }
  return counts;
}

async function seed(clients: AwsClients, stack: LocalResources, numbers: string[]): Promise<void> {
  await clients.secretsManager.send(new CreateSecretCommand({ Name: stack.tokenSecretId, SecretString: TOKEN })).catch(() => undefined);
  for (const number of numbers) {
    await clients.secretsManager.send(new CreateSecretCommand({ Name: `${stack.pinSecretPrefix}${number}`, SecretString: PIN }));
  }
}

function workerFor(stack: LocalResources, simulator: GraphSimulator, clients: AwsClients, overrides: WorkerOverrides = {}) {
  const config = loadConfig({
    GRAPH_API_BASE_URL: simulator.baseUrl,
    LEDGER_TABLE_NAME: stack.ledgerTableName,
    JOB_QUEUE_URL: stack.jobQueueUrl,
    DEAD_LETTER_QUEUE_URL: stack.deadLetterQueueUrl,
    TOKEN_SECRET_ID: stack.tokenSecretId,
    PIN_SECRET_PREFIX: stack.pinSecretPrefix,
    POWERTOOLS_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'SILENT',
  });
  return createWorker(config, { clients, ...overrides });
}

interface LatencyResult {
  batchMs: number;
  singleMs: number;
  warm: Record<string, number>;
  cold: Record<string, number>;
}

/** Batches of 10 register jobs for 10 numbers; `ledgerDelayMs` swaps in an in-memory ledger with that latency per call. */
async function batchLatency(endpoint: string, region: string, ledgerDelayMs?: number): Promise<LatencyResult> {
  const clients = createAwsClients({ endpoint, region });
  const stack = await provisionEmulatorResources({ endpoint, region, namePrefix: `bench-latency-${ledgerDelayMs ?? 'moto'}` }, clients);
  const simulator = await startGraphSimulator({ tokens: [TOKEN], latencyMs: LATENCY_MS });
  try {
    const numbers = Array.from({ length: 10 }, (_, i) => String(4_915_000_000 + i));
    for (const number of numbers) simulator.addNumber(number, { pin: PIN });
    // The baseline calls go to a number of their own: calls made around the ledger would eat the batch's budget.
    const baselineNumber = '4915999999';
    simulator.addNumber(baselineNumber, { pin: PIN });
    await seed(clients, stack, numbers);
    const counts = countRequests(clients);
    const worker = workerFor(stack, simulator, clients, ledgerDelayMs === undefined ? {} : { ledger: new InMemoryAttemptLedger({ delayMs: ledgerDelayMs }) });

    // One Graph call, the unit of the ratio.
    const graph = new HttpGraphClient({ baseUrl: simulator.baseUrl, version: 'v25.0', timeoutMs: 5000 });
    const single: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await graph.register({ phoneNumberId: baselineNumber, pin: PIN }, TOKEN);
      single.push(performance.now() - started);
    }

    let timed: { elapsed: number; failures: number; records: number } = { elapsed: 0, failures: 0, records: 0 };
    const source = new SqsPoller(clients.sqs, stack.jobQueueUrl, async (event) => {
      const started = performance.now();
      const response = await worker.handleBatch(event);
      timed = { elapsed: performance.now() - started, failures: response.batchItemFailures.length, records: event.Records.length };
      return response;
    });
    type Run = { elapsed: number; delta: Record<string, number> };
    const runBatch = async (round: number): Promise<Run> => {
      await enqueueJobs(clients.sqs, stack.jobQueueUrl, numbers.map((phoneNumberId) => ({ action: 'register' as const, phoneNumberId, reason: 'manual' as const, idempotencyKey: `r${round}-${phoneNumberId}` })));
      const before = { ...counts };
      await source.pollOnce();
      if (timed.failures > 0 || timed.records !== 10) throw new Error(`bench batch ${round} did not complete cleanly: ${JSON.stringify(timed)}`);
      // Only the worker's own requests count: the event source's receive and delete are Lambda's.
      const delta = Object.fromEntries(Object.entries(counts).map(([service, count]) => [service, count - (before[service] ?? 0)]));
      delta.sqs = (delta.sqs ?? 0) - 2;
      return { elapsed: timed.elapsed, delta };
    };
    // Round 0 is cold (token and PINs not cached yet); rounds 1-5 are warm.
    const cold = await runBatch(0);
    const warm: Run[] = [];
    for (let round = 1; round <= 5; round++) warm.push(await runBatch(round));
    const perJob = (runs: Run[]) =>
      Object.fromEntries(['dynamodb', 'sqs', 'secretsManager'].map((service) => [service, runs.reduce((sum, run) => sum + (run.delta[service] ?? 0), 0) / (runs.length * 10)]));
    return { batchMs: median(warm.map((run) => run.elapsed)), singleMs: median(single), warm: perJob(warm), cold: perJob([cold]) };
  } finally {
    await simulator.stop();
  }
}

/** 30 register jobs for one number while Graph fails every other request with a 5xx for a while. */
const STORM_FAULTS: SimulatedFault[] = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? { type: 'http500' } : { type: 'pass' }));

async function retryStorm(endpoint: string, region: string): Promise<string[]> {
  const number = '4916000000';
  const jobs = Array.from({ length: 30 }, (_, i) => ({ action: 'register' as const, phoneNumberId: number, reason: 'account_creation' as const, idempotencyKey: `storm-${i}` }));

  // wa-registrar: FIFO queue, ledger, state reads; time moves by the retry delays.
  const clients = createAwsClients({ endpoint, region });
  const stack = await provisionEmulatorResources({ endpoint, region, namePrefix: 'bench-storm' }, clients);
  const clock = new ManualClock();
  const ours = await startGraphSimulator({ tokens: [TOKEN], now: () => clock.now() });
  ours.addNumber(number, { pin: PIN });
  ours.inject(number, ...STORM_FAULTS);
  await seed(clients, stack, [number]);
  const worker = workerFor(stack, ours, clients, { clock });
  const source = new SqsPoller(clients.sqs, stack.jobQueueUrl, worker.handleBatch);
  await enqueueJobs(clients.sqs, stack.jobQueueUrl, jobs);
  for (let round = 0; round < 100; round++) {
    const drained = await source.drain();
    clock.advance(20 * MINUTE_MS);
    const released = await source.releaseFailed();
    if (drained.received === 0 && released === 0) break;
  }
  const dlqDepth = await depth(clients, stack.deadLetterQueueUrl);
  await ours.stop();

  // Naive consumer: a standard queue with a redrive policy; every delivery calls Graph; every error is retried.
  const naive = await startGraphSimulator({ tokens: [TOKEN] });
  naive.addNumber(number, { pin: PIN });
  naive.inject(number, ...STORM_FAULTS);
  const naiveDlq = (await clients.sqs.send(new CreateQueueCommand({ QueueName: 'bench-naive-dlq' }))).QueueUrl!;
  const naiveDlqArn = (await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: naiveDlq, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const naiveQueue = (
    await clients.sqs.send(
      new CreateQueueCommand({ QueueName: 'bench-naive', Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: naiveDlqArn, maxReceiveCount: 5 }) } }),
    )
  ).QueueUrl!;
  for (let start = 0; start < jobs.length; start += 10) {
    await clients.sqs.send(
      new SendMessageBatchCommand({ QueueUrl: naiveQueue, Entries: jobs.slice(start, start + 10).map((job, i) => ({ Id: String(i), MessageBody: JSON.stringify(job) })) }),
    );
  }
  const naiveSource = new SqsPoller(clients.sqs, naiveQueue, naiveConsumer({ baseUrl: naive.baseUrl, token: () => TOKEN, pin: () => PIN }));
  for (let round = 0; round < 100; round++) {
    const drained = await naiveSource.drain();
    const released = await naiveSource.releaseFailed();
    if (drained.received === 0 && released === 0) break;
  }
  await naive.stop();

  const row = (name: string, sim: GraphSimulator, extra: string) => {
    const calls = sim.limitedCalls(number);
    const blocked = sim.number(number)!.blockedUntil !== undefined;
    return `| ${name} | ${calls.length} | ${calls.filter((call) => call.answeredWith === 'error 133016').length} | ${blocked ? '**yes, 72 h**' : 'no'} | ${extra} |`;
  };
  return [
    '| Consumer | register calls sent | 133016 answers | number blocked | jobs |',
    '|---|---|---|---|---|',
    row('wa-registrar', ours, `all 30 settled: ${30 - dlqDepth} completed, ${dlqDepth} dead-lettered; ${ours.calls.filter((call) => call.operation === 'read_state').length} state reads`),
    row('naive consumer', naive, `${await depth(clients, naiveDlq)} in its DLQ after 5 receives`),
  ];
}

async function depth(clients: AwsClients, queueUrl: string): Promise<number> {
  const attributes = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(attributes.Attributes?.ApproximateNumberOfMessages ?? 0);
}

/** Runs the worker benchmarks on a private moto server and returns a Markdown section. */
export async function run(): Promise<string> {
  process.env.AWS_ACCESS_KEY_ID ??= 'bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
  process.env.POWERTOOLS_LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const moto = await startMotoServer();
  try {
    const onMoto = await batchLatency(moto.endpoint, 'eu-west-1');
    const onFastLedger = await batchLatency(moto.endpoint, 'eu-west-1', 10);
    const sum = (counts: Record<string, number>) => Object.values(counts).reduce((total, count) => total + count, 0);
    const fmt = (counts: Record<string, number>) =>
      `**${sum(counts).toFixed(2)}**: DynamoDB ${counts.dynamodb!.toFixed(2)}, SQS ${counts.sqs!.toFixed(2)}, Secrets Manager ${counts.secretsManager!.toFixed(2)}`;
    const latency = [
      `| One Graph call (simulator at ${LATENCY_MS} ms) | ${onMoto.singleMs.toFixed(0)} ms (median of 5) |`,
      `| Batch of 10 register jobs for 10 numbers, ledger on DynamoDB-like 10 ms calls | ${onFastLedger.batchMs.toFixed(0)} ms, **ratio ${(onFastLedger.batchMs / onFastLedger.singleMs).toFixed(2)}** (target ≤ 1.5 per Graph call a job makes; a register makes 2: its pre-flight read and the register) |`,
      `| The same batch, ledger on moto (its transactions run one at a time, ~25 ms each) | ${onMoto.batchMs.toFixed(0)} ms, ratio ${(onMoto.batchMs / onMoto.singleMs).toFixed(2)} |`,
      `| AWS requests per job, warm container (target ≤ 3) | ${fmt(onMoto.warm)} |`,
      `| AWS requests per job, cold container (first batch) | ${fmt(onMoto.cold)} (token once, one PIN per number) |`,
    ];
    const storm = await retryStorm(moto.endpoint, 'eu-west-1');
    return [
      '### Worker',
      '',
      '| Measure | Result |',
      '|---|---|',
      ...latency,
      '',
      '#### Retry storm: 30 register jobs for one number, Graph failing every other request with a 5xx for the first 12',
      '',
      ...storm,
    ].join('\n');
  } finally {
    await moto.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await run());
}
