import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadReceiverConfig, receiverConfigSchema } from '../../functions/webhook-receiver/config.ts';
import { createReceiver, type ReceiverOverrides } from '../../functions/webhook-receiver/receiver.ts';
import { ManualClock } from '../../shared/clock.ts';
import { ConfigError } from '../../shared/config.ts';
import { createLogger } from '../../shared/observability.ts';
import { METRICS } from '../../shared/metrics.ts';
import type { WebhookOutcome } from '../../shared/webhooks/outcome.ts';
import { signBody } from '../../shared/webhooks/signature.ts';
import { InMemoryChangeLog, InMemoryWebhookSecrets, RecordingPublisher } from '../support/in-memory-webhook-ports.ts';
import { RecordingMetrics } from '../support/recording-metrics.ts';
import { expectNoSecrets } from '../support/secrets-scan.ts';
import { APP_SECRET, handshake, signedPost, VERIFY_TOKEN, webhookFixture } from '../support/webhook-factories.ts';

const ENV = { APP_SECRET_ID: 'app', VERIFY_TOKEN_SECRET_ID: 'verify', EVENT_BUS_NAME: 'bus', WEBHOOK_CHANGES_TABLE_NAME: 'changes' };

/** A receiver on in-memory ports, with everything it logs and emits captured. */
function setup(env: Record<string, string> = {}, overrides: ReceiverOverrides = {}) {
  const secrets = new InMemoryWebhookSecrets({ appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN });
  const changeLog = new InMemoryChangeLog();
  const publisher = new RecordingPublisher();
  const metrics = new RecordingMetrics();
  const clock = new ManualClock();
  const outcomes: WebhookOutcome[] = [];
  const logger = createLogger();
  logger.setLogLevel('DEBUG');
  const receiver = createReceiver(loadReceiverConfig({ ...ENV, ...env }), {
    secrets,
    changeLog,
    publisher,
    metrics,
    clock,
    logger,
    sleep: async () => undefined,
    onOutcome: (outcome) => outcomes.push(outcome),
    ...overrides,
  });
  return { receiver, secrets, changeLog, publisher, metrics, clock, outcomes };
}

const logs: string[] = [];
beforeEach(() => {
  logs.length = 0;
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logs.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
    });
  }
});
afterEach(() => {
  // Never the secrets, a signature or body content in a log line.
  const approved = webhookFixture('name-approved.json');
  expectNoSecrets(logs, [APP_SECRET, VERIFY_TOKEN, signBody(approved, APP_SECRET).slice(7), 'Acme Support', '15550783881']);
  vi.restoreAllMocks();
});

