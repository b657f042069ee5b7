import { createHash } from 'node:crypto';
import { z } from 'zod';
import { EVENT_SCHEMAS, type WEBHOOK_DETAIL_TYPES } from '../events/registrar-events.v1.ts';
import type { WebhookIgnoreReason } from './outcome.ts';

/**
 * Meta's WhatsApp Business Account webhooks, read into wa-registrar's events (shared/events/registrar-events.v1.ts).
 * Pure: no I/O, no clock. Each `entry[].changes[]` item becomes one event, or one ignore reason.
 */

export const WEBHOOK_OBJECT = 'whatsapp_business_account';

/** What a webhook change can become: the contract's webhook detail types. */
type WebhookDetailType = (typeof WEBHOOK_DETAIL_TYPES)[number];

/** The envelope, read loosely: a malformed entry is ignored on its own, the other entries still count. */
const envelopeSchema = z.looseObject({ object: z.literal(WEBHOOK_OBJECT), entry: z.array(z.unknown()) });

const entrySchema = z.looseObject({
  /** The WABA id: Meta sends it as a string of digits. */
  id: z.string().regex(/^\d{1,20}$/),
  /** Unix seconds; bounded so it always makes a valid ISO time. */
  time: z.number().int().positive().max(99_999_999_999),
  changes: z.array(z.looseObject({ field: z.string(), value: z.unknown() })),
});

/** A display number as Meta writes it: digits, as a string (a JSON number is accepted and kept as its digits). */
const metaPhone = z.union([z.string(), z.number().int().nonnegative()]).transform(String);
const nullableText = z.string().nullable().optional();

/** One row per webhook field: what the value must look like, which event it becomes, and the event's own fields. */
interface FieldRow {
  /** Meta's `value`, as far as the row reads it (other keys are allowed and dropped). */
  value: z.ZodType;
  /** The event for this value, or undefined when the row does not publish it (counted as `unknown_event`). */
  detailType(value: never): WebhookDetailType | undefined;
  /** The event's fields beyond what every webhook event carries (schemaVersion, businessAccountId, occurredAt, changeId). */
  detail(value: never): Record<string, unknown>;
}

/** Declares a row with its value type inferred from the schema. */
const row = <S extends z.ZodType>(r: { value: S; detailType(value: z.output<S>): WebhookDetailType | undefined; detail(value: z.output<S>): Record<string, unknown> }): FieldRow =>
  r as unknown as FieldRow;

/** The `security` events wa-registrar publishes; Meta's full list is not documented, so others are counted only. */
export const SECURITY_EVENTS: Readonly<Record<string, WebhookDetailType>> = {
  PIN_CHANGED: 'PinChanged',
  PIN_RESET_REQUEST: 'PinResetRequested',
  // Seen spelled both ways; the reference documents PIN_RESET_REQUEST.
  PIN_RESET_REQUESTED: 'PinResetRequested',
};

const isoFromSeconds = (seconds: number) => new Date(seconds * 1000).toISOString();
const unixSeconds = z.union([z.number().int().nonnegative().max(99_999_999_999), z.string().regex(/^\d{1,11}$/).transform(Number)]);

/** The field → event table. A field without a row is counted as `unknown_field`. */
export const FIELD_TABLE: Readonly<Record<string, FieldRow>> = {
  phone_number_name_update: row({
    value: z.looseObject({
      display_phone_number: metaPhone,
      decision: z.string(),
      requested_verified_name: nullableText,
      rejection_reason: nullableText,
    }),
    detailType: () => 'PhoneNumberNameUpdated',
    detail: (value) => ({
      displayPhoneNumber: value.display_phone_number,
      decision: value.decision,
      ...(value.requested_verified_name !== undefined ? { requestedVerifiedName: value.requested_verified_name } : {}),
      ...(value.rejection_reason !== undefined ? { rejectionReason: value.rejection_reason } : {}),
    }),
  }),
  security: row({
    value: z.looseObject({ display_phone_number: metaPhone, event: z.string(), requester: z.string().optional() }),
    detailType: (value) => SECURITY_EVENTS[value.event],
    detail: (value) => ({
      displayPhoneNumber: value.display_phone_number,
      event: value.event,
      ...(value.requester !== undefined ? { requester: value.requester } : {}),
    }),
  }),
  account_update: row({
    value: z.looseObject({
      event: z.string(),
      phone_number: metaPhone.optional(),
      restriction_info: z.array(z.looseObject({ restriction_type: z.string(), expiration: unixSeconds.optional() })).optional(),
      // Meta's reference shows the state both as a string and as a one-element list.
      ban_info: z.looseObject({ waba_ban_state: z.union([z.string(), z.tuple([z.string()]).transform(([state]) => state)]).optional() }).optional(),
    }),
    detailType: () => 'AccountUpdated',
    detail: (value) => ({
      event: value.event,
      ...(value.phone_number !== undefined ? { displayPhoneNumber: value.phone_number } : {}),
      ...(value.restriction_info !== undefined
        ? {
            restrictions: value.restriction_info.map((restriction) => ({
              type: restriction.restriction_type,
              ...(restriction.expiration !== undefined ? { expiresAt: isoFromSeconds(restriction.expiration) } : {}),
            })),
          }
        : {}),
      ...(value.ban_info?.waba_ban_state !== undefined ? { banState: value.ban_info.waba_ban_state } : {}),
    }),
  }),
};

