import { ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import type { DeadLetterCategory, DeadLetterEnvelopeV1 } from '../../shared/jobs/dlq-envelope.v1.ts';
import type { JobV1 } from '../../shared/jobs/job.v1.ts';

/** Factories and queue helpers for the ops (CLI, scheduled redrive) tests. */

const HOUR = 3_600_000;

export interface EnvelopeSpec {
  category: DeadLetterCategory;
  phoneNumberId?: string;
  action?: JobV1['action'];
  code?: number;
  eligibleAt?: number | undefined;
  deadLetteredAt?: number;
  redriveGeneration?: number;
  jobKey?: string;
  attempts?: DeadLetterEnvelopeV1['attempts'];
}

/** A schema-valid dead-letter envelope, as the worker writes one. */
export function envelope(spec: EnvelopeSpec): DeadLetterEnvelopeV1 {
  const phoneNumberId = spec.phoneNumberId ?? '100000000000001';
  const action = spec.action ?? 'register';
  const jobKey = spec.jobKey ?? `key-${randomUUID()}`;
  const deadLetteredAt = spec.deadLetteredAt ?? Date.UTC(2026, 10, 25, 12, 0, 0);
  const job: JobV1 | null =
    spec.category === 'invalid_job' ? null : { schemaVersion: 1, action, phoneNumberId, reason: 'manual', idempotencyKey: jobKey };
  return {
    schemaVersion: 1,
    kind: 'wa-registrar.dead-letter',
    category: spec.category,
    reason: `test ${spec.category}`,
    hint: 'test hint',
    job,
    ...(spec.category === 'invalid_job' ? { rawBody: '{"action":"regster"}', rawBodyBytes: 20 } : {}),
    jobKey,
    ...(spec.category === 'invalid_job' ? {} : { phoneNumberId, action }),
    ...(spec.code === undefined ? {} : { graphError: { code: spec.code, message: `(#${spec.code}) test`, fbtraceId: 'AbC12dEf3GhI4jK', httpStatus: 400 } }),
    ...(spec.eligibleAt === undefined ? {} : { eligibleAt: new Date(spec.eligibleAt).toISOString() }),
    ...(spec.category === 'rate_limited' ? { budget: { used: 10, limit: 10, windowHours: 72, scope: 'all' } } : {}),
    attempts: spec.attempts ?? [],
    receiveCount: 1,
    sourceMessageId: randomUUID(),
    deadLetteredAt: new Date(deadLetteredAt).toISOString(),
    redriveGeneration: spec.redriveGeneration ?? 0,
  };
}

export const hoursFrom = (base: number, hours: number) => base + hours * HOUR;

/** Receives everything on a queue (holding it for `visibility` seconds) until a receive brings nothing new. */
export async function receiveAll(sqs: SQSClient, queueUrl: string, visibility = 60): Promise<Message[]> {
  const seen = new Map<string, Message>();
  for (;;) {
    const output = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: visibility,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const fresh = (output.Messages ?? []).filter((message) => !seen.has(message.MessageId!));
    if (fresh.length === 0) return [...seen.values()];
    for (const message of fresh) seen.set(message.MessageId!, message);
  }
}

/** Unique, short resource prefixes: moto is shared by every integration test file. */
export const uniquePrefix = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;
