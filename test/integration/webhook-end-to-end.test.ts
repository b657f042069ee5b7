import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueJob } from '../../shared/jobs/enqueue.ts';
import { LOCAL_WEBHOOK_SECRETS } from '../../tools/emulator-resources.ts';
import { startLocalStack, type LocalStack } from '../../tools/local-stack.ts';
import { postSignedWebhook } from '../../tools/webhook-sender.ts';

/**
 * Meta → receiver → bus → buffer queue → resolver → job queue → worker → Graph, every part real (moto, the simulator
 * over HTTP, the receiver served on 127.0.0.1): what issue 10 asks of the whole path, counted at Graph.
 */
const WABA = '102290129340398';
const APPROVED = '1001';
const DECOY = '1002';
const CHANGED = '1003';
const PIN = '864209';
const NEW_PIN = '570213';

const numbers = [APPROVED, DECOY, CHANGED].map((phoneNumberId) => ({
  phoneNumberId,
  displayPhoneNumber: `+1 555-078-${phoneNumberId}`,
  simulator: { registered: phoneNumberId !== CHANGED, pin: PIN },
  storedPin: PIN,
}));

const body = (field: string, value: Record<string, unknown>, time: number) =>
  JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: WABA, time, changes: [{ field, value }] }] });
const digits = (phoneNumberId: string) => `1555078${phoneNumberId}`;

describe('webhooks end to end', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ businessAccountId: WABA, numbers, namePrefix: 'e2e' });
    stack.startPolling({ waitTimeSeconds: 0, idleMs: 20, releaseRetries: true });
  }, 120_000);
  afterAll(() => stack?.stop());

  const settle = async () => {
    const since = Date.now();
    await stack.until(() => stack.quietSince(since), 30_000, 'the queues to empty');
  };

  it('an approval delivered 5 times (2 at once) and once forged: one 401, one event, one job, one register call; the decoy gets nothing', async () => {
    // Prepare
    const approval = body('phone_number_name_update', { display_phone_number: digits(APPROVED), decision: 'APPROVED', requested_verified_name: 'Acme Support', rejection_reason: null }, Math.floor(Date.now() / 1000));
    const post = (secret: string = LOCAL_WEBHOOK_SECRETS.appSecret) => postSignedWebhook(stack.webhookUrl, approval, secret);
    // Act
    const answers = [...(await Promise.all([post(), post()])), await post(), await post(), await post(), await post('not-the-app-secret')];
    await stack.until(() => stack.outcomes.jobs.some((entry) => entry.outcome.phoneNumberId === APPROVED), 30_000, 'the re-registration');
    await settle();
    // Assess
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 200, 200, 200, 401]);
    expect(stack.outcomes.events.filter((entry) => entry.outcome.phoneNumberIds.includes(APPROVED))).toHaveLength(1);
    const jobs = stack.outcomes.jobs.filter((entry) => entry.outcome.phoneNumberId === APPROVED);
    expect(jobs.map((entry) => [entry.outcome.status, entry.outcome.jobKey.startsWith('name-approval:')])).toEqual([['completed', true]]);
    expect(stack.simulator!.limitedCalls(APPROVED).map((call) => call.answeredWith)).toEqual(['registered']);
    expect(stack.simulator!.limitedCalls(DECOY)).toEqual([]);
    // The number list was read once: its two pages (the simulator pages by 2), then the business item served.
    expect(stack.simulator!.listCalls(WABA)).toHaveLength(2);
  });

  it('PinChanged holds the number (a register sends nothing); after a new PIN version the job goes back and registers', async () => {
    // Prepare: Meta's time is whole seconds, after the stored PIN's date
    await new Promise((resolve) => setTimeout(resolve, 1100));
    stack.simulator!.number(CHANGED)!.pin = NEW_PIN;
    const changed = body('security', { display_phone_number: digits(CHANGED), event: 'PIN_CHANGED', requester: '4242' }, Math.floor(Date.now() / 1000));
    expect((await postSignedWebhook(stack.webhookUrl, changed, LOCAL_WEBHOOK_SECRETS.appSecret)).status).toBe(200);
    await stack.until(() => stack.outcomes.events.some((entry) => entry.outcome.phoneNumberIds.includes(CHANGED)), 30_000, 'the PIN change');
    // Act: a register job meets the hold
    await enqueueJob(stack.clients.sqs, stack.resources.jobQueueUrl, { action: 'register', phoneNumberId: CHANGED, idempotencyKey: 'e2e-held' });
    await stack.until(() => stack.outcomes.jobs.some((entry) => entry.outcome.jobKey === 'e2e-held'), 30_000, 'the held job');
    const held = stack.outcomes.jobs.find((entry) => entry.outcome.jobKey === 'e2e-held')!.outcome;
    // Act: the operator stores the new PIN (a version after the change); the same job is sent again
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await stack.clients.secretsManager.send(new PutSecretValueCommand({ SecretId: `${stack.resources.pinSecretPrefix}${CHANGED}`, SecretString: NEW_PIN }));
    await enqueueJob(stack.clients.sqs, stack.resources.jobQueueUrl, { action: 'register', phoneNumberId: CHANGED, idempotencyKey: 'e2e-after-new-pin' });
    await stack.until(() => stack.outcomes.jobs.some((entry) => entry.outcome.jobKey === 'e2e-after-new-pin'), 30_000, 'the job after the new PIN');
    // Assess: nothing sent while held; then one register with the new PIN
    expect(held).toMatchObject({ status: 'dead_lettered', category: 'pin_changed', graphCalls: [] });
    expect(stack.simulator!.limitedCalls(CHANGED).map((call) => call.answeredWith)).toEqual(['registered']);
  });
});
