import { z } from 'zod';
import { DEAD_LETTER_ALLOW, redactDeep, type RedactionAllowRule } from '../domain/redaction.ts';

/**
 * The event resolver's dead letter, version 1: an event no retry can resolve, with what a person needs to act. It goes
 * to the resolver's dead-letter queue (EVENTS_DEAD_LETTER_QUEUE_URL), where SQS also moves events whose Graph reads
 * kept failing (those arrive as the raw EventBridge event, not in this envelope). This module is the only definition.
 */
export const EVENT_DEAD_LETTER_KIND = 'wa-registrar.event-dead-letter';

/** Why an event was dead-lettered. */
export const EVENT_DEAD_LETTER_REASON_NAMES = ['unknown_number', 'invalid_event'] as const;
export type EventDeadLetterReason = (typeof EVENT_DEAD_LETTER_REASON_NAMES)[number];

/** What to do about each reason: the envelope's `hint`. */
export const EVENT_DEAD_LETTER_HINTS: Record<EventDeadLetterReason, string> = {
  unknown_number:
    "No number of the business account shows this display number in Meta's list, read after the change happened. " +
    'Check the WABA in WhatsApp Manager; if the number is there, put the event on the bus again (or a ReRegistrationRequested ' +
    'with its phoneNumberId) once the list shows it.',
  invalid_event: 'The message is not a wa-registrar event (shared/events/registrar-events.v1.ts). Fix the publisher; this copy is kept as evidence only.',
};

const isoTime = z.iso.datetime();

export const eventDeadLetterV1Schema = z.object({
  kind: z.literal(EVENT_DEAD_LETTER_KIND),
  schemaVersion: z.literal(1),
  reason: z.enum(EVENT_DEAD_LETTER_REASON_NAMES),
  /** One sentence: what could not be done, naming the business account and the display number. */
  detail: z.string(),
  hint: z.string(),
  detailType: z.string().optional(),
  businessAccountId: z.string().optional(),
  /** As the webhook gave it. */
  displayPhoneNumber: z.string().optional(),
  changeId: z.string().optional(),
  occurredAt: isoTime.optional(),
  /** When Meta's number list that lacks the number was read. */
  listedAt: isoTime.optional(),
  deadLetteredAt: isoTime,
  /** The SQS message id of the event on the resolver's queue. */
  sourceMessageId: z.string(),
  /** The event's detail as received, redacted like job envelopes (events hold no secrets; this is the backstop). */
  event: z.unknown().optional(),
  /** invalid_event: the body, redacted and cut like an invalid job's. */
  rawBody: z.string().optional(),
});

export type EventDeadLetterV1 = z.output<typeof eventDeadLetterV1Schema>;

/** Ids and facts a person needs verbatim; everything else gets the job envelopes' redaction. */
const EVENT_DEAD_LETTER_ALLOW: readonly RedactionAllowRule[] = [
  ...DEAD_LETTER_ALLOW,
  'kind',
  'businessAccountId',
  'displayPhoneNumber',
  'changeId',
  'requestId',
];

/** The envelope after a final redaction pass (the same rules as job dead letters, with the event's ids kept). */
export function redactEventDeadLetter(envelope: EventDeadLetterV1): EventDeadLetterV1 {
  return redactDeep(envelope, EVENT_DEAD_LETTER_ALLOW) as EventDeadLetterV1;
}
