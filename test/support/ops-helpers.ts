import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import type { DeadLetterCategory, DeadLetterEnvelopeV1 } from '../../shared/jobs/dlq-envelope.v1.ts';
import type { JobV1 } from '../../shared/jobs/job.v1.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliIo } from '../../bin/cli.ts';
import { ManualClock, type Clock } from '../../shared/clock.ts';
import { provisionLocalStack, type LocalStack } from '../../tools/local-stack.ts';
import { scopeFor, type BudgetPolicy } from '../../shared/domain/budget.ts';
import type { AttemptLedger } from '../../shared/ledger/port.ts';

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

// ------------------------------------------------------------------ CLI runs against moto

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliStack {
  stack: LocalStack;
  /** A directory holding `.wa-registrar/local-stack.json`, as the local run writes it. */
  cwd: string;
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
  clock: ManualClock;
  cli(args: string[], io?: Partial<CliIo>): Promise<CliRun>;
  /** Visible and in-flight message counts (moto's are exact). */
  count(queueUrl: string): Promise<{ visible: number; inFlight: number }>;
}

/** Fresh queues and table (unique names) plus a working directory the CLI finds them from by default. */
export async function createCliStack(name: string, start?: number): Promise<CliStack> {
  const endpoint = process.env.AWS_ENDPOINT_URL!;
  const stack = await provisionLocalStack({ endpoint, region: 'eu-west-1', namePrefix: uniquePrefix(name) });
  const cwd = await mkdtemp(join(tmpdir(), `wa-cli-${name}-`));
  await mkdir(join(cwd, '.wa-registrar'));
  await writeFile(join(cwd, '.wa-registrar', 'local-stack.json'), JSON.stringify(stack, null, 2));
  const sqs = new SQSClient({ region: 'eu-west-1' });
  const dynamodb = new DynamoDBClient({ region: 'eu-west-1' });
  const clock = new ManualClock(start);
  return {
    stack,
    cwd,
    sqs,
    dynamodb,
    clock,
    async cli(args, io = {}) {
      let stdout = '';
      let stderr = '';
      const code = await runCli(args, {
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: (text: string) => (stderr += text) },
        stdinIsTTY: false,
        env: { ...process.env },
        cwd,
        clock: clock as Clock,
        ...io,
      });
      return { code, stdout, stderr };
    },
    async count(queueUrl) {
      const output = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
      );
      return {
        visible: Number(output.Attributes?.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(output.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
      };
    },
  };
}

/** One request to put on the ledger the way the worker does: reserve a slot, then record the answer. */
export interface LedgerEntry {
  at: number;
  operation: 'register' | 'deregister';
  outcome: 'success' | 'rejected' | 'unknown' | 'pending';
  code?: number;
  reason?: 'account_creation' | 'name_change' | 'migration' | 'localization_change' | 'manual';
}

/** Writes requests through the real ledger adapter (shared budget, Meta's 10 per 72 h). */
export async function writeLedger(ledger: AttemptLedger, phoneNumberId: string, entries: LedgerEntry[], policy: BudgetPolicy): Promise<void> {
  for (const entry of entries) {
    const scope = scopeFor(entry.operation, policy);
    const jobKey = `job-${randomUUID()}`;
    const snapshot = await ledger.read(phoneNumberId, jobKey, [scope]);
    const spend = snapshot.budgets[scope]!;
    const attemptId = randomUUID();
    const result = await ledger.reserve({
      phoneNumberId,
      operation: entry.operation,
      reason: entry.reason ?? 'manual',
      jobKey,
      generation: 0,
      leaseOwner: 'test',
      leaseUntil: entry.at + 60_000,
      now: entry.at,
      attemptId,
      spend,
      alsoUnchanged: [],
      newAttemptTimes: [...spend.attemptTimes, entry.at],
      attemptExpiresAt: entry.at + policy.windowMs,
      budgetExpiresAt: entry.at + policy.windowMs,
      jobExpiresAt: entry.at + 14 * 24 * HOUR,
    });
    if (result !== 'reserved') throw new Error('ledger reserve conflicted in a test');
    if (entry.outcome !== 'pending') {
      await ledger.recordOutcome({
        phoneNumberId,
        jobKey,
        attempt: { attemptId, at: entry.at, operation: entry.operation },
        outcome: entry.outcome,
        ...(entry.code === undefined ? {} : { code: entry.code, httpStatus: 400, fbtraceId: 'AbC12dEf3GhI4jK' }),
        durationMs: 120,
      });
    }
  }
}

export const META_POLICY: BudgetPolicy = { limit: 10, windowMs: 72 * HOUR, shared: true, blockMs: 72 * HOUR };

/**
 * Consumes a queue in the background (receive, then delete), like the worker would. moto recomputes queue
 * attributes over every stored message on each send, so a FIFO queue that only grows makes sends slower and
 * slower; a consumer keeps it short. `stop` drains what is left and returns every body received.
 */
export function startDrain(sqs: SQSClient, queueUrl: string): { stop(): Promise<string[]> } {
  const bodies: string[] = [];
  let stopping = false;
  const round = async () => {
    const output = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60 }));
    const messages = output.Messages ?? [];
    if (messages.length === 0) return 0;
    bodies.push(...messages.map((message) => message.Body ?? ''));
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })) }));
    return messages.length;
  };
  const loop = (async () => {
    while (!stopping) {
      // A poll interval while the queue is empty, so the consumer does not starve the emulator it shares.
      if ((await round()) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    while ((await round()) > 0);
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      return bodies;
    },
  };
}