describe('the subscription handshake', () => {
  it('answers the challenge as text/plain for subscribe with the verify token', async () => {
    // Prepare
    const { receiver } = setup();
    // Act
    const response = await receiver.handle(handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1158201444' }));
    // Assess
    expect(response).toMatchObject({ status: 200, body: '1158201444', headers: { 'content-type': 'text/plain; charset=utf-8' } });
  });

  it.each([
    ['a wrong token', { 'hub.mode': 'subscribe', 'hub.verify_token': 'guess', 'hub.challenge': '1' }],
    ['a wrong mode', { 'hub.mode': 'unsubscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1' }],
    ['no token', { 'hub.mode': 'subscribe', 'hub.challenge': '1' }],
    ['no mode', { 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1' }],
  ])('refuses %s with 403 and never echoes the challenge', async (_case, query) => {
    const { receiver, metrics } = setup();
    const response = await receiver.handle(handshake(query));
    expect(response.status).toBe(403);
    expect(response.body).not.toBe('1');
    expect(metrics.totals(METRICS.webhookRejected)).toEqual({ 'reason=handshake_refused': 1 });
  });

  it('answers 400 to the right token without a challenge', async () => {
    const { receiver } = setup();
    const response = await receiver.handle(handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN }));
    expect(response.status).toBe(400);
  });

  it('reads the token again before refusing, so a rotated token works at once', async () => {
    const { receiver, secrets } = setup();
    secrets.rotate({ verifyToken: 'rotated-token' });
    const response = await receiver.handle(handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': 'rotated-token', 'hub.challenge': '7' }));
    expect(response).toMatchObject({ status: 200, body: '7' });
  });
});

describe('a webhook delivery', () => {
  it('publishes a verified change and answers 200', async () => {
    // Prepare
    const { receiver, publisher, metrics, outcomes } = setup();
    // Act
    const response = await receiver.handle(signedPost(webhookFixture('name-approved.json')));
    // Assess
    expect(response.status).toBe(200);
    expect(publisher.published).toEqual([expect.objectContaining({ detailType: 'PhoneNumberNameUpdated', detail: expect.objectContaining({ decision: 'APPROVED' }) })]);
    expect(outcomes).toEqual([expect.objectContaining({ kind: 'delivery', status: 200, published: [expect.objectContaining({ detailType: 'PhoneNumberNameUpdated' })] })]);
    expect(metrics.totals(METRICS.webhookEventPublished)).toEqual({ 'detailType=PhoneNumberNameUpdated': 1 });
    // The log line is there (and, checked after each test, holds no secret, signature or body content).
    expect(logs.some((line) => line.includes('webhook request') && line.includes('PhoneNumberNameUpdated'))).toBe(true);
  });

  it('publishes a redelivery once: the copies are duplicates', async () => {
    const { receiver, publisher, metrics } = setup();
    for (let copy = 0; copy < 3; copy++) expect((await receiver.handle(signedPost(webhookFixture('name-approved.json')))).status).toBe(200);
    expect(publisher.published).toHaveLength(1);
    expect(metrics.totals(METRICS.webhookDuplicate)).toEqual({ '': 2 });
  });

  it.each([
    ['no signature', { 'content-type': 'application/json' }, 'signature_missing'],
    ['a malformed signature', { 'x-hub-signature-256': 'sha1=abc' }, 'signature_malformed'],
    ['a wrong signature', { 'x-hub-signature-256': signBody(webhookFixture('name-approved.json'), 'other') }, 'signature_mismatch'],
  ])('refuses %s with 401 and touches nothing', async (_case, headers, reason) => {
    // Prepare
    const { receiver, publisher, changeLog, metrics } = setup();
    // Act
    const response = await receiver.handle({ method: 'POST', headers, rawBody: webhookFixture('name-approved.json'), query: {} });
    // Assess
    expect(response.status).toBe(401);
    expect(publisher.calls).toBe(0);
    expect(changeLog.markers.size).toBe(0);
    expect(metrics.totals(METRICS.webhookRejected)).toEqual({ [`reason=${reason}`]: 1 });
  });

  it('reads the app secret again once before a 401, so a rotated secret works at once', async () => {
    const { receiver, secrets, publisher } = setup();
    secrets.rotate({ appSecret: 'rotated-app-secret' });
    const response = await receiver.handle(signedPost(webhookFixture('name-approved.json'), 'rotated-app-secret'));
    expect(response.status).toBe(200);
    expect(publisher.published).toHaveLength(1);
  });

  it('finds the signature header in any letter case', async () => {
    const { receiver } = setup();
    const request = signedPost(webhookFixture('name-approved.json'));
    const response = await receiver.handle({ ...request, headers: { 'X-Hub-Signature-256': request.headers['x-hub-signature-256'] } });
    expect(response.status).toBe(200);
  });

  it('refuses a body over MAX_WEBHOOK_BYTES with 413 before reading the secret or hashing', async () => {
    // Prepare
    const { receiver, secrets, metrics } = setup({ MAX_WEBHOOK_BYTES: String(64 * 1024) });
    const body = Buffer.alloc(64 * 1024 + 1, 0x20);
    // Act
    const response = await receiver.handle(signedPost(body));
    // Assess
    expect(response.status).toBe(413);
    expect(secrets.reads).toBe(0);
    expect(metrics.totals(METRICS.webhookRejected)).toEqual({ 'reason=too_large': 1 });
  });

  it('answers 405 to other methods', async () => {
    const { receiver } = setup();
    const response = await receiver.handle({ method: 'PUT', headers: {}, rawBody: Buffer.alloc(0), query: {} });
    expect(response).toMatchObject({ status: 405, headers: { allow: 'GET, POST' } });
  });

  it.each([
    ['not JSON', 'not json at all', 'unparseable'],
    ['another object', JSON.stringify({ object: 'instagram', entry: [] }), 'unknown_object'],
    ['an unknown field', JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '1', time: 1, changes: [{ field: 'messages', value: {} }] }] }), 'unknown_field'],
    [
      'an unknown security event',
      JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '1', time: 1, changes: [{ field: 'security', value: { display_phone_number: '1', event: 'OTHER' } }] }] }),
      'unknown_event',
    ],
  ])('answers 200 to a signed body that is %s, counted and published nowhere', async (_case, body, reason) => {
    const { receiver, publisher, metrics } = setup();
    const response = await receiver.handle(signedPost(body));
    expect(response.status).toBe(200);
    expect(publisher.calls).toBe(0);
    expect(metrics.totals(METRICS.webhookIgnored)).toEqual({ [`reason=${reason}`]: 1 });
  });

  it('publishes every change of a body, and answers 500 if any failed, releasing only those', async () => {
    // Prepare: three changes; the bus refuses the first publish call.
    const { receiver, publisher, changeLog } = setup();
    const body = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [
        { id: '1', time: 100, changes: [{ field: 'security', value: { display_phone_number: '1', event: 'PIN_CHANGED' } }] },
        { id: '2', time: 200, changes: [{ field: 'account_update', value: { event: 'ACCOUNT_DELETED' } }, { field: 'messages', value: {} }] },
      ],
    });
    publisher.failNext(1);
    // Act
    const failed = await receiver.handle(signedPost(body));
    // Assess: nothing claimed is left behind, and the redelivery publishes both.
    expect(failed.status).toBe(500);
    expect(changeLog.markers.size).toBe(0);
    const redelivered = await receiver.handle(signedPost(body));
    expect(redelivered.status).toBe(200);
    expect(publisher.published.map((event) => event.detailType).sort()).toEqual(['AccountUpdated', 'PinChanged']);
  });

  it('answers 500 while another delivery holds a fresh claim, and takes a stale claim over', async () => {
    // Prepare: a delivery claimed the change and died before publishing.
    const { receiver, changeLog, publisher, clock, metrics } = setup({ IN_PROGRESS_WAIT_MS: '300', CLAIM_TIMEOUT_SECONDS: '30' });
    const request = signedPost(webhookFixture('name-approved.json'));
    await receiver.handle(request);
    const changeId = publisher.published[0]!.changeId;
    changeLog.markers.set(changeId, { state: 'claimed', claimId: 'crashed', claimedAt: clock.now(), expiresAtSeconds: clock.now() / 1000 + 8 * 86_400 });
    publisher.published.length = 0;
    // Act / Assess: within the claim timeout the change is someone else's: 500, Meta redelivers.
    expect((await receiver.handle(request)).status).toBe(500);
    expect(metrics.totals(METRICS.webhookFailed)).toEqual({ 'stage=in_progress': 1 });
    // After it, the claim is stale and this delivery publishes.
    clock.advance(31_000);
    expect((await receiver.handle(request)).status).toBe(200);
    expect(publisher.published).toHaveLength(1);
  });

  it('answers 200 to a concurrent duplicate once the delivery that claimed the change has published it', async () => {
    // Prepare: two containers on one change log; the first is held inside PutEvents until the second is waiting.
    const first = setup();
    let letFirstPublish!: () => void;
    const held = new Promise<void>((resolve) => (letFirstPublish = resolve));
    let signalPublishing!: () => void;
    const firstPublishing = new Promise<void>((resolve) => (signalPublishing = resolve));
    const publish = first.publisher.publish.bind(first.publisher);
    first.publisher.publish = async (events) => {
      signalPublishing();
      await held;
      return publish(events);
    };
    let firstDone!: Promise<unknown>;
    const second = setup({}, {
      changeLog: first.changeLog,
      publisher: first.publisher,
      sleep: async () => {
        letFirstPublish();
        await firstDone;
      },
    });
    // Act
    firstDone = first.receiver.handle(signedPost(webhookFixture('name-approved.json')));
    await firstPublishing;
    const duplicate = await second.receiver.handle(signedPost(webhookFixture('name-approved.json')));
    // Assess
    expect(duplicate.status).toBe(200);
    expect(((await firstDone) as { status: number }).status).toBe(200);
    expect(first.publisher.published).toHaveLength(1);
    expect(second.outcomes).toEqual([expect.objectContaining({ status: 200, duplicates: [first.publisher.published[0]!.changeId] })]);
  });

  it('releases the claims when a publisher throws, so nothing is left claimed', async () => {
    const { receiver, publisher, changeLog } = setup();
    publisher.publish = async () => {
      throw new Error('broken adapter');
    };
    expect((await receiver.handle(signedPost(webhookFixture('name-approved.json')))).status).toBe(500);
    expect(changeLog.markers.size).toBe(0);
  });

  it('answers 500 when the app secret cannot be read', async () => {
    const { receiver, secrets, metrics } = setup();
    vi.spyOn(secrets, 'appSecret').mockRejectedValue(new Error('Secrets Manager is down'));
    const response = await receiver.handle(signedPost(webhookFixture('name-approved.json')));
    expect(response.status).toBe(500);
    expect(metrics.totals(METRICS.webhookFailed)).toEqual({ 'stage=secret': 1 });
  });
});

