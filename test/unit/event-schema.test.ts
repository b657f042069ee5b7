import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventsJsonSchema } from '../../shared/events/json-schema.ts';
import { EVENT_DETAIL_TYPES, EVENT_SOURCE, parseRegistrarEvent, WEBHOOK_DETAIL_TYPES } from '../../shared/events/registrar-events.v1.ts';
import { readWebhook } from '../../shared/webhooks/meta-webhook.ts';

const fixturesDir = join(import.meta.dirname, '..', 'fixtures');
const eventFixtures = readdirSync(join(fixturesDir, 'events', 'v1')).map(
  (name) => [name, JSON.parse(readFileSync(join(fixturesDir, 'events', 'v1', name), 'utf8')) as Record<string, unknown>] as const,
);

describe('event contract v1', () => {
  it('has one versioned fixture per detail type', () => {
    expect(eventFixtures.map(([, event]) => event['detail-type']).sort()).toEqual([...EVENT_DETAIL_TYPES].sort());
  });

  it.each(eventFixtures)('parses fixture %s', (_name, event) => {
    expect(parseRegistrarEvent(event)).toMatchObject({ ok: true });
    if ((WEBHOOK_DETAIL_TYPES as readonly unknown[]).includes(event['detail-type'])) expect(event.source).toBe(EVENT_SOURCE);
  });

  it.each([
    ['name-approved.json', 'PhoneNumberNameUpdated.json'],
    ['security-pin-changed.json', 'PinChanged.json'],
    ['security-pin-reset-request.json', 'PinResetRequested.json'],
    ['account-update-restriction.json', 'AccountUpdated.json'],
  ])('the webhook %s still becomes the event fixture %s', (webhook, eventName) => {
    // Prepare
    const expected = eventFixtures.find(([name]) => name === eventName)![1];
    // Act
    const reading = readWebhook(readFileSync(join(fixturesDir, 'webhooks', webhook)));
    // Assess
    expect(reading).toEqual({ kind: 'changes', changes: [{ kind: 'event', changeId: (expected.detail as { changeId: string }).changeId, detailType: expected['detail-type'], detail: expected.detail }] });
  });

  it('publishes a JSON Schema generated from the zod schemas, checked in as schema/events.v1.json', () => {
    const checkedIn = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'schema', 'events.v1.json'), 'utf8'));
    expect(checkedIn).toEqual(eventsJsonSchema());
    expect(Object.keys(checkedIn.$defs).sort()).toEqual([...EVENT_DETAIL_TYPES].sort());
    expect(checkedIn.$defs.PhoneNumberNameUpdated.properties.changeId.pattern).toBe('^[0-9a-f]{64}$');
  });
});
