import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../../bin/cli.ts';
import { REDRIVE_GENERATION_ATTRIBUTE, type DeadLetterEnvelopeV1 } from '../../shared/jobs/dlq-envelope.v1.ts';
import { parseJob } from '../../shared/jobs/job.v1.ts';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import { SqsDeadLetterSink } from '../../shared/queue/sqs-queue.ts';
import { writeLocalResources, type LocalResources } from '../../shared/local-resources.ts';
import { provisionEmulatorResources } from '../../tools/emulator-resources.ts';
import { closeTokenGate, envelope, holdNumber, hoursFrom, receiveAll, uniquePrefix } from '../support/ops-helpers.ts';

const context = { getRemainingTimeInMillis: () => 60_000, functionName: 'scheduled-redrive', awsRequestId: 'test' } as unknown as Context;

type Handler = (event: unknown, context: Context) => Promise<{ redriven: number }>;

describe('scheduled redrive handler (against moto)', () => {
  let stack: LocalResources;
  let sqs: SQSClient;
  let secrets: SecretsManagerClient;
  let ledger: DynamoDbAttemptLedger;
  let sink: SqsDeadLetterSink;
  let handler: Handler;
  let tokenVersion: string;

  beforeAll(async () => {
    stack = await provisionEmulatorResources({ endpoint: process.env.AWS_ENDPOINT_URL!, region: 'eu-west-1', namePrefix: uniquePrefix('sched') });
    sqs = new SQSClient({ region: 'eu-west-1' });
    secrets = new SecretsManagerClient({ region: 'eu-west-1' });
    ledger = new DynamoDbAttemptLedger(new DynamoDBClient({ region: 'eu-west-1' }), stack.ledgerTableName);
    sink = new SqsDeadLetterSink(sqs, stack.deadLetterQueueUrl);
    tokenVersion = (await secrets.send(new CreateSecretCommand({ Name: stack.tokenSecretId, SecretString: 'token-one' }))).VersionId!;
    process.env.JOB_QUEUE_URL = stack.jobQueueUrl;
    process.env.DEAD_LETTER_QUEUE_URL = stack.deadLetterQueueUrl;
    process.env.LEDGER_TABLE_NAME = stack.ledgerTableName;
    process.env.TOKEN_SECRET_ID = stack.tokenSecretId;
    process.env.PIN_SECRET_PREFIX = stack.pinSecretPrefix;
    process.env.DLQ_SCAN_WAIT_SECONDS = '0';
    process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
    // The module reads its environment at load, like a cold start.
    ({ handler } = (await import('../../functions/scheduled-redrive/handler.ts')) as { handler: Handler });
  });

  /** Sends a dead letter; returns its job key. */
  const deadLetter = async (item: DeadLetterEnvelopeV1): Promise<string> => {
    await sink.send(item);
    return item.jobKey;
  };
  /** Whether a dead letter with this job key is still on the DLQ (read and released at once). */
  const onDeadLetterQueue = async (jobKey: string) =>
    (await receiveAll(sqs, stack.deadLetterQueueUrl, 0)).some((message) => JSON.parse(message.Body!).jobKey === jobKey);
  /** Job messages for a number that reached the job queue since the last look (each is held once read). */
  const jobsFor = async (phoneNumberId: string) =>
    (await receiveAll(sqs, stack.jobQueueUrl)).filter((message) => message.Attributes?.MessageGroupId === phoneNumberId);

  it('redrives only rate-limited dead-letters whose eligibleAt has passed, once, with the next generation', async () => {
    // Prepare
    const now = Date.now();
    const reopened = envelope({ category: 'rate_limited', phoneNumberId: '4100', code: 133016, eligibleAt: hoursFrom(now, -1), redriveGeneration: 2 });
    const stillClosed = envelope({ category: 'rate_limited', phoneNumberId: '4101', eligibleAt: hoursFrom(now, 5) });
    const wrongPin = envelope({ category: 'permanent_error', phoneNumberId: '4102', code: 133005 });
    const invalid = envelope({ category: 'invalid_job' });
    for (const item of [reopened, stillClosed, wrongPin, invalid]) await sink.send(item);

    // Act
    const first = await handler({}, context);
    const second = await handler({}, context);

    // Assess
    expect(first.redriven).toBe(1);
    expect(second.redriven).toBe(0);
    const jobs = await receiveAll(sqs, stack.jobQueueUrl);
    expect(jobs).toHaveLength(1);
    const job = parseJob(jobs[0]!.Body!);
    expect(job.ok && job.job).toMatchObject({ phoneNumberId: '4100', idempotencyKey: reopened.jobKey });
    expect(jobs[0]!.MessageAttributes?.[REDRIVE_GENERATION_ATTRIBUTE]?.StringValue).toBe('3');
    expect(jobs[0]!.Attributes?.MessageGroupId).toBe('4100');
    // The other three stay, and visible again right away (released, not left invisible).
    const left = await receiveAll(sqs, stack.deadLetterQueueUrl, 0);
    expect(left.map((message) => JSON.parse(message.Body!).jobKey).sort()).toEqual(
      [stillClosed.jobKey, wrongPin.jobKey, invalid.jobKey].sort(),
    );
  });

  it('pin_rejected: held while the refused PIN version is current, redriven once a new version is stored', async () => {
    // Prepare: the worker's state after 133005 on PIN version v1.
    const now = Date.now();
    const pinSecret = `${stack.pinSecretPrefix}4200`;
    const refused = (await secrets.send(new CreateSecretCommand({ Name: pinSecret, SecretString: '111111' }))).VersionId!;
    await holdNumber(ledger, '4200', { cause: 'pin_rejected', since: now, code: 133005, pinVersion: refused, detail: 'error 133005 on a register' });
    const key = await deadLetter(
      envelope({ category: 'pin_rejected', phoneNumberId: '4200', code: 133005, hold: { cause: 'pin_rejected', since: new Date(now).toISOString(), secretVersion: refused, code: 133005 } }),
    );

    // Act
    await handler({}, context);
    const whileUnchanged = { jobs: await jobsFor('4200'), held: await onDeadLetterQueue(key) };
    await secrets.send(new PutSecretValueCommand({ SecretId: pinSecret, SecretString: '222222' }));
    await handler({}, context);

    // Assess
    expect(whileUnchanged).toEqual({ jobs: [], held: true });
    expect(await jobsFor('4200')).toHaveLength(1);
    expect(await onDeadLetterQueue(key)).toBe(false);
  });

  it('token_rejected: held while the refused token version is current, redriven once a new version is stored', async () => {
    // Prepare: the worker's state after 190 on token version 1.
    const now = Date.now();
    await closeTokenGate(ledger, { tokenVersion, since: now, code: 190 });
    const key = await deadLetter(
      envelope({ category: 'token_rejected', phoneNumberId: '4300', code: 190, hold: { cause: 'token_rejected', since: new Date(now).toISOString(), secretVersion: tokenVersion, code: 190 } }),
    );

    // Act
    await handler({}, context);
    const whileUnchanged = { jobs: await jobsFor('4300'), held: await onDeadLetterQueue(key) };
    await secrets.send(new PutSecretValueCommand({ SecretId: stack.tokenSecretId, SecretString: 'token-two' }));
    await handler({}, context);

    // Assess
    expect(whileUnchanged).toEqual({ jobs: [], held: true });
    expect(await jobsFor('4300')).toHaveLength(1);
    expect(await onDeadLetterQueue(key)).toBe(false);
  });

  it('needs_verification: held until `wa-registrar hold clear`, then redriven', async () => {
    // Prepare: the worker's state after a pre-flight read found the verification EXPIRED.
    const now = Date.now();
    await holdNumber(ledger, '4400', { cause: 'needs_verification', since: now, detail: 'verification EXPIRED' });
    const key = await deadLetter(envelope({ category: 'needs_verification', phoneNumberId: '4400', hold: { cause: 'needs_verification', since: new Date(now).toISOString() } }));
    const cwd = await mkdtemp(join(tmpdir(), 'wa-sched-'));
    await writeLocalResources(cwd, stack);

    // Act
    await handler({}, context);
    const whileHeld = { jobs: await jobsFor('4400'), held: await onDeadLetterQueue(key) };
    const clear = await runCliCaptured(['hold', 'clear', '4400'], { env: process.env, cwd, clock: { now: () => Date.now() } });
    await handler({}, context);

    // Assess
    expect(whileHeld).toEqual({ jobs: [], held: true });
    expect(clear.code).toBe(0);
    expect(clear.stdout).toContain('Cleared the needs_verification hold on number 4400');
    expect(await jobsFor('4400')).toHaveLength(1);
    expect(await onDeadLetterQueue(key)).toBe(false);
  });
});
