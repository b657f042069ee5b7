import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ANSWER_ATTRIBUTE, NOT_BEFORE_ATTRIBUTE, REDRIVE_GENERATION_ATTRIBUTE, type DeadLetterEnvelopeV1 } from '../jobs/dlq-envelope.v1.ts';
import { deduplicationId } from '../deduplication.ts';
import type { CarriedJob, DeadLetterSink, JobQueue } from './port.ts';

export { deduplicationId };

/** SQS's ceiling on a message's visibility timeout. */
export const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;


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
        MessageDeduplicationId: deduplicationId('dlq', envelope.jobKey, envelope.redriveGeneration, envelope.category),
      }),
    );
  }
}

/** The job queue, as the batch layer controls it: retry delays and carried waits. */
export class SqsJobQueue implements JobQueue {
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

  async carry(job: CarriedJob): Promise<void> {
    await this.#client.send(
      new SendMessageCommand({
        QueueUrl: this.#queueUrl,
        MessageBody: job.body,
        MessageGroupId: job.groupId,
        MessageDeduplicationId: deduplicationId('carry', job.jobKey, job.generation, job.carryId),
        MessageAttributes: carriedAttributes(job),
      }),
    );
  }
}

/** The message attributes of a carried job, shared with the in-memory queue of the fault suite. */
export function carriedAttributes(job: Pick<CarriedJob, 'generation' | 'notBefore' | 'answer'>): Record<string, { DataType: 'Number' | 'String'; StringValue: string }> {
  return {
    [NOT_BEFORE_ATTRIBUTE]: { DataType: 'Number', StringValue: String(job.notBefore) },
    ...(job.answer ? { [ANSWER_ATTRIBUTE]: { DataType: 'String', StringValue: job.answer } } : {}),
    ...(job.generation > 0 ? { [REDRIVE_GENERATION_ATTRIBUTE]: { DataType: 'Number', StringValue: String(job.generation) } } : {}),
  };
}
