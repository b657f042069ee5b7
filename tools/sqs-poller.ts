import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * Polls an SQS queue the way Lambda's event source mapping does: receive a batch, hand it to the
 * handler as an SQSEvent, delete only the records not reported as failed. Failed records stay on
 * the queue and come back after their visibility timeout, so the queue's redrive policy applies.
 * Used by the integration tests, the benchmarks and the local run. (Not CDK's `SqsEventSource`, which
 * configures the real event source mapping.)
 */
export class SqsPoller {
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;
  readonly #handler: (event: SQSEvent) => Promise<SQSBatchResponse | void>;
  /** Receipt handles of records the handler failed, newest receive per message. */
  readonly #failed = new Map<string, string>();

  constructor(sqs: SQSClient, queueUrl: string, handler: (event: SQSEvent) => Promise<SQSBatchResponse | void>) {
    this.#sqs = sqs;
    this.#queueUrl = queueUrl;
    this.#handler = handler;
  }

  /** One receive + invoke + delete round. Returns what happened; never throws for a handler failure. */
  async pollOnce(options: { maxMessages?: number; waitTimeSeconds?: number } = {}): Promise<{ received: number; failed: string[]; handlerError?: Error }> {
    const output = await this.#sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#queueUrl,
        MaxNumberOfMessages: options.maxMessages ?? 10,
        WaitTimeSeconds: options.waitTimeSeconds ?? 0,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = output.Messages ?? [];
    if (messages.length === 0) return { received: 0, failed: [] };
    const event: SQSEvent = { Records: messages.map((message) => toRecord(message, this.#queueUrl)) };
    let failed: string[];
    let handlerError: Error | undefined;
    try {
      const response = await this.#handler(event);
      failed = (response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier);
    } catch (error) {
      // A thrown handler fails the whole batch, as on Lambda.
      handlerError = error as Error;
      failed = messages.map((message) => message.MessageId!);
    }
    const failedSet = new Set(failed);
    for (const message of messages) {
      if (failedSet.has(message.MessageId!)) this.#failed.set(message.MessageId!, message.ReceiptHandle!);
      else this.#failed.delete(message.MessageId!);
    }
    const succeeded = messages.filter((message) => !failedSet.has(message.MessageId!));
    if (succeeded.length > 0) {
      await this.#sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.#queueUrl,
          Entries: succeeded.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
    }
    return { received: messages.length, failed, ...(handlerError ? { handlerError } : {}) };
  }

  /** Polls until a receive comes back empty (messages waiting out a retry delay stay invisible). */
  async drain(maxRounds = 1000): Promise<{ rounds: number; received: number }> {
    let received = 0;
    for (let round = 1; round <= maxRounds; round++) {
      const result = await this.pollOnce();
      if (result.received === 0) return { rounds: round, received };
      received += result.received;
    }
    throw new Error(`queue not drained after ${maxRounds} rounds`);
  }

  /**
   * Makes every failed message visible again now, as if its retry delay had passed.
   * Tests move their clock forward and call this instead of sleeping.
   */
  async releaseFailed(): Promise<number> {
    const handles = [...this.#failed.values()];
    this.#failed.clear();
    for (const handle of handles) {
      await this.#sqs
        .send(new ChangeMessageVisibilityCommand({ QueueUrl: this.#queueUrl, ReceiptHandle: handle, VisibilityTimeout: 0 }))
        .catch(() => undefined); // already deleted or re-received: nothing to release
    }
    return handles.length;
  }
}

/** The SQS message as Lambda would deliver it. */
export function toRecord(message: Message, queueUrl: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  const [account = '000000000000', name = ''] = new URL(queueUrl).pathname.split('/').filter(Boolean);
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(attributes.MessageGroupId ? { MessageGroupId: attributes.MessageGroupId } : {}),
      ...(attributes.MessageDeduplicationId ? { MessageDeduplicationId: attributes.MessageDeduplicationId } : {}),
      ...(attributes.SequenceNumber ? { SequenceNumber: attributes.SequenceNumber } : {}),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([key, value]) => [
        key,
        { dataType: value.DataType ?? 'String', ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}) },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:local:${account}:${name}`,
    awsRegion: 'local',
  };
}
