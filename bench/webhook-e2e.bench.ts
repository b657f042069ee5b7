/**
 * End to end on the local stack (tools/local-stack.ts, as `npm start` wires it: moto, the Graph simulator, the
 * receiver over HTTP, the bus, the buffer queue, the resolver and the worker behind their pollers): the time from
 * posting a signed name approval to the Graph simulator receiving the register it causes, and where that time goes.
 * Run alone with `npx tsx bench/webhook-e2e.bench.ts`, or with the others via `npm run bench`.
 */
import { pathToFileURL } from 'node:url';
import { startLocalStack, type BatchTiming, type LocalNumber, type LocalStack, type PollingMode } from '../tools/local-stack.ts';
import { LOCAL_WEBHOOK_SECRETS } from '../tools/emulator-resources.ts';
import { postSignedWebhook } from '../tools/webhook-sender.ts';

const BUSINESS = '9100';
const APPROVALS = 20;
const WAIT_MS = 30_000;

/**
 * One approval's path, cut where SQS's SentTimestamp and the handlers' start times allow: the parts add up to the total.
 * Waiting = a message on a queue until a handler has it (the receive that returns it, and the poller's pace).
 */
interface Sample {
  totalMs: number;
  /** POST until the event is on the buffer queue: signature, change log claim, PutEvents (moto routes it at once). */
  receiverMs: number;
  eventWaitMs: number;
  /** The resolver's batch until it sends the job: ledger reads and writes. */
  resolverMs: number;
  jobWaitMs: number;
  /** The worker's batch until the register reaches the simulator: ledger, secrets, the state read, the reservation. */
  workerMs: number;
}

const numberIds = (from: number, count: number) => Array.from({ length: count }, (_, index) => String(from + index));

function approval(phoneNumberId: string): string {
  const value = { display_phone_number: `1555020${phoneNumberId}`, decision: 'APPROVED', requested_verified_name: `Bench ${phoneNumberId}`, rejection_reason: null };
  return JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: BUSINESS, time: Math.floor(Date.now() / 1000), changes: [{ field: 'phone_number_name_update', value }] }] });
}

const firstBatch = (batches: BatchTiming[], queue: BatchTiming['queue'], after: number) => batches.find((batch) => batch.queue === queue && batch.startedAt >= after);

/** Posts one approval and waits for its register and the end of the worker's batch. */
async function timeOne(stack: LocalStack, phoneNumberId: string): Promise<Sample> {
  const batches = stack.batches.length;
  const posted = Date.now();
  const answer = await postSignedWebhook(stack.webhookUrl, approval(phoneNumberId), LOCAL_WEBHOOK_SECRETS.appSecret);
  if (answer.status !== 200) throw new Error(`the receiver answered ${answer.status} for ${phoneNumberId}`);
  const registered = () => stack.simulator!.limitedCalls(phoneNumberId)[0];
  const recent = () => stack.batches.slice(batches);
  await stack.until(() => registered() !== undefined && recent().some((batch) => batch.queue === 'jobs'), WAIT_MS, `the register of ${phoneNumberId}`);
  const resolver = firstBatch(recent(), 'events', posted)!;
  const worker = firstBatch(recent(), 'jobs', resolver.startedAt)!;
  const at = registered()!.at;
  return {
    totalMs: at - posted,
    receiverMs: resolver.sentAt - posted,
    eventWaitMs: resolver.startedAt - resolver.sentAt,
    resolverMs: worker.sentAt - resolver.startedAt,
    jobWaitMs: worker.startedAt - worker.sentAt,
    workerMs: at - worker.startedAt,
  };
}

