import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRegistrarEvent } from '../../shared/events/registrar-events.v1.ts';
import { canonicalJson, changeIdOf, FIELD_TABLE, readWebhook, SECURITY_EVENTS, WEBHOOK_OBJECT, type ChangeReading } from '../../shared/webhooks/meta-webhook.ts';

const WABA = '102290129340398';
const TIME = 1767225600;
const webhooksDir = join(import.meta.dirname, '..', 'fixtures', 'webhooks');

/** A webhook body with one change. */
const bodyWith = (field: string, value: unknown, entry: Record<string, unknown> = {}) =>
  JSON.stringify({ object: WEBHOOK_OBJECT, entry: [{ id: WABA, time: TIME, changes: [{ field, value }], ...entry }] });

/** The one change of a body. */
function onlyChange(body: string | Buffer): ChangeReading {
  const reading = readWebhook(body);
  if (reading.kind !== 'changes' || reading.changes.length !== 1) throw new Error(`expected one change, got ${JSON.stringify(reading)}`);
  return reading.changes[0]!;
}

describe('the field table', () => {
  it('has a row for each field wa-registrar publishes', () => {
    expect(Object.keys(FIELD_TABLE).sort()).toEqual(['account_update', 'phone_number_name_update', 'security']);
  });

  it.each([
    ['name-approved.json', 'PhoneNumberNameUpdated', { displayPhoneNumber: '15550783881', decision: 'APPROVED', requestedVerifiedName: 'Acme Support', rejectionReason: null }],
    ['name-rejected.json', 'PhoneNumberNameUpdated', { decision: 'REJECTED', rejectionReason: 'NAME_FORMAT_UNACCEPTABLE' }],
    ['name-approved-non-ascii.json', 'PhoneNumberNameUpdated', { requestedVerifiedName: 'Bäckerei Müller – Zürich/Bern 🥨' }],
    ['security-pin-changed.json', 'PinChanged', { displayPhoneNumber: '15550783881', event: 'PIN_CHANGED', requester: '1234567890' }],
    ['security-pin-reset-request.json', 'PinResetRequested', { event: 'PIN_RESET_REQUEST' }],
    [
      'account-update-restriction.json',
      'AccountUpdated',
      {
        event: 'ACCOUNT_RESTRICTION',
        displayPhoneNumber: '15550783881',
        restrictions: [
          { type: 'RESTRICTED_ADD_PHONE_NUMBER_ACTION', expiresAt: '2026-01-11T00:00:00.000Z' },
          { type: 'RESTRICTED_CUSTOMER_INITIATED_MESSAGING', expiresAt: '2026-01-11T00:00:00.000Z' },
        ],
      },
    ],
    ['account-update-restriction-lifted.json', 'AccountUpdated', { event: 'ACCOUNT_RESTRICTION', restrictions: [] }],
    ['account-update-ban-scheduled.json', 'AccountUpdated', { event: 'DISABLED_UPDATE', banState: 'SCHEDULE_FOR_DISABLE' }],
  ])('maps %s to %s', (name, detailType, fields) => {
    // Act
    const change = onlyChange(readFileSync(join(webhooksDir, name)));
    // Assess
    expect(change).toMatchObject({ kind: 'event', detailType, detail: { schemaVersion: 1, businessAccountId: WABA, ...fields } });
  });

  it('reads every webhook fixture into events that fit the contract', () => {
    for (const name of readdirSync(webhooksDir)) {
      const reading = readWebhook(readFileSync(join(webhooksDir, name)));
      expect(reading.kind, name).toBe('changes');
      for (const change of reading.kind === 'changes' ? reading.changes : []) {
        expect(change.kind, name).toBe('event');
        if (change.kind === 'event') expect(parseRegistrarEvent({ 'detail-type': change.detailType, detail: change.detail }), name).toMatchObject({ ok: true });
      }
    }
  });

  it('turns entry.time into occurredAt and fills changeId', () => {
    const change = onlyChange(bodyWith('security', { display_phone_number: '1555', event: 'PIN_CHANGED' }));
    expect(change).toMatchObject({ kind: 'event', detail: { occurredAt: '2026-01-01T00:00:00.000Z', changeId: expect.stringMatching(/^[0-9a-f]{64}$/) } });
  });

  it.each(Object.entries(SECURITY_EVENTS))('maps the security event %s to %s', (event, detailType) => {
    expect(onlyChange(bodyWith('security', { display_phone_number: '1555', event }))).toMatchObject({ kind: 'event', detailType });
  });

  it('accepts PIN_RESET_REQUESTED as well as the documented PIN_RESET_REQUEST', () => {
    expect(SECURITY_EVENTS.PIN_RESET_REQUESTED).toBe('PinResetRequested');
  });

  it('accepts ban_info.waba_ban_state as a one-element list, and an expiration as a numeric string', () => {
    const change = onlyChange(
      bodyWith('account_update', { event: 'DISABLED_UPDATE', ban_info: { waba_ban_state: ['DISABLE'] }, restriction_info: [{ restriction_type: 'X', expiration: '1768089600' }] }),
    );
    expect(change).toMatchObject({ kind: 'event', detail: { banState: 'DISABLE', restrictions: [{ type: 'X', expiresAt: '2026-01-11T00:00:00.000Z' }] } });
  });

  it.each([
    ['an unknown security event', bodyWith('security', { display_phone_number: '1555', event: 'TWO_STEP_DISABLED' }), 'unknown_event'],
    ['an unknown field', bodyWith('messages', { messages: [] }), 'unknown_field'],
    ['a value of another shape', bodyWith('phone_number_name_update', { display_phone_number: '1555' }), 'unknown_payload'],
    ['a detail the contract refuses (empty decision)', bodyWith('phone_number_name_update', { display_phone_number: '1555', decision: '' }), 'invalid_detail'],
    ['an entry without a time', bodyWith('security', {}, { time: undefined }), 'unknown_entry'],
    ['an entry whose id is not digits', bodyWith('security', {}, { id: 'waba' }), 'unknown_entry'],
  ])('ignores %s as %s', (_case, body, reason) => {
    expect(onlyChange(body)).toMatchObject({ kind: 'ignored', reason });
  });

  it('names schema paths, never values, for an ignored change', () => {
    const change = onlyChange(bodyWith('phone_number_name_update', { display_phone_number: 'Sensitive Name', decision: 42 }));
    expect(change).toMatchObject({ kind: 'ignored', reason: 'unknown_payload', problems: ['decision: invalid_type'] });
    expect(JSON.stringify(change)).not.toContain('Sensitive');
  });

  it.each([
    ['not JSON', 'not json {', 'unparseable'],
    ['another object', JSON.stringify({ object: 'page', entry: [] }), 'unknown_object'],
    ['no entry list', JSON.stringify({ object: WEBHOOK_OBJECT }), 'unknown_object'],
  ])('ignores a body that is %s', (_case, body, reason) => {
    expect(readWebhook(body)).toEqual({ kind: 'ignored', reason });
  });

  it('reads every change of every entry, and keeps going past a malformed entry', () => {
    const body = JSON.stringify({
      object: WEBHOOK_OBJECT,
      entry: [
        { id: WABA, time: TIME, changes: [{ field: 'security', value: { display_phone_number: '1', event: 'PIN_CHANGED' } }, { field: 'messages', value: {} }] },
        { id: 'broken' },
        { id: '42', time: TIME, changes: [{ field: 'account_update', value: { event: 'ACCOUNT_DELETED' } }] },
      ],
    });
    const reading = readWebhook(body);
    expect(reading.kind === 'changes' && reading.changes.map((change) => (change.kind === 'event' ? change.detailType : change.reason))).toEqual([
      'PinChanged',
      'unknown_field',
      'unknown_entry',
      'AccountUpdated',
    ]);
  });
});

