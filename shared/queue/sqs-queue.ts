import { createHash } from 'node:crypto';
import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetterEnvelopeV1 } from '../jobs/dlq-envelope.v1.ts';
import type { DeadLetterSink, RetryScheduler } from './port.ts';

/** SQS's ceiling on a message's visibility timeout. */
export const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;

/** FIFO deduplication ids are at most 128 characters; a hash keeps any job key within that. */
export function deduplicationId(...parts: Array<string | number>): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex');
}

/** Dead-letters jobs onto the FIFO dead-letter queue. */
export class SqsDeadLetterSink implements DeadLetterSink {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  constructor(client: SQSClient, queueUrl: string) {
    this.#client = client;
    this.#queueUrl = queueUrl;
  }

  async send(envelope: DeadLetterEnvelopeV1): Promise<void> {
    await this.#client.send(
      new SendMessageCommand({
        QueueUrl: this.#queueUrl,
        MessageBody: JSON.stringify(envelope),
        // Invalid jobs may have no usable number; they share one group, which keeps them in arrival order.
        MessageGroupId: envelope.phoneNumberId ?? 'invalid-jobs',
        MessageDeduplicationId: deduplicationId('dlq', envelope.jobKey, envelope.redriveGeneration),
      }),
    );
  }
}

/** Sets a failed job's retry delay on the job queue. */
export class SqsRetryScheduler implements RetryScheduler {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  constructor(client: SQSClient, queueUrl: string) {
    this.#client = client;
    this.#queueUrl = queueUrl;
  }

  async delay(receiptHandle: string, seconds: number): Promise<void> {
    await this.#client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.#queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.min(Math.max(0, Math.ceil(seconds)), MAX_VISIBILITY_SECONDS),
      }),
    );
  }
}
