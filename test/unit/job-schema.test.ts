import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deadLetterEnvelopeV1Schema } from '../../shared/jobs/dlq-envelope.v1.ts';
import { parseJob, validateJob } from '../../shared/jobs/job.v1.ts';
import { toJobMessage, InvalidJobError } from '../../shared/jobs/enqueue.ts';
import { jobJsonSchema } from '../../shared/jobs/json-schema.ts';

const fixtures = (kind: string) => {
  const dir = join(import.meta.dirname, '..', 'fixtures', kind, 'v1');
  return readdirSync(dir).map((name) => [name, readFileSync(join(dir, name), 'utf8')] as const);
};

describe('job schema v1', () => {
  it.each(fixtures('jobs'))('parses fixture %s', (_name, body) => {
    expect(parseJob(body)).toMatchObject({ ok: true });
  });

  it('defaults reason to manual and schemaVersion to 1', () => {
    expect(parseJob('{"action":"deregister","phoneNumberId":"1"}')).toEqual({
      ok: true,
      job: { schemaVersion: 1, action: 'deregister', phoneNumberId: '1', reason: 'manual' },
    });
  });

  it.each([
    [{ action: 'register', phoneNumberId: '123456789012345678901' }, /1-20 digits/],
    [{ action: 'register', phoneNumberId: 106540352242922 }, /phoneNumberId/],
    [{ action: 'register', phoneNumberId: '1', dataLocalizationRegion: 'US' }, /must be one of/],
    [{ action: 'deregister', phoneNumberId: '1', dataLocalizationRegion: 'CH' }, /use set_localization/],
    [{ action: 'register', phoneNumberId: '1', reason: 'because' }, /reason/],
    [{ action: 'register', phoneNumberId: '1', idempotencyKey: 'has space' }, /idempotencyKey/],
    [{ action: 'register', phoneNumberId: '1', token: 'EAAG' }, /found "token"/],
    [{ action: 'register', phoneNumberId: '1', schemaVersion: 2 }, /schemaVersion/],
  ])('rejects %j', (job, message) => {
    const result = validateJob(job);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(message);
  });

  it('never echoes the value of a secret field in its error', () => {
    const result = validateJob({ action: 'register', phoneNumberId: '1', pin: '013579' });
    expect(!result.ok && result.error).not.toContain('013579');
  });

  it('publishes a JSON Schema generated from the zod schema, checked in as schema/job.v1.json', () => {
    const checkedIn = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'schema', 'job.v1.json'), 'utf8'));
    expect(checkedIn).toEqual(jobJsonSchema());
    expect(checkedIn.properties.phoneNumberId.pattern).toBe('^\\d{1,20}$');
  });
});

describe('typed enqueue message', () => {
  it('uses the number as FIFO group and the idempotency key for deduplication', () => {
    const a = toJobMessage({ action: 'register', phoneNumberId: '42', idempotencyKey: 'k1' });
    const b = toJobMessage({ action: 'register', phoneNumberId: '42', idempotencyKey: 'k1' });
    const redriven = toJobMessage({ action: 'register', phoneNumberId: '42', idempotencyKey: 'k1' }, { redriveGeneration: 1 });
    expect(a.MessageGroupId).toBe('42');
    expect(a.MessageDeduplicationId).toBe(b.MessageDeduplicationId);
    expect(redriven.MessageDeduplicationId).not.toBe(a.MessageDeduplicationId);
    expect(JSON.parse(a.MessageBody!)).toMatchObject({ idempotencyKey: 'k1', reason: 'manual' });
  });

  it('gives a job without a key a fresh one and refuses invalid jobs before sending', () => {
    expect(JSON.parse(toJobMessage({ action: 'deregister', phoneNumberId: '42' }).MessageBody!).idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(() => toJobMessage({ action: 'register', phoneNumberId: 'abc' })).toThrow(InvalidJobError);
  });
});

describe('dead-letter envelope v1', () => {
  it.each(fixtures('dlq'))('parses fixture %s', (_name, body) => {
    expect(deadLetterEnvelopeV1Schema.safeParse(JSON.parse(body)).success).toBe(true);
  });
});

describe('job schema v1: the lifecycle fields', () => {
  it.each([
    [{ action: 'deregister', phoneNumberId: '1', pinPolicy: 'provision-if-missing' }, /pinPolicy: pinPolicy provision-if-missing is for register jobs only/],
    [{ action: 'register', phoneNumberId: '1', pinPolicy: 'always' }, /pinPolicy: Invalid option/],
    [{ action: 'migrate', phoneNumberId: '1', dataLocalizationRegion: 'DE' }, /dataLocalizationRegion: dataLocalizationRegion has no meaning for migrate/],
    [{ action: 'register', phoneNumberId: '1', businessAccountId: 'waba-1' }, /businessAccountId: businessAccountId must be 1-20 digits/],
  ])('refuses %j with a sentence naming the field', (job, message) => {
    const result = validateJob(job);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(message);
  });

  it('accepts a migrate job, a provisioning register, and a business id', () => {
    expect(validateJob({ action: 'migrate', phoneNumberId: '1', reason: 'migration' })).toMatchObject({ ok: true });
    expect(validateJob({ action: 'register', phoneNumberId: '1', pinPolicy: 'provision-if-missing', businessAccountId: '102290129340398' })).toMatchObject({
      ok: true,
      job: { pinPolicy: 'provision-if-missing', businessAccountId: '102290129340398' },
    });
  });
});
