/**
 * Webhook receiver latency: 1,000 signed webhooks through `receiver.handle` in-process, first with in-memory ports
 * (the receiver itself: size check, HMAC, JSON, mapping, contract validation, dedup and publish logic, metrics), then
 * with the real adapters on moto (DynamoDB change log, EventBridge, Secrets Manager). Figures are printed, never asserted.
 * Run alone with `npx tsx bench/receiver.bench.ts`, or with the others via `npm run bench`.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { pathToFileURL } from 'node:url';
import { loadReceiverConfig } from '../functions/webhook-receiver/config.ts';
import { createReceiver, createReceiverClients, type Receiver, type ReceiverOverrides } from '../functions/webhook-receiver/receiver.ts';
import { createLogger } from '../shared/observability.ts';
import { WEBHOOK_OBJECT } from '../shared/webhooks/meta-webhook.ts';
import { InMemoryChangeLog, InMemoryWebhookSecrets, RecordingPublisher } from '../test/support/in-memory-webhook-ports.ts';
import { RecordingMetrics } from '../test/support/recording-metrics.ts';
import { APP_SECRET, signedPost, VERIFY_TOKEN } from '../test/support/webhook-factories.ts';
import { startMotoServer } from '../tools/moto-server.ts';
import { provisionWebhookResources, webhookReceiverEnv } from '../tools/webhook-resources.ts';

const WEBHOOKS = 1_000;
const LARGE_RUNS = 20;

/** A name approval for its own moment: each is a distinct change. */
const approval = (index: number) =>
  JSON.stringify({
    object: WEBHOOK_OBJECT,
    entry: [
      {
        id: '102290129340398',
        time: 1_767_225_600 + index,
        changes: [{ field: 'phone_number_name_update', value: { display_phone_number: '15550783881', decision: 'APPROVED', requested_verified_name: 'Acme Support', rejection_reason: null } }],
      },
    ],
  });

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

/** Milliseconds per request, every request checked for the expected status. */
async function timeAll(receiver: Receiver, requests: ReturnType<typeof signedPost>[], status: number): Promise<number[]> {
  const times: number[] = [];
  for (const request of requests) {
    const started = performance.now();
    const response = await receiver.handle(request);
    times.push(performance.now() - started);
    if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}`);
  }
  return times;
}

function quietReceiver(env: Record<string, string>, overrides: ReceiverOverrides): Receiver {
  const logger = createLogger();
  logger.setLogLevel('SILENT');
  // Real Powertools metrics serialised to memory, so the figure includes building the EMF lines but not printing them.
  return createReceiver(loadReceiverConfig(env), { logger, metrics: new RecordingMetrics(), ...overrides });
}

const row = (label: string, times: number[]) =>
  `| ${label} | ${times.length} | ${percentile(times, 50).toFixed(3)} ms | ${percentile(times, 99).toFixed(3)} ms | ${(times.reduce((a, b) => a + b, 0) / times.length).toFixed(3)} ms |`;

/** Runs the benchmarks and returns a Markdown section. */
export async function run(): Promise<string> {
  const fresh = Array.from({ length: WEBHOOKS }, (_, index) => signedPost(approval(index)));
  const env = { APP_SECRET_ID: 'app', VERIFY_TOKEN_SECRET_ID: 'verify', EVENT_BUS_NAME: 'bus', WEBHOOK_CHANGES_TABLE_NAME: 'changes' };

  const inMemory = quietReceiver(env, {
    secrets: new InMemoryWebhookSecrets({ appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN }),
    changeLog: new InMemoryChangeLog(),
    publisher: new RecordingPublisher(),
  });
  await timeAll(inMemory, [signedPost(approval(-1))], 200); // warm-up: module JIT, secret cache
  const firstDeliveries = await timeAll(inMemory, fresh, 200);
  const redeliveries = await timeAll(inMemory, fresh, 200);
  const wrongSignatures = await timeAll(inMemory, fresh.map((request) => ({ ...request, rawBody: Buffer.from(`${request.rawBody.toString()} `) })), 401);
  // A body near Meta's documented 3 MB: one change plus an unknown field of padding, each a distinct change.
  const padding = 'x'.repeat(3 * 1024 * 1024 - 400);
  const large = Array.from({ length: LARGE_RUNS }, (_, index) =>
    signedPost(approval(WEBHOOKS + index).replace('"changes":[', `"changes":[{"field":"padding","value":"${padding}"},`)),
  );
  const largeBodies = await timeAll(inMemory, large, 200);

  process.env.AWS_ACCESS_KEY_ID ??= 'bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
  process.env.AWS_REGION ??= 'eu-west-1';
  const moto = await startMotoServer();
  let onMoto: number[];
  try {
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    const clients = createReceiverClients();
    const resources = await provisionWebhookResources({ ...clients, sqs: new SQSClient() }, { namePrefix: 'bench-receiver', appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN });
    const receiver = quietReceiver(webhookReceiverEnv(resources), { clients });
    await timeAll(receiver, [signedPost(approval(-1))], 200);
    onMoto = await timeAll(receiver, fresh, 200);
  } finally {
    delete process.env.AWS_ENDPOINT_URL;
    await moto.stop();
  }

  return [
    '### Webhook receiver',
    '',
    'Latency of `receiver.handle` per signed webhook (a name approval, about 300 bytes), in-process, one at a time. In-memory ports measure the',
    'receiver itself (size check, HMAC-SHA256 over the raw bytes, JSON, the field table, the contract schema, the claim/publish/mark logic,',
    'metrics serialised; logging off); the moto row adds the real adapters: a conditional PutItem, PutEvents (routed to an SQS target) and an UpdateItem.',
    '',
    '| Path | Requests | p50 | p99 | mean |',
    '|---|---:|---:|---:|---:|',
    row('first delivery, in-memory ports', firstDeliveries),
    row('redelivery (already published), in-memory ports', redeliveries),
    row('wrong signature (401, cached secret + one re-read), in-memory ports', wrongSignatures),
    row('3 MiB body (one change + an unknown field), in-memory ports', largeBodies),
    row('first delivery, DynamoDB + EventBridge + Secrets Manager on moto', onMoto),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await run());
}
