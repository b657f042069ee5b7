/**
 * wa-registrar's whole path on this machine, wired as the stack wires it: moto (SQS, DynamoDB, Secrets Manager,
 * EventBridge) provisioned from the stack's definitions, the Graph API simulator (or another Graph-compatible server),
 * the webhook receiver served over HTTP, and the event resolver and the register worker behind SQS pollers that behave
 * like Lambda's event source. `npm start` (bin/local-run.ts) plays its demo on it; bench/webhook-e2e.bench.ts times it.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadEventResolverConfig } from '../functions/event-resolver/config.ts';
import { createResolver } from '../functions/event-resolver/resolver.ts';
import { createWorker } from '../functions/register-worker/worker.ts';
import { loadReceiverConfig } from '../functions/webhook-receiver/config.ts';
import { startWebhookServer } from '../functions/webhook-receiver/local-server.ts';
import { createReceiver } from '../functions/webhook-receiver/receiver.ts';
import { createAwsClients, type AwsClients } from '../shared/aws-clients.ts';
import { systemClock } from '../shared/clock.ts';
import { loadConfig } from '../shared/config.ts';
import type { JobOutcome } from '../shared/domain/outcome.ts';
import type { EventOutcome } from '../shared/events/run-event.ts';
import type { EmulatorResources } from '../shared/local-resources.ts';
import { createLogger } from '../shared/observability.ts';
import type { WebhookOutcome } from '../shared/webhooks/outcome.ts';
import { localResolverEnv, provisionEmulatorResources } from './emulator-resources.ts';
import { startGraphSimulator, type GraphSimulator } from './graph-simulator.ts';
import { startMotoServer } from './moto-server.ts';
import { SqsPoller } from './sqs-poller.ts';
import { webhookReceiverEnv } from './webhook-resources.ts';

const REGION = 'eu-west-1';
const DEFAULT_TOKEN = 'local-demo-token';

/** A number of the local business: what the simulator knows (its true PIN), and the PIN stored for the worker. */
export interface LocalNumber {
  phoneNumberId: string;
  /** As Meta's number list shows it, e.g. `+1 555-010-1006`; webhooks name the number by these digits. */
  displayPhoneNumber: string;
  simulator: NonNullable<Parameters<GraphSimulator['addNumber']>[1]>;
  /** The PIN stored in Secrets Manager; none for a number whose PIN wa-registrar provisions. */
  storedPin?: string;
}

export interface LocalStackOptions {
  /** One business account (WABA) and its numbers, declared in the simulator and seeded in Secrets Manager. */
  businessAccountId: string;
  numbers: LocalNumber[];
  /** Another Graph-compatible server instead of the simulator (the numbers are then only seeded). */
  graphBaseUrl?: string;
  /** The token for that server (default: the simulator's). */
  graphToken?: string;
  /** The receiver's port on 127.0.0.1 (default: a free one). */
  webhookPort?: number;
  /** Worker settings passed through (ATTEMPT_LIMIT, ATTEMPT_WINDOW_HOURS, ATTEMPT_BUDGET_SHARED, WINDOW_MARGIN_MINUTES). */
  workerEnv?: Record<string, string | undefined>;
  /** Also print the components' JSON logs and metrics. */
  verbose?: boolean;
  namePrefix?: string;
  /** Told when moto is being started (the first run installs it, which takes a while). */
  onMotoStarting?: () => void;
}

/** An outcome as a value, with when it was reported (ms). */
export interface Timed<T> {
  at: number;
  outcome: T;
}

/**
 * How the pollers run; read on every round, so it may be changed while they run. Long polls (`waitTimeSeconds` 1)
 * answer as soon as a message arrives and cost nothing while idle; short ones (`0`) pause `idleMs` when empty.
 */
export interface PollingMode {
  waitTimeSeconds: number;
  idleMs: number;
  /** Make messages waiting out a retry delay visible again after an empty round (the demo's minutes become now). */
  releaseRetries: boolean;
}

/** One handler invocation (a batch), for the benchmark. */
export interface BatchTiming {
  queue: 'events' | 'jobs';
  /** When its oldest message was sent to the queue (SQS's SentTimestamp): the time before `startedAt` is polling's. */
  sentAt: number;
  startedAt: number;
  durationMs: number;
  records: number;
}

