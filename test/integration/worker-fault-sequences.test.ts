import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS } from '../../shared/clock.ts';
import { REDRIVE_GENERATION_ATTRIBUTE } from '../../shared/jobs/dlq-envelope.v1.ts';
import type { JobV1Input } from '../../shared/jobs/job.v1.ts';
import type { AttemptLedger } from '../../shared/ledger/port.ts';
import { simulatorDigest } from '../../tools/graph-simulator.ts';
import { createWorker } from '../../functions/register-worker/worker.ts';
import { SqsPoller } from '../../tools/sqs-poller.ts';
import { TEST_TOKEN, useWorkerHarness } from '../support/worker-harness.ts';

/**
 * The 13 fault sequences of the decision-core issue, each against moto and the Graph simulator. Every test names the
 * guard it proves; each fails without that guard.
 */
const NUMBER = '15550783881';
const PIN = '012345';
const WRONG_PIN = '999999';

function record(messageId: string, body: JobV1Input, generation = 0, receiveCount = 1): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body: JSON.stringify(body),
    attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0', MessageGroupId: body.phoneNumberId },
    messageAttributes: generation > 0 ? { [REDRIVE_GENERATION_ATTRIBUTE]: { dataType: 'Number', stringValue: String(generation) } } : {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:jobs.fifo',
    awsRegion: 'eu-west-1',
  };
}

const answers = (h: { simulator: { limitedCalls(id?: string): Array<{ operation: string; answeredWith: string }> } }, id = NUMBER) =>
  h.simulator.limitedCalls(id).map((call) => `${call.operation}:${call.answeredWith}`);

