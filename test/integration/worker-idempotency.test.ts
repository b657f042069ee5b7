import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { MINUTE_MS } from '../../shared/clock.ts';
import { REDRIVE_GENERATION_ATTRIBUTE } from '../../shared/jobs/dlq-envelope.v1.ts';
import { SqsPoller } from '../../tools/sqs-poller.ts';
import { useWorkerHarness } from '../support/worker-harness.ts';

const NUMBER = '106540352242922';
const PIN = '555123';

function record(messageId: string, body: object, extra: Partial<SQSRecord> = {}): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body: JSON.stringify(body),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0', MessageGroupId: NUMBER },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:jobs.fifo',
    awsRegion: 'eu-west-1',
    ...extra,
  };
}

describe('idempotency: one job, one request', () => {
  const h = useWorkerHarness(NUMBER, PIN);

  const job = { action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'crm-4711' };

  it('acknowledges a second delivery of a completed job without a Graph call', async () => {
    await h.worker.handleBatch({ Records: [record('m-1', job)] });
    const second = await h.worker.handleBatch({ Records: [record('m-2', job)] });

    expect(second.batchItemFailures).toEqual([]);
    expect(h.simulator.limitedCalls(NUMBER)).toHaveLength(1);
    expect(h.outcomes.map((outcome) => outcome.status)).toEqual(['completed', 'duplicate']);
  });

  it('makes one call when the same job is delivered twice concurrently to two instances', async () => {
    const [a, b] = [h.anotherWorker(), h.anotherWorker()];
    for (const worker of [a, b]) worker.queue.delay = async () => undefined;

    await Promise.all([a.handleBatch({ Records: [record('m-1', job)] }), b.handleBatch({ Records: [record('m-2', job)] })]);
    // The loser waited for the winner's lease (carried back to the queue); it comes back and finds the job done.
    h.clock.advance(16 * MINUTE_MS);
    await h.source.drain();

    expect(h.simulator.limitedCalls(NUMBER)).toHaveLength(1);
    expect(h.outcomes.filter((outcome) => outcome.status === 'completed')).toHaveLength(1);
    expect(h.outcomes.at(-1)?.status).toBe('duplicate');
  });

  it('makes one call when the same job appears twice in one batch', async () => {
    const event: SQSEvent = { Records: [record('m-1', job), record('m-2', job)] };

    const response = await h.worker.handleBatch(event);

    expect(response.batchItemFailures).toEqual([]);
    expect(h.simulator.limitedCalls(NUMBER)).toHaveLength(1);
  });

  it('does not repeat a dead-lettered job on redelivery; a redrive runs it again once a new PIN version lifts the hold', async () => {
    h.simulator.inject(NUMBER, { type: 'graph_error', code: 133005 });
    await h.worker.handleBatch({ Records: [record('m-1', job)] });
    await h.worker.handleBatch({ Records: [record('m-1', job, { attributes: { ...record('m-1', job).attributes, ApproximateReceiveCount: '2' } })] });
    const callsBeforeRedrive = h.simulator.limitedCalls(NUMBER).length;
    const generation = (n: number) => ({ messageAttributes: { [REDRIVE_GENERATION_ATTRIBUTE]: { dataType: 'Number', stringValue: String(n) } } });

    // A redrive with the refused PIN still stored sends nothing: the number is held.
    await h.worker.handleBatch({ Records: [record('m-3', job, generation(1))] });
    const callsWhileHeld = h.simulator.limitedCalls(NUMBER).length;
    await h.storePin(NUMBER, PIN); // a new version of the PIN secret
    await h.worker.handleBatch({ Records: [record('m-4', job, generation(2))] });
    await h.worker.handleBatch({ Records: [record('m-5', job, generation(2))] });

    expect(callsBeforeRedrive).toBe(1);
    expect(callsWhileHeld).toBe(1);
    expect(h.outcomes.map((outcome) => outcome.status === 'dead_lettered' ? outcome.category : outcome.status)).toEqual([
      'pin_rejected', 'duplicate', 'pin_rejected', 'completed', 'duplicate',
    ]);
    expect(h.simulator.limitedCalls(NUMBER).map((call) => call.answeredWith)).toEqual(['error 133005', 'registered']);
  });

  it('keeps jobs for one number in order: after a failure, later jobs of the group wait behind it', async () => {
    h.simulator.inject(NUMBER, { type: 'http500' });
    for (const worker of [h.worker]) worker.queue.delay = async () => undefined;
    const other = '15550001111';
    h.simulator.addNumber(other, { pin: PIN });
    await h.storePin(other, PIN);

    const response = await h.worker.handleBatch({
      Records: [
        record('first', { ...job, idempotencyKey: 'first' }),
        record('second', { action: 'deregister', phoneNumberId: NUMBER, idempotencyKey: 'second' }),
        record('other', { action: 'register', phoneNumberId: other, idempotencyKey: 'other' }, { attributes: { ...record('x', job).attributes, MessageGroupId: other } }),
      ],
    });

    expect(new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier))).toEqual(new Set(['first', 'second']));
    expect(h.simulator.limitedCalls(NUMBER).map((call) => call.operation)).toEqual(['register']);
    expect(h.simulator.limitedCalls(other)).toHaveLength(1);
  });
});