export interface LocalStack {
  /** Everything the local resources file holds, the receiver's URL included. */
  resources: EmulatorResources & { webhookUrl: string; graphApiBaseUrl?: string };
  clients: AwsClients & { eventBridge: EventBridgeClient };
  motoEndpoint: string;
  graphBaseUrl: string;
  /** The simulator, unless another Graph server was given. */
  simulator?: GraphSimulator;
  webhookUrl: string;
  /** What each component reported, in order. */
  outcomes: { webhooks: Timed<WebhookOutcome>[]; events: Timed<EventOutcome>[]; jobs: Timed<JobOutcome>[] };
  batches: BatchTiming[];
  /** Starts polling both queues (the buffer → resolver, the job queue → worker), each on its own, until `stop`. */
  startPolling(mode: PollingMode): void;
  polling: PollingMode;
  /** Resolves once `done()` holds; rejects after `timeoutMs`, or when a poller failed. */
  until(done: () => boolean, timeoutMs: number, what: string): Promise<void>;
  /** Whether both queues came back empty on a receive that started after `since` (nothing left to handle). */
  quietSince(since: number): boolean;
  stop(): Promise<void>;
}

/** Starts everything; on a failure, stops what had started and rethrows. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  // The emulator takes any credentials; set harmless ones so no real AWS profile is ever used.
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  // CloudWatch metrics (EMF lines) mean nothing on a terminal; --verbose shows them.
  if (!options.verbose) process.env.POWERTOOLS_METRICS_DISABLED = 'true';

  const cleanups: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  };
  try {
    options.onMotoStarting?.();
    const moto = await startMotoServer();
    cleanups.push(() => moto.stop());
    const clients = { ...createAwsClients({ endpoint: moto.endpoint, region: REGION }), eventBridge: new EventBridgeClient({ endpoint: moto.endpoint, region: REGION, maxAttempts: 3 }) };
    cleanups.push(async () => Object.values(clients).forEach((client) => client.destroy()));
    const provisioned = await provisionEmulatorResources({ endpoint: moto.endpoint, region: REGION, namePrefix: options.namePrefix ?? 'wa-local' }, clients);

    const token = options.graphBaseUrl ? (options.graphToken ?? DEFAULT_TOKEN) : DEFAULT_TOKEN;
    let simulator: GraphSimulator | undefined;
    if (!options.graphBaseUrl) {
      const started = await startGraphSimulator({ tokens: [token] });
      simulator = started;
      cleanups.push(() => started.stop());
      for (const number of options.numbers) started.addNumber(number.phoneNumberId, number.simulator);
      started.addBusiness(options.businessAccountId, options.numbers.map(({ phoneNumberId, displayPhoneNumber }) => ({ phoneNumberId, displayPhoneNumber })));
    }
    const graphBaseUrl = options.graphBaseUrl ?? simulator!.baseUrl;
    await clients.secretsManager.send(new CreateSecretCommand({ Name: provisioned.tokenSecretId, SecretString: token }));
    for (const number of options.numbers) {
      if (number.storedPin === undefined) continue;
      await clients.secretsManager.send(new CreateSecretCommand({ Name: `${provisioned.pinSecretPrefix}${number.phoneNumberId}`, SecretString: number.storedPin }));
    }

    const outcomes: LocalStack['outcomes'] = { webhooks: [], events: [], jobs: [] };
    const timed = <T>(list: Timed<T>[]) => (outcome: T) => void list.push({ at: Date.now(), outcome });
    // Quiet on the terminal: the demo prints outcomes; --verbose also shows the JSON logs.
    const logger = () => {
      const built = createLogger();
      built.setLogLevel(options.verbose ? 'INFO' : 'ERROR');
      return built;
    };
    // Short secret caches, so a PIN or token fixed in Secrets Manager is picked up by the next redrive.
    const worker = createWorker(
      loadConfig({
        GRAPH_API_BASE_URL: graphBaseUrl,
        LEDGER_TABLE_NAME: provisioned.ledgerTableName,
        JOB_QUEUE_URL: provisioned.jobQueueUrl,
        DEAD_LETTER_QUEUE_URL: provisioned.deadLetterQueueUrl,
        TOKEN_SECRET_ID: provisioned.tokenSecretId,
        PIN_SECRET_PREFIX: provisioned.pinSecretPrefix,
        SECRET_CACHE_SECONDS: '5',
        ATTEMPT_LIMIT: options.workerEnv?.ATTEMPT_LIMIT,
        ATTEMPT_WINDOW_HOURS: options.workerEnv?.ATTEMPT_WINDOW_HOURS,
        ATTEMPT_BUDGET_SHARED: options.workerEnv?.ATTEMPT_BUDGET_SHARED,
        // The CLI reads the same variable, so `status` counts the window as this worker does.
        WINDOW_MARGIN_MINUTES: options.workerEnv?.WINDOW_MARGIN_MINUTES,
      }),
      { clients, logger: logger(), clock: systemClock, onOutcome: timed(outcomes.jobs) },
    );
    const resolver = createResolver(loadEventResolverConfig({ ...localResolverEnv(provisioned, graphBaseUrl), SECRET_CACHE_SECONDS: '5' }), {
      clients,
      logger: logger(),
      onOutcome: timed(outcomes.events),
    });
    const receiver = createReceiver(loadReceiverConfig({ ...webhookReceiverEnv(provisioned), SECRET_CACHE_SECONDS: '5' }), {
      clients,
      logger: logger(),
      onOutcome: timed(outcomes.webhooks),
    });
    const server = await startWebhookServer(receiver, { ...(options.webhookPort ? { port: options.webhookPort } : {}) });
    cleanups.push(() => server.stop());

    const batches: BatchTiming[] = [];
    const polling: PollingMode = { waitTimeSeconds: 1, idleMs: 0, releaseRetries: false };
    const drivers = [
      new QueueDriver('events', (handler) => new SqsPoller(clients.sqs, provisioned.eventQueueUrl, handler), resolver.handleBatch, { mode: polling, batches }),
      new QueueDriver('jobs', (handler) => new SqsPoller(clients.sqs, provisioned.jobQueueUrl, handler), (event) => worker.handleBatch(event), { mode: polling, batches }),
    ];
    // First to stop: no batch is cut off by the servers going away under it.
    cleanups.push(() => Promise.all(drivers.map((driver) => driver.stop())));

    return {
      // The simulator's URL only: a Graph server named by GRAPH_API_BASE_URL may be anywhere, and the file holds loopback only.
      resources: { ...provisioned, webhookUrl: server.url, ...(simulator ? { graphApiBaseUrl: graphBaseUrl } : {}) },
      clients,
      motoEndpoint: moto.endpoint,
      graphBaseUrl,
      ...(simulator ? { simulator } : {}),
      webhookUrl: server.url,
      outcomes,
      batches,
      polling,
      startPolling(mode) {
        Object.assign(polling, mode);
        for (const driver of drivers) driver.start();
      },
      async until(done, timeoutMs, what) {
        const deadline = Date.now() + timeoutMs;
        while (!done()) {
          const failure = drivers.find((driver) => driver.error)?.error;
          if (failure) throw new Error(`${what}: a poller failed: ${failure.message}`);
          if (Date.now() > deadline) throw new Error(`${what}: not done within ${Math.round(timeoutMs / 1000)} s`);
          await delay(5);
        }
      },
      quietSince: (since) => drivers.every((driver) => driver.lastEmptyReceiveStartedAt > since),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

type BatchHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/**
 * Polls one queue in a loop, as Lambda's event source does for each queue on its own, and records each batch's time.
 * `stop` waits for a batch being handled, not for a receive still waiting for messages: the clients and moto are torn
 * down under that one.
 */