/** Posts all approvals at once; each one's time to its register. */
async function timeBurst(stack: LocalStack, ids: string[]): Promise<number[]> {
  const posted = Date.now();
  const answers = await Promise.all(ids.map((id) => postSignedWebhook(stack.webhookUrl, approval(id), LOCAL_WEBHOOK_SECRETS.appSecret)));
  if (answers.some((answer) => answer.status !== 200)) throw new Error('the receiver refused part of the burst');
  await stack.until(() => ids.every((id) => stack.simulator!.limitedCalls(id).length > 0), WAIT_MS, 'the burst\'s registers');
  return ids.map((id) => stack.simulator!.limitedCalls(id)[0]!.at - posted);
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const ms = (value: number) => `${value.toFixed(0)} ms`;
const stats = (values: number[]) => `${ms(percentile(values, 50))} | ${ms(percentile(values, 95))} | ${ms(Math.max(...values))}`;

async function sequential(stack: LocalStack, mode: PollingMode, ids: string[]): Promise<Sample[]> {
  Object.assign(stack.polling, mode);
  const samples: Sample[] = [];
  for (const id of ids) samples.push(await timeOne(stack, id));
  return samples;
}

/** Runs the benchmark and returns a Markdown section. */
export async function run(): Promise<string> {
  // The local stack sets dummy AWS credentials and turns metrics off for its process: put them back for the other benches.
  const saved = Object.fromEntries(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'POWERTOOLS_METRICS_DISABLED'].map((name) => [name, process.env[name]]));
  const groups = { warmUp: numberIds(2000, 1), longPoll: numberIds(2100, APPROVALS), shortPoll: numberIds(2200, APPROVALS), burst: numberIds(2300, APPROVALS) };
  const numbers: LocalNumber[] = Object.values(groups)
    .flat()
    .map((phoneNumberId) => ({ phoneNumberId, displayPhoneNumber: `+1 555-020-${phoneNumberId}`, simulator: { registered: true, pin: '246802' }, storedPin: '246802' }));
  const stack = await startLocalStack({ businessAccountId: BUSINESS, numbers, namePrefix: 'bench-e2e' });
  let longPoll: Sample[];
  let shortPoll: Sample[];
  let burst: number[];
  try {
    const keepRunning: PollingMode = { waitTimeSeconds: 1, idleMs: 0, releaseRetries: false };
    stack.startPolling(keepRunning);
    // Warm-up: module JIT, the secrets' caches, and the business's number list (read from Graph once, then cached).
    await sequential(stack, keepRunning, groups.warmUp);
    longPoll = await sequential(stack, keepRunning, groups.longPoll);
    shortPoll = await sequential(stack, { waitTimeSeconds: 0, idleMs: 20, releaseRetries: true }, groups.shortPoll);
    Object.assign(stack.polling, keepRunning);
    burst = await timeBurst(stack, groups.burst);
  } finally {
    await stack.stop();
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }

  const pick = (samples: Sample[], key: keyof Sample) => samples.map((sample) => sample[key]);
  const waiting = (samples: Sample[]) => samples.map((sample) => sample.eventWaitMs + sample.jobWaitMs);
  const inProcess = (samples: Sample[]) => samples.map((sample) => sample.totalMs - sample.eventWaitMs - sample.jobWaitMs);
  const rows = (label: string, samples: Sample[]) => [
    `| ${label}: total | ${stats(pick(samples, 'totalMs'))} |`,
    `| ${label}: in process (receiver + resolver + worker) | ${stats(inProcess(samples))} |`,
    `| ${label}: on the queues, waiting for a poll | ${stats(waiting(samples))} |`,
  ];
  const hops = (samples: Sample[]) =>
    (['receiverMs', 'eventWaitMs', 'resolverMs', 'jobWaitMs', 'workerMs'] as const).map((key) => `${HOP_NAMES[key]} ${ms(percentile(pick(samples, key), 50))}`).join(', ');
  return [
    '### Webhook to Graph register, end to end (local stack)',
    '',
    'A signed name approval posted to the receiver over HTTP, until the Graph simulator receives the register it causes (receiver → bus →',
    'buffer queue → resolver → job queue → worker), on the stack `npm start` runs: moto, the simulator, the pollers as the local run drives',
    `them. ${APPROVALS} approvals for ${APPROVALS} numbers, one after the other (each after the last one's worker batch), per polling mode; then`,
    `${APPROVALS} at once. Long polls (\`npm start\` once the demo is over, like Lambda's event source) return as soon as a message arrives;`,
    'short polls (the demo) receive, and pause 20 ms when the queue is empty. "On the queues" is from each message\'s SentTimestamp to its',
    'handler\'s start, on the buffer and on the job queue; "in process" is the rest. The local run has one poller per queue (the stack',
    'lets Lambda run up to 5 resolver and 10 worker batches at once), and the resolver handles a batch\'s events one after the other, so',
    'the burst row mostly measures events waiting behind each other on one resolver, and moto serialising the DynamoDB calls of all of it.',
    '',
    '| Path | p50 | p95 | max |',
    '|---|---:|---:|---:|',
    ...rows('long polls', longPoll),
    ...rows('short polls, 20 ms idle', shortPoll),
    `| ${APPROVALS} at once (long polls): each to its register | ${stats(burst)} |`,
    '',
    `Per hop, p50. Long polls: ${hops(longPoll)}. Short polls: ${hops(shortPoll)}.`,
  ].join('\n');
}

const HOP_NAMES: Record<Exclude<keyof Sample, 'totalMs'>, string> = {
  receiverMs: 'POST to the event on the buffer',
  eventWaitMs: 'on the buffer',
  resolverMs: 'resolver to the job sent',
  jobWaitMs: 'on the job queue',
  workerMs: 'worker to the register',
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await run());
}
