import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import { METRICS } from '../../shared/metrics.ts';
import { SqsPoller } from '../../tools/sqs-poller.ts';
import { RecordingMetrics } from '../support/recording-metrics.ts';
import { useWorkerHarness } from '../support/worker-harness.ts';

const NUMBER = '15550783900';
const PIN = '246810';

/**
 * Each metric the stack alarms on is emitted by the worker on the path it names: real moto resources, the Graph
 * simulator over HTTP, and a real Powertools Metrics whose EMF output is recorded (test/support/recording-metrics.ts).
 */
describe('the worker emits each alarm metric on the path it names', () => {
  const metrics = new RecordingMetrics();
  const h = useWorkerHarness(NUMBER, PIN, { overrides: { metrics } });
  beforeEach(() => {
    metrics.emitted.length = 0;
  });
  const only = (name: string) => metrics.totals(name);

  it('a 133016 from Meta → NumberBlocked, and DeadLettered{category: rate_limited}', async () => {
    // Prepare
    h.simulator.inject(NUMBER, { type: 'graph_error', code: 133016 });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'blocked' });
    // Act
    await h.source.drain();
    // Assess
    expect(only(METRICS.numberBlocked)).toEqual({ '': 1 });
    expect(only(METRICS.deadLettered)).toEqual({ 'category=rate_limited': 1 });
    expect(only(METRICS.infrastructureFailure)).toEqual({});
    const [envelope] = await h.takeDeadLetters();
    expect(envelope).toMatchObject({ category: 'rate_limited', graphError: { code: 133016 }, blockedUntil: expect.any(String) });
  });

  it('a later job that meets the block counts as a dead letter, not as another NumberBlocked', async () => {
    // Prepare
    h.simulator.inject(NUMBER, { type: 'graph_error', code: 133016 });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'blocked-1' });
    await h.source.drain();
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'blocked-2', reason: 'manual' });
    // Act
    await h.source.drain();
    // Assess
    expect(only(METRICS.numberBlocked)).toEqual({ '': 1 });
    expect(only(METRICS.deadLettered)).toEqual({ 'category=rate_limited': 2 });
  });

  it('a wrong PIN → DeadLettered{category: pin_rejected}', async () => {
    // Prepare
    await h.storePin(NUMBER, '999999');
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'wrong-pin' });
    // Act
    await h.source.drain();
    // Assess
    expect(only(METRICS.deadLettered)).toEqual({ 'category=pin_rejected': 1 });
    expect(only(METRICS.numberBlocked)).toEqual({});
    expect(only(METRICS.appGateClosed)).toEqual({});
    expect(metrics.emitted.filter((m) => m.name === METRICS.deadLettered).map((m) => m.dimensions)).toEqual([{ service: METRICS.service, category: 'pin_rejected' }]);
  });

  it('a failing DynamoDB call → InfrastructureFailure, and the job stays on the queue', async () => {
    // Prepare: the real DynamoDB adapter on a table that does not exist, so every ledger read fails in the SDK
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'no-ledger' });
    const worker = h.anotherWorker({ ledger: new DynamoDbAttemptLedger(h.clients.dynamodb, `${h.stack.ledgerTableName}-missing`) });
    const poller = new SqsPoller(h.clients.sqs, h.stack.jobQueueUrl, (event) => worker.handleBatch(event));
    // Act
    const result = await poller.pollOnce();
    // Assess
    expect(result.failed).toHaveLength(1);
    expect(only(METRICS.infrastructureFailure)).toEqual({ '': 1 });
    expect(only(METRICS.deadLettered)).toEqual({});
    expect(h.simulator.calls).toEqual([]);
  });

  it('Meta refusing the token (190 on the pre-flight read) → AppGateClosed{gate: token}', async () => {
    // Prepare
    h.simulator.injectRead(NUMBER, { type: 'graph_error', code: 190, httpStatus: 401 });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'token' });
    // Act
    await h.source.drain();
    // Assess
    expect(only(METRICS.appGateClosed)).toEqual({ 'gate=token': 1 });
    expect(only(METRICS.deadLettered)).toEqual({ 'category=token_rejected': 1 });
  });

  it('Meta throttling the app (80007 on the pre-flight read) → AppGateClosed{gate: throttle}', async () => {
    // Prepare
    h.simulator.injectRead(NUMBER, { type: 'graph_error', code: 80007 });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'throttle' });
    // Act: one delivery, which waits for the throttle (it is carried, nothing is sent)
    await h.source.pollOnce();
    // Assess
    expect(only(METRICS.appGateClosed)).toEqual({ 'gate=throttle': 1 });
    expect(h.simulator.limitedCalls(NUMBER)).toEqual([]);
  });
});