/** One change, read: an event ready to publish, or why it publishes nothing (with the schema paths at fault, no values). */
export type ChangeReading =
  | { kind: 'event'; changeId: string; detailType: WebhookDetailType; detail: Record<string, unknown> }
  | { kind: 'ignored'; reason: WebhookIgnoreReason; changeId?: string; field?: string; problems?: string[] };

/** A webhook body, read: not JSON, not a WABA webhook, or its changes. */
export type WebhookReading = { kind: 'ignored'; reason: 'unparseable' | 'unknown_object' } | { kind: 'changes'; changes: ChangeReading[] };

/** Reads a verified webhook body. Never throws; problems name schema paths and codes, never values. */
export function readWebhook(body: Buffer | string): WebhookReading {
  let json: unknown;
  try {
    json = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    return { kind: 'ignored', reason: 'unparseable' };
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) return { kind: 'ignored', reason: 'unknown_object' };
  const changes: ChangeReading[] = [];
  for (const rawEntry of envelope.data.entry) {
    const entry = entrySchema.safeParse(rawEntry);
    if (!entry.success) {
      changes.push({ kind: 'ignored', reason: 'unknown_entry', problems: describeIssues(entry.error) });
      continue;
    }
    for (const change of entry.data.changes) changes.push(readChange(entry.data.id, entry.data.time, change.field, change.value));
  }
  return { kind: 'changes', changes };
}

/** One change through its field's row, then through the event contract's schema. */
function readChange(businessAccountId: string, time: number, field: string, value: unknown): ChangeReading {
  const changeId = changeIdOf(field, businessAccountId, time, value);
  const fieldRow = Object.hasOwn(FIELD_TABLE, field) ? FIELD_TABLE[field] : undefined;
  if (!fieldRow) return { kind: 'ignored', reason: 'unknown_field', changeId };
  const parsedValue = fieldRow.value.safeParse(value);
  if (!parsedValue.success) return { kind: 'ignored', reason: 'unknown_payload', changeId, field, problems: describeIssues(parsedValue.error) };
  const detailType = fieldRow.detailType(parsedValue.data as never);
  if (!detailType) return { kind: 'ignored', reason: 'unknown_event', changeId, field };
  const candidate = { schemaVersion: 1, businessAccountId, occurredAt: isoFromSeconds(time), changeId, ...fieldRow.detail(parsedValue.data as never) };
  const detail = EVENT_SCHEMAS[detailType].safeParse(candidate);
  if (!detail.success) return { kind: 'ignored', reason: 'invalid_detail', changeId, field, problems: describeIssues(detail.error) };
  return { kind: 'event', changeId, detailType, detail: detail.data as Record<string, unknown> };
}

/**
 * The key every copy of one change shares: sha256 (hex) of field, entry id, entry time and value, with the value's
 * object keys sorted at every depth so key order does not matter. Meta sends no event id, redelivers for 7 days and
 * duplicates (also across apps), so this is the deduplication key and the downstream job key.
 */
export function changeIdOf(field: string, businessAccountId: string, time: number, value: unknown): string {
  return createHash('sha256').update(canonicalJson([field, businessAccountId, time, value])).digest('hex');
}

/** JSON with object keys sorted at every depth; arrays keep their order (it is meaningful). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Issue paths and codes only: messages and values may echo the body. */
function describeIssues(error: z.ZodError): string[] {
  return error.issues.slice(0, 10).map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.code}`);
}