describe('decision-core fault sequences', () => {
  const h = useWorkerHarness(NUMBER, PIN);

  it('1. a 133000 that survives the repair: one repair, then the number is held and no later job repeats it', async () => {
    h.simulator.addNumber(NUMBER, { pin: PIN, registered: true, deregistrationIncomplete: true, stuck133000: true });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'name_change', idempotencyKey: 'stuck-register' });
    await h.enqueue({ action: 'set_localization', phoneNumberId: NUMBER, dataLocalizationRegion: 'DE', idempotencyKey: 'stuck-localization' });

    await h.source.drain();
    h.clock.advance(HOUR_MS);
    await h.source.releaseFailed();
    await h.source.drain();

    // One repair for the number; the set_localization behind it meets the hold and sends nothing.
    expect(answers(h)).toEqual(['register:error 133000', 'deregister:deregistered', 'register:error 133000']);
    const dead = await h.takeDeadLetters();
    expect(dead.map((envelope) => [envelope.jobKey, envelope.category, envelope.hold?.cause, envelope.attempts.length])).toEqual([
      ['stuck-register', 'permanent_error', 'deregister_stuck', 3],
      ['stuck-localization', 'permanent_error', 'deregister_stuck', 0],
    ]);
    expect(dead[0]!.reason).toMatch(/one repair/);
  });

  it('2. a wrong PIN is sent once for a number, whatever is queued behind it (133005, then 133006 and 133008)', async () => {
    await h.storePin(NUMBER, WRONG_PIN);
    for (const key of ['pin-a', 'pin-b', 'pin-c']) await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: key });
    h.simulator.addNumber('15550000006', { pin: PIN, codeVerificationStatus: 'EXPIRED' });
    await h.storePin('15550000006', PIN);
    h.simulator.addNumber('15550000008', { pin: PIN, pinLockedUntil: h.clock.now() + 5 * HOUR_MS });
    await h.storePin('15550000008', PIN);
    for (const id of ['15550000006', '15550000008']) for (const n of [1, 2]) await h.enqueue({ action: 'register', phoneNumberId: id, idempotencyKey: `${id}-${n}` });

    await h.source.drain();

    expect(answers(h)).toEqual(['register:error 133005']);
    expect(answers(h, '15550000006')).toEqual([]);
    expect(answers(h, '15550000008')).toEqual(['register:error 133008']);
    const dead = await h.takeDeadLetters();
    expect(dead.map((envelope) => [envelope.jobKey, envelope.category, envelope.attempts.length])).toEqual(
      expect.arrayContaining([
        ['pin-a', 'pin_rejected', 1], ['pin-b', 'pin_rejected', 0], ['pin-c', 'pin_rejected', 0],
        ['15550000006-1', 'needs_verification', 0], ['15550000006-2', 'needs_verification', 0],
        ['15550000008-1', 'pin_locked', 1], ['15550000008-2', 'pin_locked', 0],
      ]),
    );
    // The lock time is read from Meta's details (5 hours), not a fixed 12 h.
    const locked = dead.find((envelope) => envelope.jobKey === '15550000008-2')!;
    expect(Date.parse(locked.eligibleAt!) - h.clock.now()).toBe(5 * HOUR_MS);
  });

  it('3. a PIN or token fixed after a refusal is the one sent next, even from a container that cached the old one', async () => {
    await h.storePin(NUMBER, WRONG_PIN);
    const other = h.anotherWorker();
    const job = { action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'fix-me' } as const;
    await h.worker.handleBatch({ Records: [record('m-1', job)] });
    // A second container meets the hold and caches the refused PIN's version.
    await other.handleBatch({ Records: [record('m-2', { ...job, idempotencyKey: 'also-held' })] });

    await h.storePin(NUMBER, PIN);
    await other.handleBatch({ Records: [record('m-3', job, 1)] });

    expect(h.simulator.limitedCalls(NUMBER).map((call) => call.pinUsed)).toEqual([simulatorDigest(WRONG_PIN), simulatorDigest(PIN)]);
    expect(h.simulator.number(NUMBER)!.registered).toBe(true);
    expect((await h.worker.deps.ledger.number(NUMBER)).hold).toBeUndefined();
  });

  it('4. a revoked token spends nothing for any number, and a new token version reopens the gate', async () => {
    const numbers = ['15550000101', '15550000102', '15550000103'];
    for (const id of numbers) {
      h.simulator.addNumber(id, { pin: PIN });
      await h.storePin(id, PIN);
      await h.enqueue({ action: 'register', phoneNumberId: id, idempotencyKey: `tok-${id}` });
    }
    h.simulator.setTokens(['EAAG-the-new-token-0001']);

    await h.source.drain();

    expect(h.simulator.limitedCalls()).toEqual([]);
    const dead = await h.takeDeadLetters();
    expect(dead.map((envelope) => envelope.category)).toEqual(['token_rejected', 'token_rejected', 'token_rejected']);
    expect(await h.worker.deps.ledger.appGates()).toMatchObject({ tokenGate: { code: 190 } });

    await h.clients.secretsManager.send(new PutSecretValueCommand({ SecretId: h.stack.tokenSecretId, SecretString: 'EAAG-the-new-token-0001' }));
    h.storedPins.push('EAAG-the-new-token-0001');
    await h.worker.handleBatch({ Records: [record('m-redrive', { action: 'register', phoneNumberId: numbers[0]!, idempotencyKey: `tok-${numbers[0]}` }, 1)] });

    expect(answers(h, numbers[0])).toEqual(['register:registered']);
    expect((await h.worker.deps.ledger.appGates()).tokenGate).toBeUndefined();
  });

  it('5. set_localization never strands a number: PIN checked before the deregister, and its register slot kept for a retry', async () => {
    h.simulator.addNumber('15550000501', { pin: PIN, registered: true });
    await h.enqueue({ action: 'set_localization', phoneNumberId: '15550000501', dataLocalizationRegion: 'DE', idempotencyKey: 'no-pin' });
    await h.source.drain();
    expect(answers(h, '15550000501')).toEqual([]);
    expect((await h.takeDeadLetters()).map((envelope) => envelope.category)).toEqual(['missing_secret']);

    // 7 slots used; the saga deregisters (reserving the register), its register fails, another job wants a slot.
    h.simulator.number(NUMBER)!.registered = true;
    for (let i = 0; i < 7; i++) await h.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'manual', idempotencyKey: `fill-${i}` });
    await h.source.drain();
    h.simulator.inject(NUMBER, { type: 'pass' }, { type: 'http500' });
    await h.enqueue({ action: 'set_localization', phoneNumberId: NUMBER, dataLocalizationRegion: 'DE', idempotencyKey: 'saga' });
    await h.source.drain();
    await h.worker.handleBatch({ Records: [record('intruder', { action: 'register', phoneNumberId: NUMBER, reason: 'manual', idempotencyKey: 'intruder' })] });
    h.clock.advance(HOUR_MS);
    await h.source.releaseFailed();
    await h.source.drain();

    expect(answers(h).slice(7)).toEqual(['deregister:deregistered', 'register:http 500', 'register:registered']);
    expect(h.simulator.number(NUMBER)).toMatchObject({ registered: true, region: 'DE' });
    expect((await h.takeDeadLetters()).map((envelope) => [envelope.jobKey, envelope.category])).toEqual([['intruder', 'rate_limited']]);
  });

  it('6. an endless 131000 costs the transient budget (3 requests), not 6', async () => {
    h.simulator.inject(NUMBER, ...Array.from({ length: 9 }, () => ({ type: 'graph_error' as const, code: 131000 })));
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'unknown-error' });
    for (let i = 0; i < 8; i++) {
      await h.source.drain();
      h.clock.advance(HOUR_MS);
      await h.source.releaseFailed();
    }
    expect(h.simulator.limitedCalls(NUMBER)).toHaveLength(3);
    expect((await h.takeDeadLetters()).map((envelope) => envelope.category)).toEqual(['retries_exhausted']);
  });

  it('7. a refusal whose ledger write fails is recorded from the message, never sent again', async () => {
    await h.storePin(NUMBER, WRONG_PIN);
    // Prepare: a container whose ledger refuses the answer's write past the worker's retries.
    const real = h.worker.deps.ledger;
    // Exactly the writes that would record Meta's answer fail (all four tries); the ledger then recovers.
    let failingWrites = 0;
    const flaky: AttemptLedger = {
      read: (...args) => real.read(...args),
      history: (...args) => real.history(...args),
      number: (...args) => real.number(...args),
      appGates: () => real.appGates(),
      business: (id) => real.business(id),
      deadlines: () => real.deadlines(),
      dropDeadline: (...args) => real.dropDeadline(...args),
      recordEvent: (...args) => real.recordEvent(...args),
      events: (id) => real.events(id),
      commit: async (changes, token) => {
        if (failingWrites > 0) {
          failingWrites -= 1;
          throw new Error('DynamoDB unavailable');
        }
        const result = await real.commit(changes, token);
        if (changes.attempt && 'create' in changes.attempt) failingWrites = 4;
        return result;
      },
    };
    const broken = h.anotherWorker({ ledger: flaky });

    // Act: Meta refuses the PIN while the ledger is down; then a healthy container takes over, with a job queued behind.
    const response = await broken.handleBatch({
      Records: [
        record('m-1', { action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'lost-answer' }),
        // Behind it in the same batch: it cannot know the answer yet, so it must not run.
        record('m-2', { action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'same-batch' }),
      ],
    });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'queued-behind' });
    await h.source.drain();

    // Assess: the answer travelled on the carried message; nothing asked Meta again.
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-2' }]);
    expect(answers(h)).toEqual(['register:error 133005']);
    const dead = await h.takeDeadLetters();
    expect(dead.map((envelope) => [envelope.jobKey, envelope.category])).toEqual([['lost-answer', 'pin_rejected'], ['queued-behind', 'pin_rejected']]);
    expect(dead[0]!.attempts).toMatchObject([{ outcome: 'rejected', code: 133005 }]);
  });

  it('8. waits spend no receive: a job meeting the throttle 12 times ends in one register, never in retries_exhausted', async () => {
    const receiveCounts: number[] = [];
    const source = new SqsPoller(h.clients.sqs, h.stack.jobQueueUrl, (event) => {
      receiveCounts.push(...event.Records.map((r) => Number(r.attributes.ApproximateReceiveCount)));
      return h.worker.handleBatch(event);
    });
    const throttle = async (i: number) => {
      const app = await h.worker.deps.ledger.appGates();
      const expires = h.clock.now() + HOUR_MS;
      await h.worker.deps.ledger.commit({ phoneNumberId: NUMBER, app: { ...app, throttledUntil: h.clock.now() + 20 * MINUTE_MS, version: app.version + 1 }, expiresAt: { number: expires, job: expires, attempt: expires } }, `throttle-${i}`);
    };
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'patient' });

    // Meta keeps throttling the app (another number's job keeps meeting it): the job meets the gate 12 times.
    for (let i = 0; i < 12; i++) {
      await throttle(i);
      await source.drain();
      // Each round lasts the throttle: a hidden copy comes back exactly when it may run (as SQS's delay would do).
      h.clock.advance(20 * MINUTE_MS);
      await source.releaseFailed();
    }
    h.clock.advance(HOUR_MS);
    await source.releaseFailed();
    await source.drain();

    expect(answers(h)).toEqual(['register:registered']);
    expect(await h.takeDeadLetters()).toEqual([]);
    expect(h.outcomes.filter((outcome) => outcome.status === 'wait')).toHaveLength(12);
    // A carried copy is received once to hide it until its time, once to run: never near maxReceiveCount (10).
    expect(Math.max(...receiveCounts)).toBeLessThanOrEqual(2);
  });

  it('8b. a job skipped behind a failing head comes back with it, not after the full visibility timeout', async () => {
    h.simulator.inject(NUMBER, { type: 'http500' });
    const delays: Array<[string, number]> = [];
    const real = h.worker.queue.delay.bind(h.worker.queue);
    h.worker.queue.delay = async (handle, seconds) => {
      delays.push([handle, seconds]);
      await real(handle, seconds).catch(() => undefined);
    };
    await h.worker.handleBatch({
      Records: [record('head', { action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'head' }), record('behind', { action: 'deregister', phoneNumberId: NUMBER, idempotencyKey: 'behind' })],
    });
    expect(delays).toEqual([['handle-head', 30], ['handle-behind', 0]]);
  });
});