describe('changeId', () => {
  const value = { display_phone_number: '1555', decision: 'APPROVED', nested: { b: 1, a: [2, { d: 1, c: 2 }] } };
  const reordered = { nested: { a: [2, { c: 2, d: 1 }], b: 1 }, decision: 'APPROVED', display_phone_number: '1555' };

  it('is stable under key order at every depth', () => {
    expect(changeIdOf('phone_number_name_update', WABA, TIME, value)).toBe(changeIdOf('phone_number_name_update', WABA, TIME, reordered));
    expect(canonicalJson(reordered)).toBe('{"decision":"APPROVED","display_phone_number":"1555","nested":{"a":[2,{"c":2,"d":1}],"b":1}}');
  });

  it('is the same for the same change in bodies serialised differently', () => {
    const a = onlyChange(bodyWith('phone_number_name_update', value));
    const b = onlyChange(`{ "entry": [ { "changes": [ { "value": ${JSON.stringify(reordered)}, "field": "phone_number_name_update" } ], "time": ${TIME}, "id": "${WABA}" } ], "object": "${WEBHOOK_OBJECT}" }`);
    expect(a.changeId).toBeDefined();
    expect(b.changeId).toBe(a.changeId);
  });

  it.each([
    ['field', () => changeIdOf('security', WABA, TIME, value)],
    ['entry id', () => changeIdOf('phone_number_name_update', '1', TIME, value)],
    ['entry time', () => changeIdOf('phone_number_name_update', WABA, TIME + 1, value)],
    ['value', () => changeIdOf('phone_number_name_update', WABA, TIME, { ...value, decision: 'REJECTED' })],
    ['array order', () => changeIdOf('phone_number_name_update', WABA, TIME, { ...value, nested: { b: 1, a: [{ d: 1, c: 2 }, 2] } })],
  ])('changes with the %s', (_part, other) => {
    expect(other()).not.toBe(changeIdOf('phone_number_name_update', WABA, TIME, value));
  });
});
