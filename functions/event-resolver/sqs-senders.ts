import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { deduplicationId } from '../../shared/deduplication.ts';
import type { EventDeadLetterV1 } from '../../shared/events/event-dead-letter.v1.ts';
import type { EventDeadLetterSink, JobSender } from '../../shared/events/run-event.ts';
import { enqueueJob } from '../../shared/jobs/enqueue.ts';
import type { JobV1Input } from '../../shared/jobs/job.v1.ts';

/** Jobs go through the producers' helper: message group = number, deduplication id = idempotency key. */
export class SqsJobSender implements JobSender {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  constructor(client: SQSClient, queueUrl: string) {
    this.#client = client;
    this.#queueUrl = queueUrl;
  }

  async send(job: JobV1Input & { idempotencyKey: string }): Promise<void> {
    await enqueueJob(this.#client, this.#queueUrl, job);
  }
}

/**
 * The resolver's dead letters, on the buffer queue's dead-letter queue. On a FIFO queue the business account is the
 * group and the event (change id, else message id) with the reason the deduplication id, so a retried send is one message.
 */
export class SqsEventDeadLetters implements EventDeadLetterSink {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  constructor(client: SQSClient, queueUrl: string) {
    this.#client = client;
    this.#queueUrl = queueUrl;
  }

  async send(envelope: EventDeadLetterV1): Promise<void> {
    const fifo = this.#queueUrl.endsWith('.fifo');
    await this.#client.send(
      new SendMessageCommand({
        QueueUrl: this.#queueUrl,
        MessageBody: JSON.stringify(envelope),
        ...(fifo
          ? {
              MessageGroupId: envelope.businessAccountId ?? 'invalid-events',
              MessageDeduplicationId: deduplicationId('event-dlq', envelope.changeId ?? envelope.sourceMessageId, envelope.reason),
            }
          : {}),
      }),
    );
  }
}