describe('decision-core fault sequences: configuration and input', () => {
  const h = useWorkerHarness(NUMBER, PIN);

  it('9. a redriven job is never the 11th request: the window counts with its margin', async () => {
    for (let i = 0; i < 10; i++) await h.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'manual', idempotencyKey: `w-${i}` });
    await h.source.drain();
    const first = h.simulator.limitedCalls(NUMBER)[0]!.at;
    h.clock.set(first + 72 * HOUR_MS + MINUTE_MS); // Meta's window has reopened; ours (with margin) has not
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'manual', idempotencyKey: 'redriven' });
    await h.source.drain();
    expect(h.simulator.limitedCalls(NUMBER)).toHaveLength(10);
    const [envelope] = await h.takeDeadLetters();
    expect(envelope!.eligibleAt).toBe(new Date(first + 72 * HOUR_MS + 15 * MINUTE_MS).toISOString());
  });

  it('11. pre-flight: registered elsewhere → completed with no request; a region for a registered number → set_localization hint', async () => {
    h.simulator.number(NUMBER)!.registered = true;
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'account_creation', idempotencyKey: 'onboard' });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'manual', dataLocalizationRegion: 'DE', idempotencyKey: 'region' });
    h.simulator.injectRead(NUMBER, { type: 'pass' }, { type: 'pass' }, { type: 'missing_fields', fields: ['code_verification_status'] });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'name_change', idempotencyKey: 'field-missing' });
    await h.source.drain();

    expect(h.simulator.limitedCalls(NUMBER)).toEqual([]);
    expect(h.outcomes.map((outcome) => [outcome.jobKey, outcome.status])).toEqual([
      ['onboard', 'completed'], ['region', 'dead_lettered'], ['field-missing', 'retry'],
    ]);
    const [envelope] = await h.takeDeadLetters();
    expect(envelope!.hint).toMatch(/set_localization/);
  });

  it('12. invalid jobs keep no secret in the dead letter, JSON or not', async () => {
    const token = 'EAAGm0PBQZCZBc0AZDZDsecretTokenValue123';
    const bodies = [
      `not json at all, token=${token} and pin 482913`,
      JSON.stringify({ action: 'register', phoneNumberId: NUMBER, pinCode: '482913', twoStepPin: '771122' }),
      `{"action":"register","access_token":"${token}",`,
    ];
    await h.worker.handleBatch({ Records: bodies.map((body, i) => ({ ...record(`bad-${i}`, { action: 'register', phoneNumberId: NUMBER }), body })) });
    const dead = await h.takeDeadLetters();
    expect(dead).toHaveLength(3);
    const text = JSON.stringify(dead);
    for (const secret of [token, '482913', '771122']) expect(text).not.toContain(secret);
    expect(dead.every((envelope) => envelope.category === 'invalid_job')).toBe(true);
  });

  it('13. a reused idempotency key with another job is dead-lettered naming the conflict; the first job stands', async () => {
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'crm-1' });
    await h.source.drain();
    await h.worker.handleBatch({ Records: [record('other-content', { action: 'deregister', phoneNumberId: NUMBER, idempotencyKey: 'crm-1' })] });

    expect(answers(h)).toEqual(['register:registered']);
    const [envelope] = await h.takeDeadLetters();
    expect(envelope).toMatchObject({ category: 'invalid_job', jobKey: 'crm-1', job: { action: 'deregister' } });
    expect(envelope!.reason).toMatch(/first ran as a different job/);
    expect(h.outcomes[0]).toMatchObject({ jobKey: 'crm-1', status: 'completed' });
  });
});

