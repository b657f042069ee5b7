import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { MINUTE_MS } from '../../shared/clock.ts';
import { expectNoSecrets } from '../support/secrets-scan.ts';
import { TEST_TOKEN, useWorkerHarness } from '../support/worker-harness.ts';
import { simulatorDigest } from '../../tools/graph-simulator.ts';

const NUMBER = '15550783881';
const PIN = '012345';

describe('error policy against the simulator', () => {
  const h = useWorkerHarness(NUMBER, PIN);

  it('sends the PIN 012345 as the string "012345"', async () => {
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, dataLocalizationRegion: 'CH' });
    await h.source.drain();

    const [call] = h.simulator.limitedCalls(NUMBER);
    expect(call?.pinType).toBe('string');
    expect(call?.body).toEqual({ messaging_product: 'whatsapp', pin: simulatorDigest('012345'), data_localization_region: 'CH' });
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
    // Each register follows a pre-flight read; the redelivery's read showed it not registered before it spent again.
    expect(calls.map((call) => call.operation)).toEqual(['read_state', 'register', 'read_state', 'register']);
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
    expect(envelope).toMatchObject({ category: 'pin_rejected', jobKey: 'wrong-pin', graphError: { code: 133005 }, hold: { cause: 'pin_rejected', code: 133005 } });
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
    expect(envelope!.reason).toContain('No PIN for 15550000001 is stored; nothing sent.');
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
    expect(h.simulator.calls.map((call) => call.operation)).toEqual(['read_state', 'register', 'read_state']);
    const history = await h.worker.deps.ledger.history(NUMBER);
    // The timed-out request counts, and is confirmed by the state read.
    expect(history.map((attempt) => attempt.outcome)).toEqual(['success']);
    expect(await h.takeDeadLetters()).toEqual([]);
    expect(h.outcomes.at(-1)).toMatchObject({ status: 'completed', detail: 'the earlier register took effect; no second request sent' });
  });

  it('never treats a failed state read as "not registered"', async () => {
    h.simulator.inject(NUMBER, { type: 'apply_then_hang' });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'unknown-state' });
    await h.source.pollOnce();
    // The state read fails twice: an HTTP 500, then an answer without the status field.
    h.simulator.injectRead(NUMBER, { type: 'http500' }, { type: 'missing_fields', fields: ['status'] });

    for (const _ of [1, 2]) {
      h.clock.advance(10 * MINUTE_MS);
      await h.source.releaseFailed();
      const again = await h.source.pollOnce();
      expect(again.failed).toHaveLength(1);
    }

    expect(h.simulator.limitedCalls(NUMBER)).toHaveLength(1);
    expect(h.outcomes.slice(-2).map((outcome) => outcome.status)).toEqual(['retry', 'retry']);
  });

  it('redelivers a 133015 (deletion in progress) no sooner than 5 minutes', async () => {
    h.simulator.inject(NUMBER, { type: 'graph_error', code: 133015 });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'deleting' });

    const first = await h.source.pollOnce();
    const immediately = await h.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: h.stack.jobQueueUrl, MaxNumberOfMessages: 10 }));

    expect(first.failed).toHaveLength(1);
    expect(immediately.Messages ?? []).toEqual([]);
    const outcome = h.outcomes.at(-1);
    expect(outcome?.status).toBe('retry');
    expect(outcome?.status === 'retry' && outcome.retryAfterSeconds).toBeGreaterThanOrEqual(300);
  });

  it('waits for Meta\'s regain time on a throttle (80008)', async () => {
    const usage = JSON.stringify({ '102290129340398': [{ type: 'whatsapp_business_management', call_count: 100, estimated_time_to_regain_access: 27 }] });
    h.simulator.inject(NUMBER, { type: 'graph_error', code: 80008, headers: { 'x-business-use-case-usage': usage } });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'throttled' });

    const started = h.clock.now();
    const first = await h.source.pollOnce();

    // A throttle spends nothing more: the job waits (carried back to the queue, no failed receive) until Meta's regain time.
    expect(first.failed).toEqual([]);
    expect(h.outcomes.at(-1)).toMatchObject({ status: 'wait', until: started + 27 * MINUTE_MS });
    await h.source.drain();
    expect(h.simulator.limitedCalls(NUMBER)).toHaveLength(1);
    h.clock.advance(28 * MINUTE_MS);
    await h.source.releaseFailed();
    await h.source.drain();
    expect(h.simulator.limitedCalls(NUMBER).map((call) => call.answeredWith)).toEqual(['error 80008', 'registered']);
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

    // Assess: the job during the throttle waited without a failed receive, then registered with one request.
    expect(during.failed).toEqual([]);
    expect(h.outcomes.find((outcome) => outcome.jobKey === 'during-throttle')).toMatchObject({ status: 'wait' });
    expect(h.simulator.limitedCalls('15550002222')).toHaveLength(1);
    expect(h.simulator.number('15550002222')!.registered).toBe(true);
    expect(h.outcomes.some((outcome) => outcome.detail.includes('Meta throttles the app until'))).toBe(true);
  });

  it('dead-letters an endless 5xx after the transient budget (3 requests), not after 6 deliveries', async () => {
    h.simulator.inject(NUMBER, ...Array.from({ length: 8 }, () => ({ type: 'http500' as const })));
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'flaky' });

    for (let delivery = 0; delivery < 6; delivery++) {
      await h.source.pollOnce();
      h.clock.advance(20 * MINUTE_MS);
      await h.source.releaseFailed();
    }

    const [envelope] = await h.takeDeadLetters();
    expect(envelope).toMatchObject({ category: 'retries_exhausted', receiveCount: 3 });
    expect(h.simulator.limitedCalls(NUMBER)).toHaveLength(3);
    expect(envelope!.attempts.length).toBe(3);
    expect(envelope!.attempts.every((attempt) => attempt.outcome === 'unknown')).toBe(true);
  });

  it('sends no register when the pre-flight read shows the verification EXPIRED, and holds the number', async () => {
    h.simulator.addNumber(NUMBER, { pin: PIN, codeVerificationStatus: 'EXPIRED' });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'stale-verification' });

    await h.source.drain();

    expect(h.simulator.limitedCalls(NUMBER)).toEqual([]);
    const [envelope] = await h.takeDeadLetters();
    expect(envelope).toMatchObject({ category: 'needs_verification', hold: { cause: 'needs_verification' } });
    expect(envelope!.hint).toMatch(/request_code.*verify_code/);
    expect((await h.worker.deps.ledger.number(NUMBER)).hold?.cause).toBe('needs_verification');
  });

  it('dead-letters a 133006 answered to a register as needs_verification, with the code', async () => {
    h.simulator.inject(NUMBER, { type: 'graph_error', code: 133006 });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'verification-race' });

    await h.source.drain();

    const [envelope] = await h.takeDeadLetters();
    expect(envelope).toMatchObject({ category: 'needs_verification', graphError: { code: 133006 }, hold: { cause: 'needs_verification', code: 133006 } });
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