describe('the receiver configuration', () => {
  it('has defaults for everything but the four resource names', () => {
    expect(receiverConfigSchema.parse(ENV)).toMatchObject({ MAX_WEBHOOK_BYTES: 4 * 1024 * 1024, SECRET_CACHE_SECONDS: 300, CHANGE_RECORD_DAYS: 8 });
  });

  it('names every missing or bad variable and never prints a value', () => {
    const attempt = () => loadReceiverConfig({ APP_SECRET_ID: 'x', CHANGE_RECORD_DAYS: '7', MAX_WEBHOOK_BYTES: '99999999' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/VERIFY_TOKEN_SECRET_ID.*EVENT_BUS_NAME.*WEBHOOK_CHANGES_TABLE_NAME|CHANGE_RECORD_DAYS/);
    expect(attempt).toThrow(/CHANGE_RECORD_DAYS must be at least 8/);
    expect(attempt).toThrow(/MAX_WEBHOOK_BYTES must be at most/);
  });

  it('refuses a wait for concurrent duplicates as long as the claim timeout', () => {
    expect(() => loadReceiverConfig({ ...ENV, IN_PROGRESS_WAIT_MS: '5000', CLAIM_TIMEOUT_SECONDS: '5' })).toThrow(/IN_PROGRESS_WAIT_MS/);
  });
});
