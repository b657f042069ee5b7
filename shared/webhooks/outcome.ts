import type { EventDetailType } from '../events/registrar-events.v1.ts';

/**
 * What one webhook request came to, as a value: the receiver's metrics and log line are derived from it, and the
 * tests and the local run read it through the receiver's `onOutcome` hook (never from log lines).
 */

/** Why a request was refused before anything in its body was read. */
export const WEBHOOK_REJECT_REASONS = [
  'signature_missing',
  'signature_malformed',
  'signature_mismatch',
  'too_large',
  'method_not_allowed',
  'handshake_refused',
] as const;
export type WebhookRejectReason = (typeof WEBHOOK_REJECT_REASONS)[number];

/** Why a verified body, or one change in it, publishes nothing (answered 200: Meta must not redeliver it). */
export const WEBHOOK_IGNORE_REASONS = [
  /** The body is not JSON. */
  'unparseable',
  /** `object` is not whatsapp_business_account, or the envelope has another shape. */
  'unknown_object',
  /** An entry without a readable id, time or changes. */
  'unknown_entry',
  /** A `field` the receiver has no row for. */
  'unknown_field',
  /** A known field whose `value` has another shape than the row reads. */
  'unknown_payload',
  /** A known field whose `event` the row does not publish (a security event other than the PIN ones). */
  'unknown_event',
  /** The mapped detail fails the event contract's schema. */
  'invalid_detail',
] as const;
export type WebhookIgnoreReason = (typeof WEBHOOK_IGNORE_REASONS)[number];

/** Where a change that was not published in this delivery failed; the request is answered 500 so Meta redelivers. */
export const WEBHOOK_FAILURE_STAGES = ['secret', 'claim', 'publish', 'in_progress'] as const;
type WebhookFailureStage = (typeof WEBHOOK_FAILURE_STAGES)[number];

export type WebhookOutcome =
  | { kind: 'handshake'; status: 200 | 400 }
  | { kind: 'rejected'; status: 401 | 403 | 405 | 413; reason: WebhookRejectReason }
  /** A secret could not be read (Secrets Manager failed): answered 500. */
  | { kind: 'failed'; status: 500; stage: 'secret' }
  | {
      kind: 'delivery';
      status: 200 | 500;
      /** Ignored bodies or changes, one reason each. */
      ignored: WebhookIgnoreReason[];
      /** Events this delivery put on the bus. */
      published: Array<{ detailType: EventDetailType; changeId: string }>;
      /** Changes that were already published (redeliveries and duplicates). */
      duplicates: string[];
      /** Changes this delivery could not publish, by stage (with the error's name, if one was thrown or returned). */
      failed: Array<{ changeId: string; stage: Exclude<WebhookFailureStage, 'secret'>; error?: string }>;
      /** Published, but the marker could not be set: a later copy of the change may publish it again. */
      unmarked: string[];
    };
