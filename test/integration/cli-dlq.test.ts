import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { beforeEach, describe, expect, it } from 'vitest';
import { REDRIVE_GENERATION_ATTRIBUTE, type DeadLetterEnvelopeV1 } from '../../shared/jobs/dlq-envelope.v1.ts';
import { deleteDeadLetter, type DeadLetter } from '../../shared/dead-letters/index.ts';
import { SqsDeadLetterSink } from '../../shared/queue/sqs-queue.ts';
import { createCliStack, envelope, hoursFrom, receiveAll, type CliStack } from '../support/ops-helpers.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

interface ListRow {
  messageId: string;
  phoneNumberId: string | null;
  action: string | null;
  category: string;
  code: number | null;
  eligibleAt: string | null;
  eligibleNow: boolean;
  receiveCount: number | null;
  jobKey: string | null;
}

describe('wa-registrar dlq (against moto)', () => {
  let env: CliStack;
  let sink: SqsDeadLetterSink;

  beforeEach(async () => {
    env = await createCliStack('cli-dlq', NOW);
    sink = new SqsDeadLetterSink(env.sqs, env.stack.deadLetterQueueUrl);
  });

  /** Dead-letters them in order; returns the list rows keyed by job key. */
  async function seed(...envelopes: DeadLetterEnvelopeV1[]): Promise<Map<string, ListRow>> {
    for (const item of envelopes) await sink.send(item);
    const run = await env.cli(['dlq', 'list', '--json']);
    expect(run.code).toBe(0);
    return new Map((JSON.parse(run.stdout).messages as ListRow[]).map((row) => [row.jobKey ?? row.messageId, row]));
  }

  const jobQueue = () => receiveAll(env.sqs, env.stack.jobQueueUrl);

  describe('list', () => {
    it('shows every dead-letter with its facts, loses none and leaves all visible', async () => {
      // Prepare
      const limited = envelope({ category: 'rate_limited', phoneNumberId: '6100', code: 133016, eligibleAt: hoursFrom(NOW, 1) });
      const noSecret = envelope({ category: 'missing_secret', phoneNumberId: '6100' });
      const wrongPin = envelope({ category: 'permanent_error', phoneNumberId: '6101', code: 133005, action: 'deregister' });
      const invalid = envelope({ category: 'invalid_job' });
      for (const item of [limited, noSecret, wrongPin, invalid]) await sink.send(item);
      // SQS's own redrive moves a bare job; a stranger may put anything there.
      await env.sqs.send(new SendMessageCommand({ QueueUrl: env.stack.deadLetterQueueUrl, MessageBody: JSON.stringify({ action: 'register', phoneNumberId: '6102' }), MessageGroupId: '6102', MessageDeduplicationId: 'bare' }));
      await env.sqs.send(new SendMessageCommand({ QueueUrl: env.stack.deadLetterQueueUrl, MessageBody: 'garbage', MessageGroupId: 'other', MessageDeduplicationId: 'garbage' }));

      // Act
      const json = await env.cli(['dlq', 'list', '--json']);
      const human = await env.cli(['dlq', 'list']);
      const afterwards = await env.count(env.stack.deadLetterQueueUrl);

      // Assess
      expect(json.code).toBe(0);
      const rows = JSON.parse(json.stdout).messages as ListRow[];
      expect(rows.map((row) => row.category).sort()).toEqual(['invalid_job', 'max_receives', 'missing_secret', 'permanent_error', 'rate_limited', 'unreadable']);
      const byKey = new Map(rows.map((row) => [row.jobKey, row]));
      expect(byKey.get(limited.jobKey)).toMatchObject({ phoneNumberId: '6100', action: 'register', code: 133016, eligibleAt: new Date(hoursFrom(NOW, 1)).toISOString(), eligibleNow: false, receiveCount: 1 });
      expect(byKey.get(wrongPin.jobKey)).toMatchObject({ phoneNumberId: '6101', action: 'deregister', code: 133005, eligibleAt: null });
      expect(afterwards).toEqual({ visible: 6, inFlight: 0 });
      expect(human.stdout).toMatch(/^MESSAGE ID\s+NUMBER\s+ACTION\s+CATEGORY\s+CODE\s+DEAD-LETTERED\s+ELIGIBLE FOR REDRIVE\s+RECEIVES$/m);
      expect(human.stdout).toMatch(/rate_limited\s+133016\s+2026-11-25 12:00 UTC\s+2026-11-25 13:00 UTC \(in 1h\)\s+1/);
      expect(human.stdout).toContain('6 dead-letter(s).');
      expect(human.stderr).toBe('');
    });

    it('still sees every message when the scan outlasts the visibility timeout (held messages come back)', async () => {
      // Prepare: 30 dead-letters in 30 groups; a timeout of 0 s makes every held message visible again at once.
      for (let index = 0; index < 30; index++) await sink.send(envelope({ category: 'rate_limited', phoneNumberId: String(6150 + index), eligibleAt: hoursFrom(NOW, 1) }));

      // Act
      const run = await env.cli(['dlq', 'list', '--json'], { scan: { visibilityTimeoutSeconds: 0 } });

      // Assess
      expect(JSON.parse(run.stdout).messages).toHaveLength(30);
      expect(await env.count(env.stack.deadLetterQueueUrl)).toEqual({ visible: 30, inFlight: 0 });
    });

    it('filters by number, category and code', async () => {
      await seed(
        envelope({ category: 'rate_limited', phoneNumberId: '6200', code: 133016, eligibleAt: hoursFrom(NOW, 1) }),
        envelope({ category: 'permanent_error', phoneNumberId: '6200', code: 133005 }),
        envelope({ category: 'permanent_error', phoneNumberId: '6201', code: 100 }),
      );
      const count = async (...filters: string[]) => (JSON.parse((await env.cli(['dlq', 'list', '--json', ...filters])).stdout).messages as ListRow[]).length;

      expect(await count('--number', '6200')).toBe(2);
      expect(await count('--category', 'permanent_error')).toBe(2);
      expect(await count('--code', '133005')).toBe(1);
      expect(await count('--number', '6200', '--category', 'permanent_error')).toBe(1);
      const bad = await env.cli(['dlq', 'list', '--category', 'nope']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--category must be one of invalid_job, rate_limited');
    });

    it('says so when a FIFO group holds more than its head shows, and loses nothing', async () => {
      // Prepare: 12 dead-letters for one number; SQS hands out at most 10 of a group while they are in flight.
      for (let index = 0; index < 12; index++) {
        await sink.send(envelope({ category: 'rate_limited', phoneNumberId: '6300', eligibleAt: hoursFrom(NOW, -1) }));
      }

      // Act
      const run = await env.cli(['dlq', 'list', '--json']);

      // Assess
      const output = JSON.parse(run.stdout);
      expect(output.messages).toHaveLength(10);
      expect(output.queueCount).toBe(12);
      expect(run.stderr).toContain('note: the queue holds about 12 message(s)');
      expect(await env.count(env.stack.deadLetterQueueUrl)).toEqual({ visible: 12, inFlight: 0 });
    });
  });

  describe('show', () => {
    it('prints the whole envelope and the request history', async () => {
      // Prepare
      const limited = envelope({
        category: 'rate_limited',
        phoneNumberId: '6400',
        code: 133016,
        eligibleAt: hoursFrom(NOW, 70),
        attempts: [
          { at: new Date(hoursFrom(NOW, -3)).toISOString(), action: 'register', outcome: 'rejected', code: 133005, httpStatus: 400, fbtraceId: 'TrAcE1', durationMs: 210 },
          { at: new Date(hoursFrom(NOW, -2)).toISOString(), action: 'register', outcome: 'rejected', code: 133016, httpStatus: 400, fbtraceId: 'TrAcE2', durationMs: 180 },
        ],
      });
      const rows = await seed(limited);
      const id = rows.get(limited.jobKey)!.messageId;

      // Act
      const human = await env.cli(['dlq', 'show', id]);
      const json = await env.cli(['dlq', 'show', id, '--json']);

      // Assess
      expect(human.code).toBe(0);
      expect(human.stdout).toContain(`Message id:           ${id}`);
      expect(human.stdout).toContain('Reason:               test rate_limited');
      expect(human.stdout).toContain('Next step:            test hint');
      expect(human.stdout).toContain('Eligible for redrive: 2026-11-28 10:00 UTC (in 2d 22h)');
      expect(human.stdout).toContain('Budget:               10/10 in 72 h (all)');
      expect(human.stdout).toMatch(/2026-11-25 09:00 UTC\s+register\s+rejected\s+133005\s+400\s+TrAcE1\s+210 ms/);
      expect(human.stdout).toMatch(/2026-11-25 10:00 UTC\s+register\s+rejected\s+133016\s+400\s+TrAcE2\s+180 ms/);
      expect(JSON.parse(json.stdout)).toEqual({ messageId: id, category: 'rate_limited', envelope: limited });
      expect(await env.count(env.stack.deadLetterQueueUrl)).toEqual({ visible: 1, inFlight: 0 });
    });

    it('never prints a PIN or token, even one a faulty producer left in an envelope', async () => {
      // Prepare: an envelope as an older, buggier worker might have written it.
      const leaky = {
        ...envelope({ category: 'invalid_job' }),
        rawBody: '{"action":"register","phoneNumberId":"6500","pin":"012345"}',
        graphError: { code: 100, message: 'bad request for https://graph.example/6500/register?access_token=EAAGsecret&pin=012345' },
        reason: 'Authorization: Bearer EAAGsecretToken was refused',
      };
      await sink.send(leaky as DeadLetterEnvelopeV1);
      const id = (JSON.parse((await env.cli(['dlq', 'list', '--json'])).stdout).messages as ListRow[])[0]!.messageId;

      // Act
      const outputs = [await env.cli(['dlq', 'show', id]), await env.cli(['dlq', 'show', id, '--json']), await env.cli(['dlq', 'list', '--json'])];

      // Assess
      for (const output of outputs) {
        expect(output.code).toBe(0);
        expect(output.stdout + output.stderr).not.toMatch(/012345|EAAGsecret/);
      }
      expect(outputs[0]!.stdout).toContain('"pin":"[REDACTED]"');
    });

    it('fails with exit code 1 for an id that is not there', async () => {
      const run = await env.cli(['dlq', 'show', 'no-such-id']);

      expect(run.code).toBe(1);
      expect(run.stderr).toContain('no dead-letter no-such-id is readable on the queue');
    });
  });

  describe('redrive', () => {
    it('--eligible sends back only rate-limited jobs whose window has reopened, as the clock moves', async () => {
      // Prepare
      const soon = envelope({ category: 'rate_limited', phoneNumberId: '6600', eligibleAt: hoursFrom(NOW, 1), redriveGeneration: 1 });
      const later = envelope({ category: 'rate_limited', phoneNumberId: '6601', eligibleAt: hoursFrom(NOW, 5) });
      const wrongPin = envelope({ category: 'permanent_error', phoneNumberId: '6602', code: 133005 });
      await seed(soon, later, wrongPin);

      // Act
      const before = await env.cli(['dlq', 'redrive', '--eligible']);
      env.clock.set(hoursFrom(NOW, 2));
      const first = await env.cli(['dlq', 'redrive', '--eligible']);
      const afterFirst = await jobQueue();
      env.clock.set(hoursFrom(NOW, 6));
      const second = await env.cli(['dlq', 'redrive', '--eligible', '--json']);

      // Assess
      expect(before.stdout).toMatch(/^Redrove 0 dead-letter\(s\)\./);
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/^Redrove 1 dead-letter\(s\)\./);
      expect(afterFirst).toHaveLength(1);
      expect(JSON.parse(afterFirst[0]!.Body!)).toMatchObject({ phoneNumberId: '6600', idempotencyKey: soon.jobKey });
      expect(afterFirst[0]!.MessageAttributes?.[REDRIVE_GENERATION_ATTRIBUTE]?.StringValue).toBe('2');
      expect(JSON.parse(second.stdout).redriven.map((job: { phoneNumberId: string; generation: number }) => [job.phoneNumberId, job.generation])).toEqual([['6601', 1]]);
      const left = await receiveAll(env.sqs, env.stack.deadLetterQueueUrl, 0);
      expect(left.map((message) => JSON.parse(message.Body!).jobKey)).toEqual([wrongPin.jobKey]);
    });

    it('--dry-run lists what would go and changes nothing', async () => {
      const ready = envelope({ category: 'rate_limited', phoneNumberId: '6700', eligibleAt: hoursFrom(NOW, -1) });
      await seed(ready, envelope({ category: 'permanent_error', phoneNumberId: '6701', code: 133005 }));

      const run = await env.cli(['dlq', 'redrive', '--all', '--dry-run']);

      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Would redrive 1 dead-letter\(s\) \(dry run: nothing changed\)\./);
      expect(run.stdout).toContain(ready.jobKey);
      expect(run.stdout).toMatch(/permanent_error\s+permanent_error is redriven only by id, once the cause is fixed/);
      expect(await jobQueue()).toHaveLength(0);
      expect(await env.count(env.stack.deadLetterQueueUrl)).toEqual({ visible: 2, inFlight: 0 });
    });

    it('--all takes eligible rate-limited, missing-secret and retries-exhausted jobs, held ones whose hold is gone, never permanent or invalid ones', async () => {
      await seed(
        envelope({ category: 'rate_limited', phoneNumberId: '6800', eligibleAt: hoursFrom(NOW, -1) }),
        envelope({ category: 'rate_limited', phoneNumberId: '6801', eligibleAt: hoursFrom(NOW, 3) }),
        envelope({ category: 'missing_secret', phoneNumberId: '6802' }),
        envelope({ category: 'retries_exhausted', phoneNumberId: '6803' }),
        envelope({ category: 'permanent_error', phoneNumberId: '6804', code: 133005 }),
        envelope({ category: 'needs_verification', phoneNumberId: '6805', code: 133006 }),
        envelope({ category: 'invalid_job' }),
      );

      const run = await env.cli(['dlq', 'redrive', '--all']);

      // Assess: the ledger holds nothing for 6805, so its verification hold counts as cleared (the worker's pre-flight
      // read still checks the number before any register).
      expect(run.code).toBe(0);
      expect((await jobQueue()).map((message) => JSON.parse(message.Body!).phoneNumberId).sort()).toEqual(['6800', '6802', '6803', '6805']);
      expect((await env.count(env.stack.deadLetterQueueUrl)).visible).toBe(3);
    });

    it('--id redrives a permanent failure once fixed, refuses jobless or not-yet-eligible ones, and reports unknown ids', async () => {
      const wrongPin = envelope({ category: 'permanent_error', phoneNumberId: '6900', code: 133005 });
      const invalid = envelope({ category: 'invalid_job' });
      const early = envelope({ category: 'rate_limited', phoneNumberId: '6901', eligibleAt: hoursFrom(NOW, 10) });
      const rows = await seed(wrongPin, invalid, early);
      const id = (item: DeadLetterEnvelopeV1) => rows.get(item.jobKey)!.messageId;

      const fixed = await env.cli(['dlq', 'redrive', '--id', id(wrongPin)]);
      const jobless = await env.cli(['dlq', 'redrive', '--id', id(invalid)]);
      const tooEarly = await env.cli(['dlq', 'redrive', '--id', id(early)]);
      const unknown = await env.cli(['dlq', 'redrive', '--id', 'no-such-id']);
      const forced = await env.cli(['dlq', 'redrive', '--id', id(early), '--force']);

      expect(fixed.code).toBe(0);
      expect(jobless.code).toBe(1);
      expect(jobless.stdout).toContain('not a valid job, so there is nothing to send');
      expect(tooEarly.code).toBe(1);
      expect(tooEarly.stdout).toContain('not eligible until 2026-11-25T22:00:00.000Z (pass --force to send it anyway)');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('not found: no-such-id');
      expect(forced.code).toBe(0);
      expect((await jobQueue()).map((message) => JSON.parse(message.Body!).phoneNumberId).sort()).toEqual(['6900', '6901']);
      expect((await env.count(env.stack.deadLetterQueueUrl)).visible).toBe(1);
    });

    it('an interrupted redrive (sent, not deleted) neither loses nor duplicates the job when run again', async () => {
      // Prepare
      const ready = envelope({ category: 'rate_limited', phoneNumberId: '7000', code: 133016, eligibleAt: hoursFrom(NOW, -1), redriveGeneration: 3 });
      await seed(ready);
      let crashes = 1;
      const flakyDelete = async (message: DeadLetter) => {
        if (crashes-- > 0) throw new Error('simulated crash between send and delete');
        await deleteDeadLetter(env.sqs, env.stack.deadLetterQueueUrl, message);
      };

      // Act
      const interrupted = await env.cli(['dlq', 'redrive', '--eligible'], { redriveDelete: flakyDelete });
      const between = { jobs: await env.count(env.stack.jobQueueUrl), dlq: await env.count(env.stack.deadLetterQueueUrl) };
      const again = await env.cli(['dlq', 'redrive', '--eligible'], { redriveDelete: flakyDelete });

      // Assess
      expect(interrupted.code).toBe(1);
      expect(interrupted.stderr).toContain('the job went back to the job queue but stays on the dead-letter queue (simulated crash between send and delete)');
      expect(between).toEqual({ jobs: { visible: 1, inFlight: 0 }, dlq: { visible: 1, inFlight: 0 } });
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/^Redrove 1 dead-letter\(s\)\./);
      const jobs = await jobQueue();
      expect(jobs).toHaveLength(1);
      expect(JSON.parse(jobs[0]!.Body!).idempotencyKey).toBe(ready.jobKey);
      expect(jobs[0]!.MessageAttributes?.[REDRIVE_GENERATION_ATTRIBUTE]?.StringValue).toBe('4');
      expect(await env.count(env.stack.deadLetterQueueUrl)).toEqual({ visible: 0, inFlight: 0 });
    });

    it('gets past a FIFO group head: all 12 eligible dead-letters of one number go back, in order', async () => {
      const envelopes = Array.from({ length: 12 }, () => envelope({ category: 'rate_limited', phoneNumberId: '7100', eligibleAt: hoursFrom(NOW, -1) }));
      for (const item of envelopes) await sink.send(item);

      const run = await env.cli(['dlq', 'redrive', '--eligible', '--json']);

      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout).redriven.map((job: { jobKey: string }) => job.jobKey)).toEqual(envelopes.map((item) => item.jobKey));
      expect(await env.count(env.stack.deadLetterQueueUrl)).toEqual({ visible: 0, inFlight: 0 });
      expect((await env.count(env.stack.jobQueueUrl)).visible).toBe(12);
    });

    it('needs exactly one of --id, --eligible, --all', async () => {
      const none = await env.cli(['dlq', 'redrive']);
      const two = await env.cli(['dlq', 'redrive', '--eligible', '--all']);

      expect([none.code, two.code]).toEqual([2, 2]);
      expect(none.stderr).toBe('wa-registrar: dlq redrive needs exactly one of --id ID, --eligible or --all\n');
    });
  });

  describe('purge', () => {
    async function seedTwo() {
      const doomed = envelope({ category: 'invalid_job' });
      const kept = envelope({ category: 'permanent_error', phoneNumberId: '7200', code: 133005 });
      const rows = await seed(doomed, kept);
      return { doomedId: rows.get(doomed.jobKey)!.messageId, keptKey: kept.jobKey };
    }
    const leftKeys = async () => (await receiveAll(env.sqs, env.stack.deadLetterQueueUrl, 0)).map((message) => JSON.parse(message.Body!).jobKey);

    it('refuses without a terminal and without --yes, deleting nothing', async () => {
      const { doomedId } = await seedTwo();

      const run = await env.cli(['dlq', 'purge', '--id', doomedId]);

      expect(run.code).toBe(2);
      expect(run.stderr).toContain('there is no terminal to ask on; pass --yes to confirm in a script');
      expect(await leftKeys()).toHaveLength(2);
    });

    it('asks on a terminal: "no" keeps the message, "yes" deletes only it', async () => {
      const { doomedId, keptKey } = await seedTwo();
      const questions: string[] = [];
      const answer = (reply: string) => ({ stdinIsTTY: true, prompt: async (question: string) => (questions.push(question), reply) });

      const declined = await env.cli(['dlq', 'purge', '--id', doomedId], answer('no'));
      const afterDecline = await leftKeys();
      const accepted = await env.cli(['dlq', 'purge', '--id', doomedId], answer('yes'));

      expect(declined.code).toBe(1);
      expect(declined.stdout).toBe('Cancelled; nothing was deleted.\n');
      expect(declined.stderr).toContain(doomedId);
      expect(afterDecline).toHaveLength(2);
      expect(questions[0]).toContain('Delete these 1 dead-letter(s) for good? This cannot be undone.');
      expect(accepted.code).toBe(0);
      expect(accepted.stdout).toBe(`Deleted 1 dead-letter(s): ${doomedId}.\n`);
      expect(await leftKeys()).toEqual([keptKey]);
    });

    it('--yes deletes without asking; an unknown id fails', async () => {
      const { doomedId, keptKey } = await seedTwo();

      const run = await env.cli(['dlq', 'purge', '--id', doomedId, '--yes']);
      const unknown = await env.cli(['dlq', 'purge', '--id', doomedId, '--yes']);

      expect(run.code).toBe(0);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain(`not found: ${doomedId}`);
      expect(await leftKeys()).toEqual([keptKey]);
    });
  });
});
