import { describe, expect, it } from 'vitest';
import { MINUTE_MS } from '../../shared/clock.ts';
import type { GraphClient } from '../../shared/graph/port.ts';
import { simulatorDigest } from '../../tools/graph-simulator.ts';
import { SqsPoller } from '../../tools/sqs-poller.ts';
import { useWorkerHarness } from '../support/worker-harness.ts';

const NUMBER = '106540352242922';
const PIN = '730461';

describe('set_localization (deregister, then register with the new region)', () => {
  const h = useWorkerHarness(NUMBER, PIN, { number: { registered: true, region: 'DE' } });

  it('makes one deregister, then one register with the new region', async () => {
    await h.enqueue({ action: 'set_localization', phoneNumberId: NUMBER, dataLocalizationRegion: 'CH', reason: 'localization_change' });

    await h.source.drain();

    const calls = h.simulator.limitedCalls(NUMBER);
    expect(calls.map((call) => call.operation)).toEqual(['deregister', 'register']);
    expect(calls[1]!.body).toMatchObject({ data_localization_region: 'CH' });
    expect(h.simulator.number(NUMBER)).toMatchObject({ registered: true, region: 'CH' });
    const history = await h.worker.deps.ledger.history(NUMBER);
    expect(history.map((attempt) => [attempt.operation, attempt.outcome, attempt.reason])).toEqual([
      ['deregister', 'success', 'localization_change'],
      ['register', 'success', 'localization_change'],
    ]);
  });

  it('disables local storage when no region is given', async () => {
    await h.enqueue({ action: 'set_localization', phoneNumberId: NUMBER });

    await h.source.drain();

    expect(h.simulator.limitedCalls(NUMBER)[1]!.pinType).toBe('string');
    expect(h.simulator.limitedCalls(NUMBER)[1]!.body).toEqual({ messaging_product: 'whatsapp', pin: simulatorDigest(PIN) });
    expect(h.simulator.number(NUMBER)!.region).toBeUndefined();
  });

  it('killed between the deregister and the register, the redelivery makes only the register', async () => {
    // Prepare: the first container dies as it is about to send the register
    const real = h.worker.deps.graph;
    const crashing: GraphClient = {
      deregister: (id, token) => real.deregister(id, token),
      readState: (id, token) => real.readState(id, token),
      listPhoneNumbers: (id, token) => real.listPhoneNumbers(id, token),
      setPin: (id, pin, token) => real.setPin(id, pin, token),
      requestCode: (id, method, language, token) => real.requestCode(id, method, language, token),
      verifyCode: (id, code, token) => real.verifyCode(id, code, token),
      register: () => Promise.reject(new Error('container killed')),
    };
    const dying = h.anotherWorker({ graph: crashing });
    await h.enqueue({ action: 'set_localization', phoneNumberId: NUMBER, dataLocalizationRegion: 'CH', idempotencyKey: 'move-to-ch' });
    const dyingSource = new SqsPoller(h.clients.sqs, h.stack.jobQueueUrl, dying.handleBatch);

    // Act
    const first = await dyingSource.pollOnce();
    h.clock.advance(30 * MINUTE_MS); // the visibility timeout passes
    await dyingSource.releaseFailed();
    await h.source.drain();

    // Assess
    expect(first.failed).toHaveLength(1);
    expect(h.simulator.limitedCalls(NUMBER).map((call) => call.operation)).toEqual(['deregister', 'register']);
    expect(h.simulator.number(NUMBER)).toMatchObject({ registered: true, region: 'CH' });
    expect(await h.takeDeadLetters()).toEqual([]);
  });

  it('does not deregister when the budget has no room for the register after it', async () => {
    // Prepare: 9 of 10 slots used
    for (let i = 0; i < 9; i++) await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: `fill-${i}` });
    await h.source.drain();

    await h.enqueue({ action: 'set_localization', phoneNumberId: NUMBER, dataLocalizationRegion: 'CH', idempotencyKey: 'no-room' });
    await h.source.drain();

    expect(h.simulator.limitedCalls(NUMBER).filter((call) => call.operation === 'deregister')).toEqual([]);
    expect(h.simulator.number(NUMBER)!.registered).toBe(true);
    const [envelope] = await h.takeDeadLetters();
    expect(envelope).toMatchObject({ jobKey: 'no-room', category: 'rate_limited' });
    expect(envelope!.reason).toContain('9 of 10 slots taken; deregister + register needed');
  });
});

describe('set_localization checks the number before deregistering', () => {
  const h = useWorkerHarness(NUMBER, PIN);

  it('registers a number that is not registered with the region, without a deregister', async () => {
    h.simulator.number(NUMBER)!.registered = false;
    await h.enqueue({ action: 'set_localization', phoneNumberId: NUMBER, dataLocalizationRegion: 'CH' });

    await h.source.drain();

    expect(h.simulator.limitedCalls(NUMBER).map((call) => call.operation)).toEqual(['register']);
    expect(h.simulator.number(NUMBER)).toMatchObject({ registered: true, region: 'CH' });
  });

  it('does not deregister a number whose verification lapsed: it could not register again', async () => {
    h.simulator.addNumber(NUMBER, { pin: PIN, registered: true, codeVerificationStatus: 'EXPIRED' });
    await h.enqueue({ action: 'set_localization', phoneNumberId: NUMBER, dataLocalizationRegion: 'CH', idempotencyKey: 'stale' });

    await h.source.drain();

    expect(h.simulator.limitedCalls(NUMBER)).toEqual([]);
    expect(h.simulator.number(NUMBER)!.registered).toBe(true);
    const [envelope] = await h.takeDeadLetters();
    expect(envelope).toMatchObject({ category: 'needs_verification', jobKey: 'stale' });
    expect(await h.worker.deps.ledger.history(NUMBER)).toEqual([]);
  });

  it('spends nothing on a number Meta does not know', async () => {
    await h.storePin('999000', PIN);
    await h.enqueue({ action: 'set_localization', phoneNumberId: '999000', dataLocalizationRegion: 'CH', idempotencyKey: 'unknown-number' });

    await h.source.drain();

    expect(h.simulator.limitedCalls()).toEqual([]);
    const [envelope] = await h.takeDeadLetters();
    expect(envelope).toMatchObject({ category: 'permanent_error', jobKey: 'unknown-number' });
    expect(envelope!.reason).toContain('Meta does not know the phone number id');
    expect(envelope!.graphError).toMatchObject({ code: 100 });
  });
});
