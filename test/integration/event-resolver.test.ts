import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadEventResolverConfig } from '../../functions/event-resolver/config.ts';
import { createResolver, type EventResolver } from '../../functions/event-resolver/resolver.ts';
import { createAwsClients, type AwsClients } from '../../shared/aws-clients.ts';
import { ManualClock } from '../../shared/clock.ts';
import { deduplicationId } from '../../shared/deduplication.ts';
import { eventDeadLetterV1Schema, type EventDeadLetterV1 } from '../../shared/events/event-dead-letter.v1.ts';
import type { EventDetailType } from '../../shared/events/registrar-events.v1.ts';
import type { EventOutcome } from '../../shared/events/run-event.ts';
import { parseJob, type JobV1 } from '../../shared/jobs/job.v1.ts';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import type { LocalResources } from '../../shared/local-resources.ts';
import { METRICS } from '../../shared/metrics.ts';
import { provisionEmulatorResources } from '../../tools/emulator-resources.ts';
import { startGraphSimulator, type GraphSimulator } from '../../tools/graph-simulator.ts';
import { SqsPoller } from '../../tools/sqs-poller.ts';
import { T0, WABA, accountUpdated, bridgeBody, iso, nameUpdated, pinEvent } from '../support/event-factories.ts';
import { RecordingMetrics } from '../support/recording-metrics.ts';
import { expectNoSecrets } from '../support/secrets-scan.ts';

const TOKEN = 'EAAG-resolver-test-token-5d1c';
const TARGET = '106540352242922';
const DECOY = '106540352242933';
const BUFFER_MAX_RECEIVES = 3;

/** The events path on the emulator: the buffer queue (standard, with its DLQ), the job queue, the ledger, the simulator. */
interface Harness {
  stack: LocalResources;
  clients: AwsClients;
  clock: ManualClock;
  simulator: GraphSimulator;
  ledger: DynamoDbAttemptLedger;
  resolver: EventResolver;
  metrics: RecordingMetrics;
  outcomes: EventOutcome[];
  logs: string[];
  bufferUrl: string;
  eventsDlqUrl: string;
  source: SqsPoller;
  put(detailType: EventDetailType, detail: object): Promise<void>;
  /** Receives and deletes everything on a queue. */
  take(queueUrl: string): Promise<string[]>;
}