class QueueDriver {
  readonly #name: BatchTiming['queue'];
  readonly #poller: SqsPoller;
  readonly #mode: PollingMode;
  #running = false;
  #stopping = false;
  #batch: Promise<unknown> | undefined;
  /** A receive or delete that failed (the emulator went away, a bug): `until` reports it. */
  error: Error | undefined;
  lastEmptyReceiveStartedAt = 0;

  constructor(name: BatchTiming['queue'], poller: (handler: BatchHandler) => SqsPoller, handler: BatchHandler, options: { mode: PollingMode; batches: BatchTiming[] }) {
    this.#name = name;
    this.#mode = options.mode;
    this.#poller = poller(async (event) => {
      // Received while stopping: handled by nobody; the messages stay on the queue.
      if (this.#stopping) throw new Error('stopping');
      const startedAt = Date.now();
      const began = performance.now();
      const batch = handler(event);
      this.#batch = batch;
      try {
        return await batch;
      } finally {
        const sentAt = Math.min(...event.Records.map((record) => Number(record.attributes.SentTimestamp)));
        options.batches.push({ queue: name, sentAt, startedAt, durationMs: performance.now() - began, records: event.Records.length });
      }
    });
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#loop();
  }

  async #loop(): Promise<void> {
    while (!this.#stopping) {
      const startedAt = Date.now();
      try {
        const result = await this.#poller.pollOnce({ waitTimeSeconds: this.#mode.waitTimeSeconds });
        if (this.#stopping) return;
        if (result.handlerError) throw result.handlerError;
        if (result.received > 0) continue;
        this.lastEmptyReceiveStartedAt = startedAt;
        const released = this.#mode.releaseRetries ? await this.#poller.releaseFailed() : 0;
        if (released === 0 && this.#mode.idleMs > 0) await delay(this.#mode.idleMs);
      } catch (error) {
        if (this.#stopping) return;
        this.error ??= new Error(`${this.#name} queue: ${(error as Error).message}`);
        await delay(250);
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#batch?.catch(() => undefined);
  }
}

const delay = (ms: number) => new Promise<void>((done) => setTimeout(done, ms).unref());