describe('decision-core fault sequences: budget mode', () => {
  // Meta's counters are per operation here, so separate mode can be shown spending from its own counter.
  const h = useWorkerHarness(NUMBER, PIN, { simulator: { limit: 20 } });

  it('10. switching ATTEMPT_BUDGET_SHARED keeps the window: requests made in shared mode count in separate mode', async () => {
    for (let i = 0; i < 10; i++) await h.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'manual', idempotencyKey: `r-${i}` });
    await h.source.drain();
    const separate = createWorker({ ...h.config, ATTEMPT_BUDGET_SHARED: false }, { clock: h.clock, clients: h.clients, onOutcome: (outcome) => h.outcomes.push(outcome) });

    await separate.handleBatch({ Records: [record('r-after', { action: 'register', phoneNumberId: NUMBER, reason: 'manual', idempotencyKey: 'r-after' })] });
    await separate.handleBatch({ Records: [record('d-after', { action: 'deregister', phoneNumberId: NUMBER, idempotencyKey: 'd-after' })] });

    // The register counter still holds the 10 shared-mode registers; the deregister counter has room.
    expect(answers(h).slice(10)).toEqual(['deregister:deregistered']);
    const [envelope] = await h.takeDeadLetters();
    expect(envelope).toMatchObject({ jobKey: 'r-after', category: 'rate_limited', budget: { used: 10, scope: 'register' } });
  });
});

export { TEST_TOKEN };