async function createHarness(): Promise<Harness> {
  const clients = createAwsClients();
  const prefix = `ev-${randomUUID().slice(0, 8)}`;
  const stack = await provisionEmulatorResources({ endpoint: process.env.AWS_ENDPOINT_URL!, region: process.env.AWS_REGION!, namePrefix: prefix }, clients);
  const dlq = await clients.sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-events-dlq` }));
  const dlqArn = (await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const buffer = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: `${prefix}-events`,
      Attributes: { VisibilityTimeout: '60', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: BUFFER_MAX_RECEIVES }) },
    }),
  );
  await clients.secretsManager.send(new CreateSecretCommand({ Name: stack.tokenSecretId, SecretString: TOKEN }));
  const clock = new ManualClock(T0 + 60_000);
  const simulator = await startGraphSimulator({ tokens: [TOKEN], now: () => clock.now() });
  simulator.addBusiness(WABA, [
    { phoneNumberId: TARGET, displayPhoneNumber: '+1 555-078-3881' },
    { phoneNumberId: DECOY, displayPhoneNumber: '+1 555-078-3882' },
  ]);
  const config = loadEventResolverConfig({
    GRAPH_API_BASE_URL: simulator.baseUrl,
    GRAPH_TIMEOUT_MS: '1500',
    LEDGER_TABLE_NAME: stack.ledgerTableName,
    JOB_QUEUE_URL: stack.jobQueueUrl,
    EVENTS_DEAD_LETTER_QUEUE_URL: dlq.QueueUrl!,
    TOKEN_SECRET_ID: stack.tokenSecretId,
  });
  const logs: string[] = [];
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logs.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
    });
  }
  const outcomes: EventOutcome[] = [];
  const metrics = new RecordingMetrics();
  const resolver = createResolver(config, { clock, clients, metrics, onOutcome: (outcome) => outcomes.push(outcome) });
  const take = async (queueUrl: string) => {
    const bodies: string[] = [];
    for (;;) {
      const output = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60, MessageSystemAttributeNames: ['All'] }));
      const messages = output.Messages ?? [];
      if (messages.length === 0) return bodies;
      for (const message of messages) {
        bodies.push(message.Body!);
        await clients.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
      }
    }
  };
  return {
    stack,
    clients,
    clock,
    simulator,
    ledger: new DynamoDbAttemptLedger(clients.dynamodb, stack.ledgerTableName),
    resolver,
    metrics,
    outcomes,
    logs,
    bufferUrl: buffer.QueueUrl!,
    eventsDlqUrl: dlq.QueueUrl!,
    source: new SqsPoller(clients.sqs, buffer.QueueUrl!, resolver.handleBatch),
    put: async (detailType, detail) => {
      await clients.sqs.send(new SendMessageCommand({ QueueUrl: buffer.QueueUrl!, MessageBody: bridgeBody(detailType, detail) }));
    },
    take,
  };
}

describe('event resolver (moto + simulator)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness();
  });
  afterEach(async () => {
    try {
      expectNoSecrets(h.logs, [TOKEN]);
    } finally {
      vi.restoreAllMocks();
      await h.simulator.stop();
    }
  });

  it('maps an approval for a number listed as "+1 555-078-3881" and enqueues one register job; the decoy gets nothing', async () => {
    // Act
    await h.put('PhoneNumberNameUpdated', nameUpdated({ displayPhoneNumber: '15550783881' }));
    await h.source.drain();

    // Assess
    const jobs = (await h.take(h.stack.jobQueueUrl)).map((body) => (parseJob(body) as { ok: true; job: JobV1 }).job);
    expect(jobs).toEqual([expect.objectContaining({ action: 'register', phoneNumberId: TARGET, reason: 'name_change', businessAccountId: WABA })]);
    expect(await h.ledger.number(TARGET)).toMatchObject({ businessAccountId: WABA, nameApproval: { approvedAt: T0, deadline: T0 + 14 * 24 * 3_600_000 } });
    expect(await h.ledger.deadlines()).toEqual([expect.objectContaining({ phoneNumberId: TARGET, businessAccountId: WABA })]);
    expect(await h.ledger.number(DECOY)).toMatchObject({ version: 0 });
    expect(await h.ledger.events(DECOY)).toEqual([]);
    expect(await h.ledger.business(WABA)).toMatchObject({ numbers: { '15550783881': TARGET, '15550783882': DECOY } });
  });

  it('the same event delivered three times: one job (same deduplication id), one list read', async () => {
    // Act
    const event = nameUpdated();
    for (let copy = 0; copy < 3; copy++) await h.put('PhoneNumberNameUpdated', event);
    await h.source.drain();

    // Assess
    const output = await h.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: h.stack.jobQueueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }));
    expect(output.Messages).toHaveLength(1);
    const key = `name-approval:${event.changeId.slice(0, 48)}`;
    expect(output.Messages![0]!.Attributes?.MessageDeduplicationId).toBe(deduplicationId('job', key, 0));
    expect(h.outcomes.map((outcome) => outcome.jobKeys)).toEqual([[key], [key], [key]]);
    expect(h.simulator.listCalls(WABA)).toHaveLength(1); // one list (one page: two numbers)
    expect(h.metrics.totals(METRICS.numberListRead)).toEqual({ '': 1 });
    expect(h.metrics.totals(METRICS.eventOutcome)).toEqual({ 'detailType=PhoneNumberNameUpdated,outcome=applied': 3 });
    expect((await h.ledger.number(TARGET)).version).toBe(1);
  });

  it('REJECTED: no job, the decision on the number\'s timeline', async () => {
    await h.put('PhoneNumberNameUpdated', nameUpdated({ decision: 'REJECTED', rejectionReason: 'NAME_NOT_CONSISTENT' }));
    await h.source.drain();

    expect(await h.take(h.stack.jobQueueUrl)).toEqual([]);
    expect(await h.ledger.events(TARGET)).toEqual([
      expect.objectContaining({ at: T0, detailType: 'PhoneNumberNameUpdated', summary: 'name REJECTED "Acme Support" (NAME_NOT_CONSISTENT)' }),
    ]);
    expect((await h.ledger.number(TARGET)).nameApproval).toBeUndefined();
  });

  it('an unknown display number is dead-lettered naming the WABA and the number, and the event is acknowledged', async () => {
    await h.put('PhoneNumberNameUpdated', nameUpdated({ displayPhoneNumber: '15550009999' }));
    const round = await h.source.pollOnce();

    expect(round).toMatchObject({ received: 1, failed: [] });
    const envelopes: EventDeadLetterV1[] = (await h.take(h.eventsDlqUrl)).map((body) => eventDeadLetterV1Schema.parse(JSON.parse(body)));
    expect(envelopes).toEqual([
      expect.objectContaining({
        kind: 'wa-registrar.event-dead-letter',
        reason: 'unknown_number',
        businessAccountId: WABA,
        displayPhoneNumber: '15550009999',
        detailType: 'PhoneNumberNameUpdated',
        listedAt: iso(T0 + 60_000),
      }),
    ]);
    expect(envelopes[0]!.detail).toContain(WABA);
    expect(envelopes[0]!.detail).toContain('15550009999');
    expect(await h.take(h.bufferUrl)).toEqual([]);
    expect(await h.take(h.stack.jobQueueUrl)).toEqual([]);
    expect(h.metrics.totals(METRICS.eventDeadLettered)).toEqual({ 'reason=unknown_number': 1 });
  });

  it('PinChanged holds the number (pin_changed) on the ledger', async () => {
    await h.put('PinChanged', pinEvent());
    await h.source.drain();

    expect((await h.ledger.number(TARGET)).hold).toEqual({ cause: 'pin_changed', since: T0, detail: 'PIN_CHANGED (requester 123456789)' });
    expect((await h.ledger.number(DECOY)).hold).toBeUndefined();
  });

  it('a restriction holds every known number; a later lift releases them; an older lift delivered after a newer restriction does nothing', async () => {
    const holds = async () => Promise.all([TARGET, DECOY].map(async (id) => (await h.ledger.number(id)).accountHold));

    await h.put('AccountUpdated', accountUpdated());
    await h.source.drain();
    expect(await holds()).toEqual([
      { cause: 'account_restricted', since: T0, businessAccountId: WABA, detail: 'ACCOUNT_RESTRICTION: RESTRICTED_ADD_PHONE_NUMBER_ACTION' },
      { cause: 'account_restricted', since: T0, businessAccountId: WABA, detail: 'ACCOUNT_RESTRICTION: RESTRICTED_ADD_PHONE_NUMBER_ACTION' },
    ]);

    await h.put('AccountUpdated', accountUpdated({ occurredAt: iso(T0 + 10_000), restrictions: [] }));
    await h.source.drain();
    expect(await holds()).toEqual([undefined, undefined]);

    await h.put('AccountUpdated', accountUpdated({ occurredAt: iso(T0 + 30_000), event: 'DISABLED_UPDATE', banState: 'DISABLE', restrictions: undefined }));
    await h.source.drain();
    await h.put('AccountUpdated', accountUpdated({ occurredAt: iso(T0 + 20_000), event: 'DISABLED_UPDATE', banState: 'REINSTATE', restrictions: undefined }));
    await h.source.drain();
    expect(await holds()).toEqual([expect.objectContaining({ since: T0 + 30_000, detail: 'DISABLED_UPDATE (DISABLE)' }), expect.objectContaining({ since: T0 + 30_000 })]);
    expect(await h.ledger.business(WABA)).toMatchObject({ account: { state: 'restricted', at: T0 + 30_000 } });
    expect(h.simulator.listCalls(WABA)).toHaveLength(1);
    // Every update reached the number's timeline, the older lift too (it changed nothing).
    expect((await h.ledger.events(TARGET)).map((event) => event.summary)).toEqual([
      'account ACCOUNT_RESTRICTION',
      'account ACCOUNT_RESTRICTION',
      'account DISABLED_UPDATE (REINSTATE)',
      'account DISABLED_UPDATE (DISABLE)',
    ]);
  });

  it('a failing list read fails the message; SQS retries it and, after maxReceiveCount, moves it to the dead-letter queue', async () => {
    h.simulator.injectList(WABA, { type: 'http500' }, { type: 'http500' }, { type: 'http500' });
    await h.put('PinChanged', pinEvent());

    for (let receive = 1; receive <= BUFFER_MAX_RECEIVES; receive++) {
      const round = await h.source.pollOnce();
      expect(round).toMatchObject({ received: 1, failed: [expect.any(String)] });
      await h.source.releaseFailed();
    }
    expect(await h.source.pollOnce()).toMatchObject({ received: 0 });

    const [moved] = await h.take(h.eventsDlqUrl);
    expect(JSON.parse(moved!)).toMatchObject({ 'detail-type': 'PinChanged', detail: { businessAccountId: WABA } });
    expect(h.outcomes.map((outcome) => outcome.status)).toEqual(['retry', 'retry', 'retry']);
    expect((await h.ledger.number(TARGET)).version).toBe(0);
  });
});

describe('the deployed event resolver module', () => {
  it('fails the cold start naming each missing variable', async () => {
    vi.resetModules();
    vi.stubEnv('LEDGER_TABLE_NAME', '');
    vi.stubEnv('EVENTS_DEAD_LETTER_QUEUE_URL', '');
    try {
      await expect(import('../../functions/event-resolver/handler.ts')).rejects.toThrow(/EVENTS_DEAD_LETTER_QUEUE_URL is required/);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('loads its configuration from the environment and resolves an SQS batch through middy', async () => {
    // Prepare
    const clients = createAwsClients();
    const stack = await provisionEmulatorResources({ endpoint: process.env.AWS_ENDPOINT_URL!, region: process.env.AWS_REGION!, namePrefix: `evw-${randomUUID().slice(0, 8)}` }, clients);
    await clients.secretsManager.send(new CreateSecretCommand({ Name: stack.tokenSecretId, SecretString: JSON.stringify({ accessToken: TOKEN }) }));
    const simulator = await startGraphSimulator({ tokens: [TOKEN] });
    simulator.addBusiness(WABA, [{ phoneNumberId: TARGET, displayPhoneNumber: '+1 555-078-3881' }]);
    vi.resetModules();
    const env = {
      GRAPH_API_BASE_URL: simulator.baseUrl,
      LEDGER_TABLE_NAME: stack.ledgerTableName,
      JOB_QUEUE_URL: stack.jobQueueUrl,
      EVENTS_DEAD_LETTER_QUEUE_URL: stack.deadLetterQueueUrl,
      TOKEN_SECRET_ID: stack.tokenSecretId,
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    try {
      const { handler } = await import('../../functions/event-resolver/handler.ts');
      const record = {
        messageId: 'wired-event-1',
        receiptHandle: 'r',
        body: bridgeBody('PinChanged', pinEvent({ occurredAt: iso(Date.now() - 1000) })),
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 's', ApproximateFirstReceiveTimestamp: '0' },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:events',
        awsRegion: 'eu-west-1',
      };
      const context = { functionName: 'event-resolver', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

      // Act
      const response = await handler({ Records: [record] }, context);

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect((await new DynamoDbAttemptLedger(clients.dynamodb, stack.ledgerTableName).number(TARGET)).hold).toMatchObject({ cause: 'pin_changed' });
    } finally {
      vi.unstubAllEnvs();
      await simulator.stop();
    }
  });
});