describe('the Lambda deadline', () => {
  const h = useWorkerHarness(NUMBER, PIN);

  it('hands jobs back unstarted when the invocation has less time left than a request can take', async () => {
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'late' });
    const short = new SqsPoller(h.clients.sqs, h.stack.jobQueueUrl, (event) =>
      h.worker.handleBatch(event, { getRemainingTimeInMillis: () => h.worker.deps.worstCaseRequestMs - 1 }),
    );

    const first = await short.pollOnce();
    const second = await h.source.pollOnce(); // carried back as a fresh message: the next poll gets it, receive count 1

    expect(first.failed).toEqual([]);
    expect(h.outcomes).toEqual([expect.objectContaining({ status: 'completed' })]);
    expect(second).toMatchObject({ received: 1, failed: [] });
    expect(h.simulator.limitedCalls(NUMBER)).toHaveLength(1);
    expect(await h.worker.deps.ledger.history(NUMBER)).toHaveLength(1);
  });
});

describe('requests that would repeat what already took effect', () => {
  const h = useWorkerHarness(NUMBER, PIN);

  it('completes a deregister of a number that is not registered with no request', async () => {
    await h.enqueue({ action: 'deregister', phoneNumberId: NUMBER, idempotencyKey: 'offboard' });
    h.simulator.number(NUMBER)!.registered = false;

    await h.source.drain();

    expect(h.simulator.calls.map((call) => call.operation)).toEqual(['read_state']);
    expect(h.outcomes).toEqual([expect.objectContaining({ status: 'completed', detail: expect.stringContaining('already deregistered') })]);
  });

  it('confirms an already-registered number by a state read instead of spending an attempt', async () => {
    for (let i = 0; i < 3; i++) await h.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'account_creation', idempotencyKey: `onboard-${i}` });

    await h.source.drain();

    expect(h.simulator.calls.map((call) => call.operation)).toEqual(['read_state', 'register', 'read_state', 'read_state']);
    expect(h.outcomes.filter((outcome) => outcome.detail.includes('already registered'))).toHaveLength(2);
  });

  it('still re-registers after a name change, and registers when the state shows the number is not connected', async () => {
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'account_creation', idempotencyKey: 'onboard' });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'name_change', idempotencyKey: 'name-approved' });
    await h.source.drain();
    h.simulator.number(NUMBER)!.registered = false; // deregistered by hand in WhatsApp Manager
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'account_creation', idempotencyKey: 'onboard-again' });
    await h.source.drain();

    expect(h.simulator.calls.map((call) => call.operation)).toEqual(['read_state', 'register', 'read_state', 'register', 'read_state', 'register']);
  });
});
