import { ChangeMessageVisibilityCommand, CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS } from '../../shared/clock.ts';
import { carriedAttributes } from '../../shared/queue/sqs-queue.ts';
import { enqueueJobs } from '../../shared/jobs/enqueue.ts';
import { toRecord } from '../../tools/sqs-poller.ts';
import { expectNoSecrets } from '../support/secrets-scan.ts';
import { createWorkerHarness, TEST_TOKEN, useWorkerHarness } from '../support/worker-harness.ts';

const NUMBER = '106540352242922';
const PIN = '482913';

describe('attempt budget (10 per number per 72 h)', () => {
  const h = useWorkerHarness(NUMBER, PIN);

  it('sends exactly 10 of 12 register jobs and dead-letters 2 with the time the window reopens', async () => {
    // Prepare
    const start = h.clock.now();
    for (let i = 0; i < 12; i++) await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: `burst-${i}` });

    // Act
    await h.source.drain();

    // Assess
    expect(h.simulator.limitedCalls(NUMBER)).toHaveLength(10);
    const dead = await h.takeDeadLetters();
    expect(dead.map((envelope) => envelope.jobKey).sort()).toEqual(['burst-10', 'burst-11']);
    for (const envelope of dead) {
      expect(envelope.category).toBe('rate_limited');
      // The window plus its 15-minute margin.
      expect(envelope.eligibleAt).toBe(new Date(start + 72 * HOUR_MS + 15 * MINUTE_MS).toISOString());
      expect(envelope.reason).toContain('10 of 10');
      expect(envelope.attempts).toEqual([]);
    }
    expectNoSecrets(dead.map((envelope) => JSON.stringify(envelope)), [PIN, TEST_TOKEN]);
  });

  it('lets a slot free up only when the oldest request leaves the 72-hour window and its margin', async () => {
    // Prepare: 10 requests an hour apart
    for (let i = 0; i < 10; i++) {
      await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: `hourly-${i}` });
      await h.source.drain();
      h.clock.advance(HOUR_MS);
    }
    const firstAt = h.simulator.limitedCalls(NUMBER)[0]!.at;

    // Act: past the bare window but inside the margin, then the instant the margin ends
    const reopens = firstAt + 72 * HOUR_MS + 15 * MINUTE_MS;
    h.clock.set(reopens - 1);
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'too-early' });
    await h.source.drain();
    h.clock.set(reopens);
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'just-in-time' });
    await h.source.drain();

    // Assess
    expect(h.simulator.limitedCalls(NUMBER)).toHaveLength(11);
    const dead = await h.takeDeadLetters();
    expect(dead.map((envelope) => envelope.jobKey)).toEqual(['too-early']);
    expect(dead[0]!.eligibleAt).toBe(new Date(reopens).toISOString());
  });

  it('never sends an 11th request when 40 jobs for one number run in 8 concurrent invocations', async () => {
    // Prepare: a standard queue, as if a producer ignored the FIFO group: nothing serializes the number
    const queueUrl = (await h.clients.sqs.send(new CreateQueueCommand({ QueueName: `${h.stack.ledgerTableName}-std` }))).QueueUrl!;
    for (let batch = 0; batch < 4; batch++) {
      await h.clients.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: 10 }, (_, i) => ({
            Id: String(i),
            MessageBody: JSON.stringify({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: `storm-${batch * 10 + i}` }),
          })),
        }),
      );
    }
    const workers = Array.from({ length: 8 }, () => h.anotherWorker());
    let carried = 0;
    const retriesOn = (worker: (typeof workers)[number]) => {
      // The records come from the standard queue: retries and carried waits go back there.
      worker.queue.delay = async () => undefined;
      worker.queue.carry = async (job) => {
        carried += 1;
        await h.clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: job.body, MessageAttributes: carriedAttributes(job) }));
      };
      return worker;
    };

    // Act: rounds of 8 concurrent invocations until every job reached a final outcome
    let pending = 40;
    for (let round = 0; round < 30 && pending > 0; round++) {
      const carriedBefore = carried;
      const events: SQSEvent[] = [];
      for (let i = 0; i < 8; i++) {
        const output = await h.clients.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 5, VisibilityTimeout: 30, MessageSystemAttributeNames: ['All'] }),
        );
        events.push({ Records: (output.Messages ?? []).map((message) => toRecord(message, queueUrl)) });
      }
      const responses = await Promise.all(events.map((event, i) => retriesOn(workers[i]!).handleBatch(event)));
      const failed = responses.flatMap((response) => response.batchItemFailures.map((failure) => failure.itemIdentifier));
      h.clock.advance(MINUTE_MS);
      pending = failed.length + carried - carriedBefore;
      // Failed records would come back after their delay; hand them straight back.
      for (const event of events) {
        for (const record of event.Records) {
          if (failed.includes(record.messageId)) {
            await h.clients.sqs.send(
              new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: 0 }),
            );
          } else {
            await h.clients.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: record.receiptHandle }));
          }
        }
      }
    }

    // Assess
    expect(pending).toBe(0);
    expect(h.simulator.limitedCalls(NUMBER)).toHaveLength(10);
    const history = await h.worker.deps.ledger.history(NUMBER);
    expect(history).toHaveLength(10);
    const dead = await h.takeDeadLetters();
    expect(dead).toHaveLength(30);
    expect(new Set(dead.map((envelope) => envelope.category))).toEqual(new Set(['rate_limited']));
  });

  it('after a 133016 makes no call for that number and action until the block ends', async () => {
    // Prepare
    h.simulator.inject(NUMBER, { type: 'graph_error', code: 133016, details: 'Limit reached; retry after 72 hours.' });
    const blockedAt = h.clock.now();

    // Act
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'gets-133016' });
    await h.source.drain();
    h.clock.advance(71 * HOUR_MS);
    h.simulator.number(NUMBER)!.registered = true; // registered by hand meanwhile: a deregister would have work to do
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'during-block' });
    await h.enqueue({ action: 'deregister', phoneNumberId: NUMBER, idempotencyKey: 'deregister-during-block' });
    await h.source.drain();
    const callsDuringBlock = h.simulator.limitedCalls(NUMBER).length;
    h.clock.set(blockedAt + 72 * HOUR_MS + 1);
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'after-block' });
    await h.source.drain();

    // Assess
    expect(callsDuringBlock).toBe(1);
    expect(h.simulator.limitedCalls(NUMBER)).toHaveLength(2);
    const dead = await h.takeDeadLetters();
    const byKey = Object.fromEntries(dead.map((envelope) => [envelope.jobKey, envelope]));
    const blockedUntil = new Date(blockedAt + 72 * HOUR_MS).toISOString();
    expect(byKey['gets-133016']).toMatchObject({ category: 'rate_limited', blockedUntil, graphError: { code: 133016 } });
    expect(byKey['gets-133016']!.graphError!.fbtraceId).toMatch(/^Sim/);
    expect(byKey['during-block']).toMatchObject({ category: 'rate_limited', blockedUntil });
    expect(byKey['deregister-during-block']).toMatchObject({ category: 'rate_limited', blockedUntil });
    expect(byKey['after-block']).toBeUndefined();
  });
});

