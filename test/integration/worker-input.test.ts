import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { SQSEvent } from 'aws-lambda';
import { expectNoSecrets } from '../support/secrets-scan.ts';
import { useWorkerHarness } from '../support/worker-harness.ts';

const NUMBER = '106540352242922';
const PIN = '204817';

describe('bad input is dead-lettered with a clear message and no Graph call', () => {
  const h = useWorkerHarness(NUMBER, PIN);

  const cases: Array<[string, string, RegExp]> = [
    ['invalid JSON', '{"action":"register",', /not valid JSON/],
    ['an unknown action', JSON.stringify({ action: 'reregister', phoneNumberId: NUMBER }), /action: Invalid option/],
    ['a phone id with a path', JSON.stringify({ action: 'register', phoneNumberId: '12/../me' }), /phoneNumberId must be 1-20 digits/],
    ['region XX', JSON.stringify({ action: 'register', phoneNumberId: NUMBER, dataLocalizationRegion: 'XX' }), /dataLocalizationRegion must be one of AU, ID/],
    ['a pin field', JSON.stringify({ action: 'register', phoneNumberId: NUMBER, pin: '654321' }), /must not carry a secret \(found "pin"\): PINs live in Secrets Manager/],
    ['an empty body', '', /empty message body/],
    ['a 300 KB body', JSON.stringify({ action: 'register', phoneNumberId: NUMBER, padding: 'x'.repeat(300 * 1024) }), /at most 16384 bytes/],
    ['an unknown field', JSON.stringify({ action: 'register', phoneNumberId: NUMBER, colour: 'red' }), /Unrecognized key: "colour"/],
    ['a JSON array', '[1,2]', /must be a JSON object/],
  ];

  it.each(cases)('%s', async (_name, body, message) => {
    // Prepare: the body goes around the typed enqueue helper, as a careless producer would send it
    const event: SQSEvent = {
      Records: [
        {
          messageId: `bad-${Math.random().toString(36).slice(2)}`,
          receiptHandle: 'unused',
          body,
          attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0', MessageGroupId: 'g' },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:jobs.fifo',
          awsRegion: 'eu-west-1',
        },
      ],
    };

    // Act
    const response = await h.worker.handleBatch(event);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(h.simulator.calls).toEqual([]);
    const [envelope] = await h.takeDeadLetters();
    expect(envelope!.category).toBe('invalid_job');
    expect(envelope!.reason).toMatch(message);
    expect(envelope!.job).toBeNull();
    expect(envelope!.rawBodyBytes).toBe(Buffer.byteLength(body));
    expect(envelope!.rawBody!.length).toBeLessThanOrEqual(4096 + 60);
    expectNoSecrets([JSON.stringify(envelope), ...h.logs], ['654321']);
  });

  it('a real SQS message that is not a job is dead-lettered and leaves the job queue', async () => {
    await h.clients.sqs.send(
      new SendMessageCommand({ QueueUrl: h.stack.jobQueueUrl, MessageBody: 'hello', MessageGroupId: 'x', MessageDeduplicationId: 'hello' }),
    );

    const drained = await h.source.drain();

    expect(drained.received).toBe(1);
    expect((await h.takeDeadLetters()).map((envelope) => envelope.rawBody)).toEqual(['hello']);
  });
});
