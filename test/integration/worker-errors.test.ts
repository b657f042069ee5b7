import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { MINUTE_MS } from '../../shared/clock.ts';
import { expectNoSecrets } from '../support/secrets-scan.ts';
import { TEST_TOKEN, useWorkerHarness } from '../support/worker-harness.ts';

const NUMBER = '15550783881';
const PIN = '012345';

describe('error policy against the simulator', () => {
  const h = useWorkerHarness(NUMBER, PIN);

  it('sends the PIN 012345 as the string "012345"', async () => {
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, dataLocalizationRegion: 'CH' });
    await h.source.drain();

    const [call] = h.simulator.limitedCalls(NUMBER);
    expect(call?.body).toEqual({ messaging_product: 'whatsapp', pin: '012345', data_localization_region: 'CH' });
    expect(h.simulator.number(NUMBER)).toMatchObject({ registered: true, region: 'CH' });
  });

  it('retries an HTTP 500 as a batch item failure; the redelivery succeeds and both requests are on the ledger', async () => {
    // Prepare
    h.simulator.inject(NUMBER, { type: 'http500' });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'five-hundred' });

    // Act
    const first = await h.source.pollOnce();
    h.clock.advance(MINUTE_MS);
    await h.source.releaseFailed();
    await h.source.drain();

    // Assess
    expect(first.failed).toHaveLength(1);
    const calls = h.simulator.calls.filter((call) => call.phoneNumberId === NUMBER);
    // The redelivery read the state (not registered) before spending a second attempt.
    expect(calls.map((call) => call.operation)).toEqual(['register', 'read_state', 'register']);
    const history = await h.worker.deps.ledger.history(NUMBER);
    expect(history.map((attempt) => [attempt.operation, attempt.outcome, attempt.httpStatus])).toEqual([
      ['register', 'unknown', 500],
      ['register', 'success', 200],
    ]);
    expect(await h.takeDeadLetters()).toEqual([]);
  });

  it('dead-letters a wrong PIN (133005) at once and never retries it', async () => {
    await h.storePin(NUMBER, '999999');
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'wrong-pin' });

    const first = await h.source.pollOnce();
    await h.source.releaseFailed();
    await h.source.drain();

    expect(first.failed).toEqual([]);
    expect(h.simulator.limitedCalls(NUMBER)).toHaveLength(1);
    const [envelope] = await h.takeDeadLetters();
    expect(envelope).toMatchObject({ category: 'permanent_error', jobKey: 'wrong-pin', graphError: { code: 133005 } });
    expect(envelope!.hint).toMatch(/PIN/);
    expect(envelope!.attempts).toMatchObject([{ action: 'register', outcome: 'rejected', code: 133005 }]);
    expectNoSecrets([JSON.stringify(envelope)], ['999999', PIN, TEST_TOKEN]);
  });

  it('dead-letters a job whose number has no PIN secret, with a clear message and no Graph call', async () => {
    h.simulator.addNumber('15550000001');
    await h.enqueue({ action: 'register', phoneNumberId: '15550000001', idempotencyKey: 'no-pin' });

    await h.source.drain();

    expect(h.simulator.calls).toEqual([]);
    const [envelope] = await h.takeDeadLetters();
    expect(envelope).toMatchObject({ category: 'missing_secret', jobKey: 'no-pin' });
    expect(envelope!.reason).toBe('no PIN for 15550000001 is stored in Secrets Manager; nothing was sent');
    expect(envelope!.hint).toContain('PIN_SECRET_PREFIX + phoneNumberId');
  });

  it('after a timeout where Meta did register, the redelivery sees CONNECTED and sends no second register', async () => {
    // Prepare: Meta applies the register but the answer never arrives
    h.simulator.inject(NUMBER, { type: 'apply_then_hang' });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'timed-out' });

    // Act
    const first = await h.source.pollOnce();
    h.clock.advance(MINUTE_MS);
    await h.source.releaseFailed();
    await h.source.drain();

    // Assess
    expect(first.failed).toHaveLength(1);
    expect(h.simulator.limitedCalls(NUMBER)).toHaveLength(1);
    expect(h.simulator.calls.map((call) => call.operation)).toEqual(['register', 'read_state']);
    const history = await h.worker.deps.ledger.history(NUMBER);
    // The timed-out request counts, and is confirmed by the state read.
    expect(history.map((attempt) => attempt.outcome)).toEqual(['success']);
    expect(await h.takeDeadLetters()).toEqual([]);
    expect(h.logs.some((line) => line.includes('no second request sent'))).toBe(true);
  });

  it('never treats a failed state read as "not registered"', async () => {
    h.simulator.inject(NUMBER, { type: 'apply_then_hang' });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'unknown-state' });
    await h.source.pollOnce();
    // The token stops working: the state read fails.
    await h.clients.secretsManager.send(
      new PutSecretValueCommand({ SecretId: h.stack.tokenSecretId, SecretString: 'revoked' }),
    );
    h.clock.advance(10 * MINUTE_MS); // past the secret cache

    await h.source.releaseFailed();
    const second = await h.source.pollOnce();

    expect(second.failed).toHaveLength(1);
    expect(h.simulator.limitedCalls(NUMBER)).toHaveLength(1);
  });

  it('redelivers a 133015 (deletion in progress) no sooner than 5 minutes', async () => {
    h.simulator.inject(NUMBER, { type: 'graph_error', code: 133015 });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'deleting' });

    const first = await h.source.pollOnce();
    const immediately = await h.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: h.stack.jobQueueUrl, MaxNumberOfMessages: 10 }));

    expect(first.failed).toHaveLength(1);
    expect(immediately.Messages ?? []).toEqual([]);
    const outcome = h.logs.find((line) => line.includes('"outcome": "retry"') || line.includes('"outcome":"retry"'));
    expect(outcome).toBeDefined();
    const retryAfter = Number(/"retryAfterSeconds": ?(\d+)/.exec(outcome!)?.[1]);
    expect(retryAfter).toBeGreaterThanOrEqual(300);
  });

  it('waits for Meta\'s regain time on a throttle (80008)', async () => {
    const usage = JSON.stringify({ '102290129340398': [{ type: 'whatsapp_business_management', call_count: 100, estimated_time_to_regain_access: 27 }] });
    h.simulator.inject(NUMBER, { type: 'graph_error', code: 80008, headers: { 'x-business-use-case-usage': usage } });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'throttled' });

    await h.source.pollOnce();

    const outcome = h.logs.find((line) => /"outcome": ?"retry"/.test(line));
    expect(Number(/"retryAfterSeconds": ?(\d+)/.exec(outcome!)?.[1])).toBe(27 * 60);
  });

  it('holds every job while Meta throttles the app, so no attempt is spent on refusals', async () => {
    // Prepare: one number's request is throttled for 27 minutes
    const usage = JSON.stringify({ '1': [{ type: 'whatsapp_business_management', estimated_time_to_regain_access: 27 }] });
    h.simulator.inject(NUMBER, { type: 'graph_error', code: 80008, headers: { 'x-business-use-case-usage': usage } });
    h.simulator.addNumber('15550002222', { pin: PIN });
    await h.storePin('15550002222', PIN);
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'throttled-first' });
    await h.source.drain();

    // Act: another number's job during the throttle, then after it
    await h.enqueue({ action: 'register', phoneNumberId: '15550002222', idempotencyKey: 'during-throttle' });
    const during = await h.source.pollOnce();
    h.clock.advance(28 * MINUTE_MS);
    await h.source.releaseFailed();
    await h.source.drain();

    // Assess
    expect(during.failed).toHaveLength(1);
    expect(h.simulator.limitedCalls('15550002222')).toHaveLength(1);
    expect(h.simulator.number('15550002222')!.registered).toBe(true);
    expect(h.logs.some((line) => line.includes('Meta throttles the app until'))).toBe(true);
  });

  it('dead-letters a transient failure with its history once MAX_DELIVERIES is reached', async () => {
    h.simulator.inject(NUMBER, { type: 'http500' }, { type: 'http500' }, { type: 'http500' }, { type: 'http500' }, { type: 'http500' }, { type: 'http500' });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'flaky' });

    for (let delivery = 0; delivery < 6; delivery++) {
      await h.source.pollOnce();
      h.clock.advance(20 * MINUTE_MS);
      await h.source.releaseFailed();
    }

    const [envelope] = await h.takeDeadLetters();
    expect(envelope).toMatchObject({ category: 'retries_exhausted', receiveCount: 6 });
    expect(envelope!.attempts.length).toBe(h.simulator.limitedCalls(NUMBER).length);
    expect(envelope!.attempts.every((attempt) => attempt.outcome === 'unknown')).toBe(true);
  });

  it('dead-letters 133006 as needs_verification with the steps to take', async () => {
    h.simulator.addNumber(NUMBER, { pin: PIN, codeVerificationStatus: 'EXPIRED' });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'stale-verification' });

    await h.source.drain();

    const [envelope] = await h.takeDeadLetters();
    expect(envelope).toMatchObject({ category: 'needs_verification', graphError: { code: 133006 } });
    expect(envelope!.hint).toMatch(/request_code.*verify_code/);
  });

  it('repairs a 133000 by deregistering and registering again', async () => {
    h.simulator.number(NUMBER)!.registered = true;
    h.simulator.inject(NUMBER, { type: 'graph_error', code: 133000, httpStatus: 500 });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'half-deregistered' });

    await h.source.drain();

    expect(h.simulator.limitedCalls(NUMBER).map((call) => `${call.operation}:${call.answeredWith}`)).toEqual([
      'register:error 133000',
      'deregister:deregistered',
      'register:registered',
    ]);
    expect(await h.takeDeadLetters()).toEqual([]);
  });
});
