import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliCaptured } from '../../bin/cli.ts';
import { HOUR_MS } from '../../shared/clock.ts';
import { REDRIVE_GENERATION_ATTRIBUTE } from '../../shared/jobs/dlq-envelope.v1.ts';
import { deleteDeadLetter, type DeadLetter } from '../../shared/dead-letters/index.ts';
import { writeLocalResources } from '../../shared/local-resources.ts';
import { receiveAll } from '../support/ops-helpers.ts';
import { useWorkerHarness } from '../support/worker-harness.ts';

const NUMBER = '8800';
const PIN = '482913';

describe('redrive through the real worker (against moto and the Graph simulator)', () => {
  // A budget of one request per 72 h, so the second job for the number is dead-lettered as rate_limited.
  const harness = useWorkerHarness(NUMBER, PIN, { env: { ATTEMPT_LIMIT: '1' } });

  async function cli(args: string[], deleteHook?: (message: DeadLetter) => Promise<void>) {
    const cwd = await mkdtemp(join(tmpdir(), 'wa-redrive-worker-'));
    await writeLocalResources(cwd, harness.stack);
    return runCliCaptured(args, {
      env: { ...process.env, ATTEMPT_LIMIT: '1' },
      cwd,
      clock: harness.clock,
      ...(deleteHook ? { redriveDelete: deleteHook } : {}),
    });
  }

  it('a rate-limited job goes back once its window reopens, runs once, and a late duplicate of it is ignored', async () => {
    // Prepare: the first register spends the only slot; the second is refused locally and dead-lettered.
    await harness.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'account_creation', idempotencyKey: 'first' });
    await harness.source.drain();
    await harness.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'manual', idempotencyKey: 'again' });
    await harness.source.drain();
    const listed = JSON.parse((await cli(['dlq', 'list', '--json'])).stdout).messages;
    expect(listed).toMatchObject([{ category: 'rate_limited', jobKey: 'again', eligibleNow: false }]);
    expect(harness.simulator.limitedCalls(NUMBER)).toHaveLength(1);
    const tooEarly = await cli(['dlq', 'redrive', '--eligible']);

    // Act: 73 h later, a redrive that is interrupted between send and delete, then run again.
    harness.clock.advance(73 * HOUR_MS);
    let crashes = 1;
    const interrupted = await cli(['dlq', 'redrive', '--eligible'], async (message) => {
      if (crashes-- > 0) throw new Error('simulated crash');
      await deleteDeadLetter(harness.clients.sqs, harness.stack.deadLetterQueueUrl, message);
    });
    const [resent] = await receiveAll(harness.clients.sqs, harness.stack.jobQueueUrl, 0);
    await harness.source.drain();
    const again = await cli(['dlq', 'redrive', '--eligible']);
    await harness.source.drain();
    // After SQS's 5-minute deduplication window the same message would be accepted again: send it as SQS would.
    await harness.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: harness.stack.jobQueueUrl,
        MessageBody: resent!.Body!,
        MessageGroupId: NUMBER,
        MessageDeduplicationId: 'after-the-dedup-window',
        MessageAttributes: { [REDRIVE_GENERATION_ATTRIBUTE]: { DataType: 'Number', StringValue: '1' } },
      }),
    );
    await harness.source.drain();

    // Assess
    expect(tooEarly.stdout).toMatch(/^Redrove 0 dead-letter\(s\)\./);
    expect(interrupted.code).toBe(1);
    expect(resent!.MessageAttributes?.[REDRIVE_GENERATION_ATTRIBUTE]?.StringValue).toBe('1');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^Redrove 1 dead-letter\(s\)\./);
    // One register for the first job, one for the redriven job: never a third.
    expect(harness.simulator.limitedCalls(NUMBER)).toHaveLength(2);
    const outcomes = harness.logs.filter((line) => /"jobKey":\s*"again"/.test(line)).map((line) => /"outcome":\s*"(\w+)"/.exec(line)?.[1]);
    // moto forgets a deduplication id once its message is deleted (SQS keeps it 5 minutes), so here the second
    // redrive's re-send also reaches the worker: then the worker's generation check is what stops it.
    expect(outcomes.slice(0, 3)).toEqual(['dead_lettered', 'completed', 'duplicate']);
    expect(outcomes.slice(3).every((outcome) => outcome === 'duplicate')).toBe(true);
    expect(await receiveAll(harness.clients.sqs, harness.stack.deadLetterQueueUrl, 0)).toHaveLength(0);
    const status = JSON.parse((await cli(['status', NUMBER, '--json'])).stdout);
    expect(status.scopes[0]).toMatchObject({ used: 1, limit: 1, left: 0 });
    expect(status.olderAttempts).toBe(1);
  });
});
