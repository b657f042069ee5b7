import { CreateSecretCommand, PutSecretValueCommand, ResourceExistsException } from '@aws-sdk/client-secrets-manager';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, vi } from 'vitest';
import { createWorker, type Worker, type WorkerOverrides } from '../../functions/register-worker/worker.ts';
import { createAwsClients, type AwsClients } from '../../shared/aws-clients.ts';
import type { JobOutcome } from '../../shared/domain/run-job.ts';
import { ManualClock } from '../../shared/clock.ts';
import { loadConfig, type WorkerConfig } from '../../shared/config.ts';
import { deadLetterEnvelopeV1Schema, type DeadLetterEnvelopeV1 } from '../../shared/jobs/dlq-envelope.v1.ts';
import { enqueueJob } from '../../shared/jobs/enqueue.ts';
import type { JobV1Input } from '../../shared/jobs/job.v1.ts';
import { startGraphSimulator, type GraphSimulator, type GraphSimulatorOptions } from '../../tools/graph-simulator.ts';
import type { LocalResources } from '../../shared/local-resources.ts';
import { provisionEmulatorResources } from '../../tools/emulator-resources.ts';
import { SqsPoller } from '../../tools/sqs-poller.ts';
import { expectNoSecrets } from './secrets-scan.ts';

export const TEST_TOKEN = 'EAAG-test-token-never-logged-7f3a9';

/** Everything an integration test of the worker needs: real moto resources, the simulator, a shared clock. */
export interface WorkerHarness {
  stack: LocalResources;
  clients: AwsClients;
  clock: ManualClock;
  simulator: GraphSimulator;
  config: WorkerConfig;
  worker: Worker;
  source: SqsPoller;
  /** Everything the logger printed, for secret scans. */
  logs: string[];
  /** Every delivery's outcome, from the worker's outcome hook (never parsed from logs). */
  outcomes: JobOutcome[];
  /** Every PIN stored through `storePin`, for secret scans. */
  storedPins: string[];
  storePin(phoneNumberId: string, pin: string): Promise<void>;
  enqueue(job: JobV1Input): Promise<{ messageId: string; idempotencyKey: string }>;
  /** Receives and deletes every dead letter, parsed with the envelope schema. */
  takeDeadLetters(): Promise<DeadLetterEnvelopeV1[]>;
  /** A second worker (a concurrent Lambda instance) on the same resources. */
  anotherWorker(overrides?: WorkerOverrides): Worker;
  stop(): Promise<void>;
}

export async function createWorkerHarness(
  options: { env?: Record<string, string>; simulator?: GraphSimulatorOptions; overrides?: WorkerOverrides } = {},
): Promise<WorkerHarness> {
  const endpoint = process.env.AWS_ENDPOINT_URL!;
  const region = process.env.AWS_REGION!;
  const clients = createAwsClients();
  const stack = await provisionEmulatorResources({ endpoint, region, namePrefix: `t-${randomUUID().slice(0, 8)}` }, clients);
  const clock = new ManualClock();
  const simulator = await startGraphSimulator({ tokens: [TEST_TOKEN], now: () => clock.now(), ...options.simulator });
  await clients.secretsManager.send(new CreateSecretCommand({ Name: stack.tokenSecretId, SecretString: TEST_TOKEN }));
  const config = loadConfig({
    GRAPH_API_BASE_URL: simulator.baseUrl,
    GRAPH_TIMEOUT_MS: '1500',
    LEDGER_TABLE_NAME: stack.ledgerTableName,
    JOB_QUEUE_URL: stack.jobQueueUrl,
    DEAD_LETTER_QUEUE_URL: stack.deadLetterQueueUrl,
    TOKEN_SECRET_ID: stack.tokenSecretId,
    PIN_SECRET_PREFIX: stack.pinSecretPrefix,
    ...options.env,
  });
  const logs: string[] = [];
  const outcomes: JobOutcome[] = [];
  const storedPins: string[] = [];
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logs.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
    });
  }
  const build = (overrides: WorkerOverrides = {}) =>
    createWorker(config, { clock, clients, onOutcome: (outcome) => outcomes.push(outcome), ...options.overrides, ...overrides });
  const worker = build();
  const source = new SqsPoller(clients.sqs, stack.jobQueueUrl, worker.handleBatch);
  return {
    stack,
    clients,
    clock,
    simulator,
    config,
    worker,
    source,
    logs,
    outcomes,
    storedPins,
    async storePin(phoneNumberId, pin) {
      storedPins.push(pin);
      const name = `${stack.pinSecretPrefix}${phoneNumberId}`;
      try {
        await clients.secretsManager.send(new CreateSecretCommand({ Name: name, SecretString: pin }));
      } catch (error) {
        if (!(error instanceof ResourceExistsException)) throw error;
        await clients.secretsManager.send(new PutSecretValueCommand({ SecretId: name, SecretString: pin }));
      }
    },
    enqueue: (job) => enqueueJob(clients.sqs, stack.jobQueueUrl, job),
    async takeDeadLetters() {
      const envelopes: DeadLetterEnvelopeV1[] = [];
      for (;;) {
        const output = await clients.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: stack.deadLetterQueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
        );
        const messages = output.Messages ?? [];
        if (messages.length === 0) return envelopes;
        for (const message of messages) {
          envelopes.push(deadLetterEnvelopeV1Schema.parse(JSON.parse(message.Body!)));
          await clients.sqs.send(new DeleteMessageCommand({ QueueUrl: stack.deadLetterQueueUrl, ReceiptHandle: message.ReceiptHandle! }));
        }
      }
    },
    anotherWorker: (overrides) => build(overrides),
    async stop() {
      vi.restoreAllMocks();
      await simulator.stop();
    },
  };
}

/**
 * A fresh harness per test with one simulated number and its PIN stored. After each test, fails if a PIN
 * or the token reached the logs, then stops. The returned object forwards to the current test's harness.
 */
export function useWorkerHarness(
  phoneNumberId: string,
  pin: string,
  options: Parameters<typeof createWorkerHarness>[0] & { number?: Parameters<GraphSimulator['addNumber']>[1] } = {},
): WorkerHarness {
  let current: WorkerHarness | undefined;
  beforeEach(async () => {
    current = await createWorkerHarness(options);
    current.simulator.addNumber(phoneNumberId, { pin, ...options.number });
    await current.storePin(phoneNumberId, pin);
  });
  afterEach(async () => {
    const harness = current!;
    current = undefined;
    try {
      expectNoSecrets(harness.logs, [...harness.storedPins, TEST_TOKEN]);
    } finally {
      await harness.stop();
    }
  });
  return new Proxy({} as WorkerHarness, {
    get: (_target, property) => {
      if (!current) throw new Error('useWorkerHarness: used outside a test');
      return current[property as keyof WorkerHarness];
    },
  });
}