describe('separate budgets (ATTEMPT_BUDGET_SHARED=false)', () => {
  it('gives register and deregister 10 each', async () => {
    // Prepare
    const h = await createWorkerHarness({ env: { ATTEMPT_BUDGET_SHARED: 'false' }, simulator: { limit: 20 } });
    h.simulator.addNumber(NUMBER, { pin: PIN });
    await h.storePin(NUMBER, PIN);
    try {
      // Act
      for (let i = 0; i < 11; i++) await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: `r-${i}` });
      await h.enqueue({ action: 'deregister', phoneNumberId: NUMBER, idempotencyKey: 'd-0' });
      await h.source.drain();

      // Assess
      const calls = h.simulator.limitedCalls(NUMBER);
      expect(calls.filter((call) => call.operation === 'register')).toHaveLength(10);
      expect(calls.filter((call) => call.operation === 'deregister')).toHaveLength(1);
      expect((await h.takeDeadLetters()).map((envelope) => [envelope.jobKey, envelope.budget?.scope])).toEqual([['r-10', 'register']]);
      const spent = (await h.worker.deps.ledger.number(NUMBER)).spent.map((slot) => slot.operation);
      expect([spent.filter((op) => op === 'register').length, spent.filter((op) => op === 'deregister').length]).toEqual([10, 1]);
    } finally {
      await h.stop();
    }
  });
});

describe('bulk enqueue', () => {
  it('keeps each number\'s jobs in input order', async () => {
    const h = await createWorkerHarness();
    try {
      const jobs = Array.from({ length: 60 }, (_, i) => ({ action: 'deregister' as const, phoneNumberId: String(100 + (i % 6)), idempotencyKey: `bulk-${i}` }));

      const result = await enqueueJobs(h.clients.sqs, h.stack.jobQueueUrl, jobs);

      expect(result.sent.map((entry) => entry.index)).toEqual(jobs.map((_, i) => i));
      const received: string[] = [];
      for (;;) {
        const output = await h.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: h.stack.jobQueueUrl, MaxNumberOfMessages: 10 }));
        if (!output.Messages?.length) break;
        for (const message of output.Messages) {
          received.push((JSON.parse(message.Body!) as { idempotencyKey: string }).idempotencyKey);
          await h.clients.sqs.send(new DeleteMessageCommand({ QueueUrl: h.stack.jobQueueUrl, ReceiptHandle: message.ReceiptHandle! }));
        }
      }
      for (let number = 0; number < 6; number++) {
        const expected = jobs.filter((_, i) => i % 6 === number).map((job) => job.idempotencyKey);
        expect(received.filter((key) => expected.includes(key))).toEqual(expected);
      }
    } finally {
      await h.stop();
    }
  });
});
