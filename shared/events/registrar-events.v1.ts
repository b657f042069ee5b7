import { z } from 'zod';

/**
 * The events wa-registrar puts on its EventBridge bus, version 1: the contract with rules and other systems.
 * The webhook receiver publishes one event per verified, deduplicated webhook change; other systems may put
 * `ReRegistrationRequested` themselves. This module is the only definition; `schema/events.v1.json` is generated
 * from it. Events carry facts as Meta sent them; what they mean for a number is decided by the resolver.
 */
export const EVENT_SOURCE = 'wa-registrar';

export const EVENT_DETAIL_TYPES = [
  'PhoneNumberNameUpdated',
  'PinChanged',
  'PinResetRequested',
  'AccountUpdated',
  'ReRegistrationRequested',
] as const;
export type EventDetailType = (typeof EVENT_DETAIL_TYPES)[number];

/** The detail types the webhook receiver publishes, always with source EVENT_SOURCE; the others may come from any source. */
export const WEBHOOK_DETAIL_TYPES = ['PhoneNumberNameUpdated', 'PinChanged', 'PinResetRequested', 'AccountUpdated'] as const satisfies readonly EventDetailType[];

const digits = (what: string, max = 20) => z.string().regex(new RegExp(`^\\d{1,${max}}$`), `${what} must be 1-${max} digits`);
const isoTime = z.iso.datetime();

/** What every event from a webhook change carries: where it came from and the key every copy of it shares. */
const fromWebhook = {
  schemaVersion: z.literal(1),
  /** The WhatsApp Business Account id (the webhook's `entry[].id`). */
  businessAccountId: digits('businessAccountId'),
  /** `entry[].time`, as ISO 8601: when Meta says the change happened. */
  occurredAt: isoTime,
  /** sha256 (hex) of field, entry id, entry time and value: the same change delivered again has the same id. */
  changeId: z.string().regex(/^[0-9a-f]{64}$/, 'changeId must be a sha256 hex digest'),
};

/** The display number as Meta's webhook gives it (digits; the resolver strips anything else on both sides). */
const displayPhoneNumber = z.string().min(1).max(40);

/** Meta's decisions; others may appear and are recorded only. */
export const NAME_DECISIONS = ['APPROVED', 'DEFERRED', 'PENDING', 'REJECTED'] as const;

const phoneNumberNameUpdatedSchema = z.strictObject({
  ...fromWebhook,
  displayPhoneNumber,
  decision: z.string().min(1).max(64).describe(`One of ${NAME_DECISIONS.join(', ')}; unknown values are kept and recorded only.`),
  requestedVerifiedName: z.string().max(512).nullable().optional(),
  rejectionReason: z.string().max(256).nullable().optional(),
});

/** The `security` webhook: PIN_CHANGED → PinChanged, PIN_RESET_REQUEST → PinResetRequested. */
const pinEventSchema = z.strictObject({
  ...fromWebhook,
  displayPhoneNumber,
  /** Meta's `event` value, as sent. */
  event: z.string().min(1).max(64),
  requester: z.string().max(256).optional(),
});

/** The `account_update` webhook, with the facts the resolver's table reads. */
const accountUpdatedSchema = z.strictObject({
  ...fromWebhook,
  /** Meta's `event` value (ACCOUNT_RESTRICTION, DISABLED_UPDATE, ACCOUNT_DELETED, ...). */
  event: z.string().min(1).max(64),
  displayPhoneNumber: displayPhoneNumber.optional(),
  /** `restriction_info[]`: empty or absent on an update that lifts restrictions. */
  restrictions: z.array(z.strictObject({ type: z.string().max(128), expiresAt: isoTime.optional() })).max(50).optional(),
  /** `ban_info.waba_ban_state` (SCHEDULE_FOR_DISABLE, DISABLE, REINSTATE). */
  banState: z.string().max(64).optional(),
});

/** Put by other systems (any source) to ask for one re-registration of a number. */
const reRegistrationRequestedSchema = z.strictObject({
  schemaVersion: z.literal(1),
  phoneNumberId: digits('phoneNumberId'),
  /** Idempotency: the same request id ends in one job, however often the event is put. */
  requestId: z.string().regex(/^[A-Za-z0-9_.:#-]{1,64}$/, 'requestId must be 1-64 characters of A-Z a-z 0-9 _ . : # -'),
  reason: z.enum(['name_change', 'manual']).default('name_change'),
  businessAccountId: digits('businessAccountId').optional(),
});

export const EVENT_SCHEMAS = {
  PhoneNumberNameUpdated: phoneNumberNameUpdatedSchema,
  PinChanged: pinEventSchema,
  PinResetRequested: pinEventSchema,
  AccountUpdated: accountUpdatedSchema,
  ReRegistrationRequested: reRegistrationRequestedSchema,
} as const satisfies Record<EventDetailType, z.ZodType>;

export type PhoneNumberNameUpdated = z.output<typeof phoneNumberNameUpdatedSchema>;
export type PinEvent = z.output<typeof pinEventSchema>;
export type AccountUpdated = z.output<typeof accountUpdatedSchema>;
export type ReRegistrationRequested = z.output<typeof reRegistrationRequestedSchema>;

/** One event as the resolver handles it: the detail type and its parsed detail. */
export type RegistrarEvent =
  | { detailType: 'PhoneNumberNameUpdated'; detail: PhoneNumberNameUpdated }
  | { detailType: 'PinChanged' | 'PinResetRequested'; detail: PinEvent }
  | { detailType: 'AccountUpdated'; detail: AccountUpdated }
  | { detailType: 'ReRegistrationRequested'; detail: ReRegistrationRequested };

export type EventParseResult = { ok: true; event: RegistrarEvent } | { ok: false; error: string };

/**
 * Reads an EventBridge event (as an SQS target delivers it: `detail-type` and `detail`) into a typed event.
 * Never throws and never echoes values; errors name the fields.
 */
export function parseRegistrarEvent(raw: unknown): EventParseResult {
  if (typeof raw !== 'object' || raw === null) return { ok: false, error: 'an event must be a JSON object' };
  const detailType = (raw as Record<string, unknown>)['detail-type'];
  if (typeof detailType !== 'string' || !(EVENT_DETAIL_TYPES as readonly string[]).includes(detailType)) {
    return { ok: false, error: `unknown detail-type; expected one of ${EVENT_DETAIL_TYPES.join(', ')}` };
  }
  const schema = EVENT_SCHEMAS[detailType as EventDetailType];
  const parsed = schema.safeParse((raw as Record<string, unknown>).detail);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'detail'}: ${issue.message}`);
    return { ok: false, error: `${detailType}: ${problems.join('; ')}` };
  }
  return { ok: true, event: { detailType, detail: parsed.data } as RegistrarEvent };
}
