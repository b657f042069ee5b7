import type { DeadLetterCategory } from '../jobs/dlq-envelope.v1.ts';

/** One row of the non-Graph playbook: why the worker dead-letters a job before or without asking Meta. */
export interface ReasonRow {
  category: DeadLetterCategory;
  /** What happened, for the README table. */
  summary: string;
  /** What a person (or the scheduled redrive) does next. */
  hint: string;
}

/**
 * The worker's own dead-letter reasons, beside the Graph error table: nothing was sent for any of them.
 * The README's table is rendered from these rows and checked by a test.
 */
export const DEAD_LETTER_REASONS = {
  invalid_job: {
    category: 'invalid_job',
    summary: 'The message is not a valid job.',
    hint: 'Fix the producer and send a corrected job; this message is kept only as evidence (secrets masked) and is never redriven.',
  },
  key_conflict: {
    category: 'invalid_job',
    summary: 'The idempotency key was already used for a job with different content.',
    hint: 'Send this job again with its own idempotencyKey. The first job with this key is not affected.',
  },
  budget_full: {
    category: 'rate_limited',
    summary: "The number's attempt window (with its margin) has no room for what the job needs.",
    hint: 'The scheduled redrive sends the job back at eligibleAt. Do not call Meta by hand meanwhile.',
  },
  number_blocked: {
    category: 'rate_limited',
    summary: 'Meta blocked the number (133016) and the block has not ended.',
    hint: 'The scheduled redrive sends the job back at eligibleAt, when the block ends.',
  },
  throttle_too_long: {
    category: 'rate_limited',
    summary: 'Meta throttles the app for longer than a job may wait on the queue.',
    hint: 'The scheduled redrive sends the job back when the throttle ends (eligibleAt).',
  },
  missing_token: {
    category: 'missing_secret',
    summary: 'No usable access token in Secrets Manager.',
    hint: 'Store the Graph API token in the token secret (TOKEN_SECRET_ID), then redrive the job by id.',
  },
  missing_pin: {
    category: 'missing_secret',
    summary: "No usable two-step PIN for the number (checked before any deregister, so a saga never strands a number).",
    hint: 'Store the 6-digit PIN as the secret PIN_SECRET_PREFIX + phoneNumberId (a string like "012345", or {"pin":"012345"}), then redrive the job by id.',
  },
  missing_backup: {
    category: 'missing_secret',
    summary: 'A migrate job with no usable On-Premises backup in Secrets Manager (checked before anything is sent).',
    hint: 'Store the backup as JSON {"data": "...", "password": "..."} in the secret BACKUP_SECRET_PREFIX + phoneNumberId, then redrive the job by id.',
  },
  not_on_premises: {
    category: 'permanent_error',
    summary: 'A migrate job for a number the pre-flight read shows is not on the On-Premises API (and not already connected on Cloud API): a backup has nothing to restore.',
    hint: 'Send a register job instead (with the number\'s PIN), or check the phone number id.',
  },
  pin_held: {
    category: 'pin_rejected',
    summary: 'The number is held: Meta refused the PIN version that is still stored.',
    hint: 'Store the right PIN as a new version of the PIN secret (or `wa-registrar hold clear <phoneNumberId>`); the scheduled redrive then sends the job back.',
  },
  pin_locked_held: {
    category: 'pin_locked',
    summary: 'The number is held: Meta checks no PIN for it until eligibleAt.',
    hint: 'After eligibleAt, store a new PIN version if the PIN was wrong (or `hold clear` once sure it is right); the scheduled redrive then sends the job back.',
  },
  pin_changed_held: {
    category: 'pin_changed',
    summary: "The number is held: Meta's security webhook said its PIN was changed (or a reset requested) after the stored PIN version was written.",
    hint: "Store the number's current PIN as a new version of its PIN secret (or `wa-registrar hold clear <phoneNumberId>` once sure it is right); the scheduled redrive then sends the job back.",
  },
  account_held: {
    category: 'account_restricted',
    summary: "The number is held: an account_update restricted, disabled or removed its business account.",
    hint: 'A later account_update that lifts the restriction ends the hold (or `wa-registrar hold clear <phoneNumberId>` once the account is in good standing); the scheduled redrive then sends the job back.',
  },
  pin_rotation_stuck: {
    category: 'permanent_error',
    summary: 'A PIN rotation of the number started more than an hour ago and has not finished: which PIN Meta has is not known for sure.',
    hint: 'Look at the rotation (the PIN secret\'s AWSPENDING version and the rotation Lambda\'s log); finish it with `wa-registrar pin rotate <phoneNumberId>` or roll it back, then redrive the job by id.',
  },
  token_held: {
    category: 'token_rejected',
    summary: 'The token gate is closed: Meta refused the token version that is still stored.',
    hint: 'Store a new token as a new version of the token secret; the scheduled redrive then sends the held jobs back.',
  },
  deregister_stuck_held: {
    category: 'permanent_error',
    summary: 'The number is held: 133000 (deregistration incomplete) came back after a repair.',
    hint: 'Look at the number in WhatsApp Manager (or with Meta support); once it is sorted out, `wa-registrar hold clear <phoneNumberId>` and redrive the job by id.',
  },
  not_verified: {
    category: 'needs_verification',
    summary: "The pre-flight read shows the number's verification is not VERIFIED: a register would fail (133006).",
    hint: 'Verify the number (request_code, then verify_code), then `wa-registrar hold clear <phoneNumberId>`; the scheduled redrive sends the job back.',
  },
  unknown_number: {
    category: 'permanent_error',
    summary: 'Meta does not know the phone number id, or the token cannot see it (error 100 on the state read).',
    hint: "Check the phone number id and the token's WABA access, then send a corrected job.",
  },
  region_on_registered: {
    category: 'permanent_error',
    summary: 'A register with dataLocalizationRegion for a number that is already registered: the region cannot change while registered.',
    hint: 'Send a set_localization job (deregister, then register with the region) instead.',
  },
  name_not_approved: {
    category: 'permanent_error',
    summary: 'The pre-flight read shows a display name status (NONE or EXPIRED) that blocks registration.',
    hint: 'Submit the display name again in WhatsApp Manager; register once it is approved.',
  },
  registered_meanwhile: {
    category: 'permanent_error',
    summary: 'set_localization found the number registered again between its deregister and its register (someone else registered it): the region was not applied.',
    hint: 'Find out who registered the number, then send the set_localization job again.',
  },
  transient_budget_spent: {
    category: 'retries_exhausted',
    summary: 'The job used its transient budget (TRANSIENT_ATTEMPTS_PER_JOB requests with an unknown or transient outcome).',
    hint: 'Look at the attempts and Graph errors below; fix the cause, then redrive the job by id. The ledger still guards the budget.',
  },
  reads_failing: {
    category: 'retries_exhausted',
    summary: "The number's state could not be read over MAX_DELIVERIES deliveries; nothing is sent on an unknown state.",
    hint: 'Check Graph API reachability and the token, then redrive the job by id.',
  },
} as const satisfies Record<string, ReasonRow>;

export type ReasonKey = keyof typeof DEAD_LETTER_REASONS;
