import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadReceiverConfig } from '../../functions/webhook-receiver/config.ts';
import { startWebhookServer } from '../../functions/webhook-receiver/local-server.ts';
import { createReceiver, createReceiverClients, type ReceiverOverrides } from '../../functions/webhook-receiver/receiver.ts';
import { ManualClock } from '../../shared/clock.ts';
import { EventBridgePublisher, type EventPublisher } from '../../shared/events/publisher.ts';
import { parseRegistrarEvent } from '../../shared/events/registrar-events.v1.ts';
import { METRICS } from '../../shared/metrics.ts';
import { DynamoDbChangeLog } from '../../shared/webhooks/dynamodb-change-log.ts';
import { readWebhook } from '../../shared/webhooks/meta-webhook.ts';
import type { WebhookOutcome } from '../../shared/webhooks/outcome.ts';
import { signBody } from '../../shared/webhooks/signature.ts';
import { provisionWebhookResources, webhookReceiverEnv, type WebhookResources } from '../../tools/webhook-resources.ts';
import { RecordingMetrics } from '../support/recording-metrics.ts';
import { expectNoSecrets } from '../support/secrets-scan.ts';
import { APP_SECRET, handshake, signedPost, VERIFY_TOKEN, webhookFixture } from '../support/webhook-factories.ts';

const clients = createReceiverClients();
const sqs = new SQSClient();
const approved = webhookFixture('name-approved.json');
const approvedChangeId = (() => {
  const reading = readWebhook(approved);
  if (reading.kind !== 'changes' || reading.changes[0]?.kind !== 'event') throw new Error('the approval fixture must hold one event');
  return reading.changes[0].changeId;
})();

let resources: WebhookResources;
let clock: ManualClock;
let metrics: RecordingMetrics;
let outcomes: WebhookOutcome[];
const logs: string[] = [];
const rotatedSecrets: string[] = [];

/** A receiver on the emulator's real table, bus and secrets (one Lambda container), with its outcomes and metrics recorded. */
function receiverWith(env: Record<string, string> = {}, overrides: ReceiverOverrides = {}) {
  return createReceiver(loadReceiverConfig({ ...webhookReceiverEnv(resources), IN_PROGRESS_WAIT_MS: '2000', ...env }), {
    clients,
    clock,
    metrics,
    onOutcome: (outcome) => outcomes.push(outcome),
    ...overrides,
  });
}

/** Every event the bus delivered to the rule's SQS target so far (moto routes PutEvents synchronously). */
async function deliveredEvents(): Promise<unknown[]> {
  const bodies: unknown[] = [];
  for (;;) {
    const output = await sqs.send(new ReceiveMessageCommand({ QueueUrl: resources.eventQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    const messages = output.Messages ?? [];
    if (messages.length === 0) return bodies;
    bodies.push(...messages.map((message) => JSON.parse(message.Body!)));
    await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: resources.eventQueueUrl, Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })) }),
    );
  }
}

beforeEach(async () => {
  resources = await provisionWebhookResources({ ...clients, sqs }, { namePrefix: `wh-${randomUUID().slice(0, 8)}`, appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN });
  clock = new ManualClock();
  metrics = new RecordingMetrics();
  outcomes = [];
  logs.length = 0;
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logs.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
    });
  }
});

afterEach(() => {
  // No secret, signature or body content in any log line of any test.
  expectNoSecrets(logs, [APP_SECRET, VERIFY_TOKEN, ...rotatedSecrets, signBody(approved, APP_SECRET).slice('sha256='.length), 'Acme Support', '15550783881']);
  vi.restoreAllMocks();
});

