import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import type { DeadLetterCategory, DeadLetterEnvelopeV1 } from '../../shared/jobs/dlq-envelope.v1.ts';
import type { JobV1 } from '../../shared/jobs/job.v1.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliIo } from '../../bin/cli.ts';
import { ManualClock, type Clock } from '../../shared/clock.ts';
import { writeLocalResources, type LocalResources } from '../../shared/local-resources.ts';
import { provisionEmulatorResources } from '../../tools/emulator-resources.ts';
import type { BudgetPolicy } from '../../shared/domain/budget.ts';
import type { AppGates, AttemptLedger, AttemptRecord, NumberHold, NumberRecord } from '../../shared/ledger/port.ts';

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
  hold?: DeadLetterEnvelopeV1['hold'];
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
    ...(spec.hold === undefined ? {} : { hold: spec.hold }),
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

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliStack {
  stack: LocalResources;
  /** A directory holding the local resources file (`.wa-registrar/local-stack.json`), as the local run writes it. */
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
  const stack = await provisionEmulatorResources({ endpoint, region: 'eu-west-1', namePrefix: uniquePrefix(name) });
  const cwd = await mkdtemp(join(tmpdir(), `wa-cli-${name}-`));
  await writeLocalResources(cwd, stack);
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

/** One request to put on the ledger: a spent slot on the number item and an attempt item, in one commit. */
export interface LedgerEntry {
  at: number;
  operation: 'register' | 'deregister';
  outcome: 'success' | 'rejected' | 'unknown' | 'pending';
  code?: number;
  reason?: 'account_creation' | 'name_change' | 'migration' | 'localization_change' | 'manual';
}

/** Far enough ahead that no test item expires. */
const KEEP = { number: Date.UTC(2100, 0, 1), job: Date.UTC(2100, 0, 1), attempt: Date.UTC(2100, 0, 1) };

/** Reads the number item, changes it and commits it under the version read (retrying a conflict once). */
export async function updateNumber(ledger: AttemptLedger, phoneNumberId: string, change: (number: NumberRecord) => Omit<NumberRecord, 'version'>): Promise<NumberRecord> {
  for (let round = 0; round < 2; round++) {
    const number = await ledger.number(phoneNumberId);
    const next = { ...change(number), version: number.version + 1 };
    if ((await ledger.commit({ phoneNumberId, number: next, expiresAt: KEEP }, randomUUID())) === 'committed') return next;
  }
  throw new Error(`the number item of ${phoneNumberId} conflicted twice in a test`);
}

/** Writes requests through the real ledger adapter, as the worker leaves them: spent slots plus the audit trail. */
export async function writeLedger(ledger: AttemptLedger, phoneNumberId: string, entries: LedgerEntry[]): Promise<void> {
  for (const entry of entries) {
    const number = await ledger.number(phoneNumberId);
    const attempt: AttemptRecord = {
      attemptId: randomUUID(),
      phoneNumberId,
      operation: entry.operation,
      at: entry.at,
      reason: entry.reason ?? 'manual',
      jobKey: `job-${randomUUID()}`,
      outcome: entry.outcome,
      ...(entry.code === undefined ? {} : { code: entry.code, httpStatus: 400, fbtraceId: 'AbC12dEf3GhI4jK' }),
      durationMs: 120,
    };
    const next: NumberRecord = {
      ...number,
      version: number.version + 1,
      spent: [...number.spent, { at: entry.at, operation: entry.operation }],
      ...(entry.outcome === 'success' ? { lastSuccess: { operation: entry.operation, at: entry.at } } : {}),
    };
    const result = await ledger.commit({ phoneNumberId, number: next, attempt: { create: attempt }, expiresAt: KEEP }, randomUUID());
    if (result !== 'committed') throw new Error('ledger commit conflicted in a test');
  }
}

/** Blocks the number's operations until `until`, as a 133016 does. */
export async function blockNumber(ledger: AttemptLedger, phoneNumberId: string, operations: Array<'register' | 'deregister'>, until: number): Promise<void> {
  await updateNumber(ledger, phoneNumberId, (number) => ({ ...number, blockedUntil: { ...number.blockedUntil, ...Object.fromEntries(operations.map((op) => [op, until])) } }));
}

/** Puts a hold on the number, as the worker does after 133005, 133008/9 or a failed verification pre-flight. */
export async function holdNumber(ledger: AttemptLedger, phoneNumberId: string, hold: NumberHold): Promise<void> {
  await updateNumber(ledger, phoneNumberId, (number) => ({ ...number, hold }));
}

/** Closes the app's token gate, as the worker does after 190/0. */
export async function closeTokenGate(ledger: AttemptLedger, gate: NonNullable<AppGates['tokenGate']>): Promise<void> {
  const app = await ledger.appGates();
  const result = await ledger.commit({ phoneNumberId: '0', app: { ...app, tokenGate: gate, version: app.version + 1 }, expiresAt: KEEP }, randomUUID());
  if (result !== 'committed') throw new Error('the app item conflicted in a test');
}

/** Meta's budget as the worker applies it by default: 10 per 72 h, plus the 15-minute margin, shared. */
export const META_POLICY: BudgetPolicy = { limit: 10, windowMs: 72 * HOUR, marginMs: 15 * 60_000, shared: true, blockMs: 72 * HOUR };

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
