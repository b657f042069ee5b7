import { REDRIVE_GENERATION_ATTRIBUTE, type DeadLetterEnvelopeV1 } from '../../../shared/jobs/dlq-envelope.v1.ts';
import type { DeadLetterSink, JobQueue } from '../../../shared/queue/port.ts';
import { MAX_VISIBILITY_SECONDS } from '../../../shared/queue/sqs-queue.ts';
import type { Clock } from '../../../shared/clock.ts';
import type { FifoQueue, MessageAttributes } from './fifo-queue.ts';
import type { Delivery, Records } from './records.ts';
import type { SecretCatalog } from './secret-scan.ts';
import { carriedMessage } from './worker-adapter.ts';

/** What the model's SQS ports need from the world. */
interface QueueWorld {
  clock: Clock;
  records: Records;
  catalog: SecretCatalog;
  queue: FifoQueue;
  time(at?: number): string;
}

/** The FIFO dead-letter queue: deduplication on job key + generation + category within 5 minutes, as SqsDeadLetterSink sets it. */
export function modelDeadLetterQueue(world: QueueWorld): DeadLetterSink {
  return {
    send: async (envelope: DeadLetterEnvelopeV1) => {
      world.catalog.scan('a dead-letter envelope', envelope);
      const now = world.clock.now();
      const same = world.records.deadLetters.find(
        (earlier) =>
          !earlier.deduped &&
          earlier.envelope.jobKey === envelope.jobKey &&
          earlier.envelope.redriveGeneration === envelope.redriveGeneration &&
          earlier.envelope.category === envelope.category,
      );
      const deduped = same !== undefined && now - same.at < 5 * 60_000;
      const messageId = `dl${world.records.deadLetters.length + 1}`;
      world.records.deadLetters.push({ seq: world.records.nextSeq(), at: now, messageId, envelope, deduped, redriven: false });
      world.records.note(`    dead letter ${messageId}${deduped ? ' (dropped by DLQ deduplication)' : ''}: ${envelope.category}`);
    },
  };
}

/** The job queue as SqsJobQueue drives it: ChangeMessageVisibility (ceiled, capped at 12 h) and carried copies. */
export function modelJobQueue(world: QueueWorld): JobQueue {
  return {
    delay: async (receiptHandle, seconds) => {
      const visibility = Math.min(Math.max(0, Math.ceil(seconds)), MAX_VISIBILITY_SECONDS);
      try {
        world.queue.changeVisibility(receiptHandle, visibility);
      } catch (error) {
        world.records.note(`    delay ${receiptHandle.split('-')[1]} refused by SQS: ${(error as Error).message}`);
        throw error;
      }
      world.records.note(`    delay ${receiptHandle.split('-')[1]} by ${visibility}s`);
    },
    carry: async (job) => {
      world.catalog.scan('a carried job', job);
      const sent = world.queue.send({ body: job.body, groupId: job.groupId, ...carriedMessage(job) });
      const how = sent.accepted ? `as ${sent.messageId}` : `dropped by FIFO deduplication (same as ${sent.messageId})`;
      world.records.note(`    carry ${job.jobKey} g${job.generation} ${how}, not before ${world.time(job.notBefore)}${job.answer ? ', with an unrecorded answer' : ''}`);
    },
  };
}

/** The job identity and target of a message body (bodies in the model are always valid jobs). */
export function parseDelivery(body: string, attributes: MessageAttributes): Pick<Delivery, 'jobKey' | 'generation' | 'body' | 'action' | 'phoneNumberId'> {
  const job = JSON.parse(body) as { idempotencyKey?: string; action?: string; phoneNumberId?: string };
  const generation = Number(attributes[REDRIVE_GENERATION_ATTRIBUTE]?.stringValue ?? 0);
  return { jobKey: String(job.idempotencyKey), generation: Number.isInteger(generation) ? generation : 0, body, action: String(job.action), phoneNumberId: String(job.phoneNumberId) };
}