describe('the webhook receiver on the emulator', () => {
  it('publishes one event for an approval delivered 5 times (2 concurrently), and refuses a wrong signature', async () => {
    // Prepare: two Lambda containers, as concurrent deliveries would meet.
    const first = receiverWith();
    const second = receiverWith();
    // Act
    const statuses = [(await first.handle(signedPost(approved))).status];
    statuses.push(...(await Promise.all([first.handle(signedPost(approved)), second.handle(signedPost(approved))])).map((response) => response.status));
    statuses.push((await second.handle(signedPost(approved, 'not-the-app-secret'))).status);
    statuses.push((await first.handle(signedPost(approved))).status, (await second.handle(signedPost(approved))).status);
    // Assess
    expect(statuses.filter((status) => status === 401)).toHaveLength(1);
    expect(statuses.filter((status) => status === 200)).toHaveLength(5);
    const events = await deliveredEvents();
    expect(events).toHaveLength(1);
    const parsed = parseRegistrarEvent(events[0]);
    expect(parsed).toMatchObject({ ok: true, event: { detailType: 'PhoneNumberNameUpdated', detail: { changeId: approvedChangeId, decision: 'APPROVED' } } });
    expect(events[0]).toMatchObject({ source: 'wa-registrar', 'detail-type': 'PhoneNumberNameUpdated' });
    expect(metrics.totals(METRICS.webhookEventPublished)).toEqual({ 'detailType=PhoneNumberNameUpdated': 1 });
    expect(metrics.totals(METRICS.webhookDuplicate)).toEqual({ '': 4 });
    expect(metrics.totals(METRICS.webhookRejected)).toEqual({ 'reason=signature_mismatch': 1 });
  });

  it('answers 500 when PutEvents fails and releases the claim, so the redelivery publishes it', async () => {
    // Prepare: the real publisher, failing its first call.
    const real = new EventBridgePublisher(clients.eventBridge, resources.eventBusName);
    let failures = 1;
    const flaky: EventPublisher = {
      publish: async (events) => (failures-- > 0 ? events.map(() => ({ ok: false, error: 'InternalException' })) : real.publish(events)),
    };
    const receiver = receiverWith({}, { publisher: flaky });
    // Act
    const failed = await receiver.handle(signedPost(approved));
    const eventsAfterFailure = await deliveredEvents();
    const redelivered = await receiver.handle(signedPost(approved));
    // Assess
    expect(failed.status).toBe(500);
    expect(eventsAfterFailure).toEqual([]);
    expect(redelivered.status).toBe(200);
    expect(await deliveredEvents()).toHaveLength(1);
    expect(metrics.totals(METRICS.webhookFailed)).toEqual({ 'stage=publish': 1 });
  });

  it('publishes a change whose claimer died before publishing, once the claim is stale', async () => {
    // Prepare: a delivery claimed the change, then its Lambda died.
    const changeLog = new DynamoDbChangeLog(clients.dynamodb, resources.changeTableName);
    await changeLog.claim({ changeId: approvedChangeId, detailType: 'PhoneNumberNameUpdated', now: clock.now(), claimTimeoutMs: 60_000, retainMs: 8 * 86_400_000 });
    const receiver = receiverWith({ CLAIM_TIMEOUT_SECONDS: '60', IN_PROGRESS_WAIT_MS: '0' });
    // Act: Meta redelivers within the claim timeout, then after it.
    const early = await receiver.handle(signedPost(approved));
    clock.advance(61_000);
    const late = await receiver.handle(signedPost(approved));
    // Assess
    expect(early.status).toBe(500);
    expect(late.status).toBe(200);
    expect(await deliveredEvents()).toHaveLength(1);
    expect(outcomes.map((outcome) => outcome.kind === 'delivery' && outcome.failed.map((failure) => failure.stage))).toEqual([['in_progress'], []]);
  });

  it('reads a rotated app secret again before refusing a signature', async () => {
    // Prepare: the container has the old secret cached; Meta signs with the new one.
    const receiver = receiverWith();
    expect((await receiver.handle(signedPost(approved))).status).toBe(200);
    const rotated = 'rotated-app-secret-never-logged';
    rotatedSecrets.push(rotated);
    await clients.secretsManager.send(new PutSecretValueCommand({ SecretId: resources.appSecretId, SecretString: JSON.stringify({ appSecret: rotated }) }));
    clock.advance(11_000);
    // Act
    const response = await receiver.handle(signedPost(webhookFixture('security-pin-changed.json'), rotated));
    // Assess
    expect(response.status).toBe(200);
    expect(await deliveredEvents()).toHaveLength(2);
  });

  it('answers the handshake with the verify token from Secrets Manager', async () => {
    const receiver = receiverWith();
    expect(await receiver.handle(handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '42' }))).toMatchObject({ status: 200, body: '42' });
    expect((await receiver.handle(handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': 'nope', 'hub.challenge': '42' }))).status).toBe(403);
  });

  it('serves the receiver over node:http for the local run', async () => {
    // Prepare
    const server = await startWebhookServer(receiverWith({ MAX_WEBHOOK_BYTES: String(64 * 1024) }));
    try {
      // Act
      const challenge = await fetch(`${server.url}/?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=99`);
      const post = await fetch(server.url, { method: 'POST', headers: signedPost(approved).headers as Record<string, string>, body: new Uint8Array(approved) });
      const tooLarge = await fetch(server.url, { method: 'POST', body: new Uint8Array(64 * 1024 + 10) });
      // Assess
      expect([challenge.status, await challenge.text()]).toEqual([200, '99']);
      expect(post.status).toBe(200);
      expect(tooLarge.status).toBe(413);
      expect(await deliveredEvents()).toHaveLength(1);
    } finally {
      await server.stop();
    }
  });
});

describe('the deployed handler module', () => {
  it('decodes a base64 Function URL body and publishes through middy', async () => {
    // Prepare
    vi.resetModules();
    for (const [name, value] of Object.entries(webhookReceiverEnv(resources))) vi.stubEnv(name, value);
    const { handler } = await import('../../functions/webhook-receiver/handler.ts');
    const body = webhookFixture('name-approved-non-ascii.json');
    const event = {
      version: '2.0',
      rawPath: '/',
      requestContext: { http: { method: 'POST', path: '/' } },
      headers: { 'content-type': 'application/octet-stream', 'x-hub-signature-256': signBody(body, APP_SECRET) },
      body: body.toString('base64'),
      isBase64Encoded: true,
    } as unknown as LambdaFunctionURLEvent;
    // Act
    const result = await handler(event, { functionName: 'receiver', awsRequestId: 'r-1' } as never);
    // Assess
    expect(result).toMatchObject({ statusCode: 200 });
    const events = await deliveredEvents();
    expect(events).toEqual([expect.objectContaining({ detail: expect.objectContaining({ requestedVerifiedName: 'Bäckerei Müller – Zürich/Bern 🥨' }) })]);
    vi.unstubAllEnvs();
  });

  it('fails the cold start naming each missing variable', async () => {
    vi.resetModules();
    vi.stubEnv('EVENT_BUS_NAME', '');
    await expect(import('../../functions/webhook-receiver/handler.ts')).rejects.toThrow(/EVENT_BUS_NAME is required/);
    vi.unstubAllEnvs();
  });
});
