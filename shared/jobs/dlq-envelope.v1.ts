import { z } from 'zod';
import { jobV1Schema } from './job.v1.ts';

/** Why a job was dead-lettered. The category decides what ops (and the scheduled redrive) may do. */
export const DEAD_LETTER_CATEGORIES = [
  /** The message is not a valid job. Fix the producer; never redriven as is. */
  'invalid_job',
  /** Attempt window full, number blocked (133016), or PIN guessing paused (133008/9). Redrive at `eligibleAt`. */
  'rate_limited',
  /** Meta refused for a reason a retry cannot fix (wrong PIN, token, permissions, unknown codes). */
  'permanent_error',
  /** 133006: the number must be verified again (request_code, verify_code) before registering. */
  'needs_verification',
  /** No PIN or token in Secrets Manager, or one that is malformed. Store it, then redrive by id. */
  'missing_secret',
  /** Transient failures used up the job's transient budget (TRANSIENT_ATTEMPTS_PER_JOB), or state reads kept failing. */
  'retries_exhausted',
  /** 133005: Meta refused the stored PIN. The number is held until a new PIN version is stored (or `hold clear`). */
  'pin_rejected',
  /** 133008/133009: Meta stopped checking PINs for this number until `eligibleAt`; then a new PIN version (or `hold clear`). */
  'pin_locked',
  /** 190/0: Meta refused the token. Every job waits until a new token version is stored. */
  'token_rejected',
  /** The `security` webhook said the PIN changed elsewhere: held until a PIN version newer than the event is stored. */
  'pin_changed',
  /** An `account_update` restricted or removed the business account: held until a later update lifts it (or `hold clear`). */
  'account_restricted',
] as const;

/**
 * Why a number (or, for the token, the whole app) is held.
 * - `deregister_stuck`: 133000 came back after a repair; only a person (then `hold clear`) lifts it.
 * - `pin_changed`: Meta's `security` webhook said the PIN was changed or a reset requested; a PIN secret version
 *   created after the event lifts it.
 * - `account_restricted`: an `account_update` restricted, disabled or removed the business; a later update lifts it.
 */
export const HOLD_CAUSES = ['pin_rejected', 'pin_locked', 'needs_verification', 'deregister_stuck', 'pin_changed', 'account_restricted'] as const;
export type HoldCause = (typeof HOLD_CAUSES)[number];

export type DeadLetterCategory = (typeof DEAD_LETTER_CATEGORIES)[number];

/** Categories the scheduled redrive and `dlq redrive --eligible` may send back once `eligibleAt` has passed. */
export const AUTO_REDRIVE_CATEGORIES: readonly DeadLetterCategory[] = ['rate_limited'];

const isoTime = z.iso.datetime();

/** One request the ledger recorded for this job. Never holds a PIN or token. */
export const attemptSummarySchema = z.object({
  at: isoTime,
  action: z.enum(['register', 'deregister']),
  outcome: z.enum(['pending', 'success', 'rejected', 'unknown']),
  code: z.number().int().optional(),
  httpStatus: z.number().int().optional(),
  fbtraceId: z.string().optional(),
  durationMs: z.number().optional(),
});

export type AttemptSummary = z.infer<typeof attemptSummarySchema>;

/**
 * A dead-lettered job, version 1: the original job plus everything a person needs to act.
 * The CLI, the scheduled redrive and the tests all read it through this schema.
 */
export const deadLetterEnvelopeV1Schema = z.object({
  schemaVersion: z.literal(1),
  kind: z.literal('wa-registrar.dead-letter'),
  category: z.enum(DEAD_LETTER_CATEGORIES),
  /** What happened, as a sentence. */
  reason: z.string(),
  /** What a person should do next. */
  hint: z.string(),
  /** The job as validated; null when the message was not a valid job. */
  job: jobV1Schema.nullable(),
  /** For invalid jobs only: the body as received (secret fields redacted, long bodies truncated). */
  rawBody: z.string().optional(),
  rawBodyBytes: z.number().int().optional(),
  /** The job's idempotency key (its `idempotencyKey`, else the original SQS message id). */
  jobKey: z.string(),
  phoneNumberId: z.string().optional(),
  action: z.string().optional(),
  /** Meta's error, when Graph answered with one. */
  graphError: z
    .object({
      code: z.number().int().optional(),
      subcode: z.number().int().optional(),
      message: z.string().optional(),
      details: z.string().optional(),
      fbtraceId: z.string().optional(),
      httpStatus: z.number().int().optional(),
    })
    .optional(),
  /**
   * The hold or gate this job met or set: its cause, since when, and the secret version it was set under.
   * The scheduled redrive sends the job back once the hold is lifted (new secret version, or `hold clear`).
   */
  hold: z
    .object({
      cause: z.enum([...HOLD_CAUSES, 'token_rejected']),
      since: isoTime,
      until: isoTime.optional(),
      secretVersion: z.string().optional(),
      code: z.number().int().optional(),
      /** token_rejected: the business whose own token was refused; account_restricted: the business. */
      businessAccountId: z.string().optional(),
    })
    .optional(),
  /** Meta blocks the number for this action until then (after 133016). */
  blockedUntil: isoTime.optional(),
  /** The earliest time a redrive can succeed (window reopens, block ends). Absent when only a person can fix it. */
  eligibleAt: isoTime.optional(),
  budget: z
    .object({ used: z.number().int(), limit: z.number().int(), windowHours: z.number(), scope: z.string() })
    .optional(),
  attempts: z.array(attemptSummarySchema),
  receiveCount: z.number().int(),
  sourceMessageId: z.string(),
  deadLetteredAt: isoTime,
  /** How many times ops redrove this job already; the next redrive uses generation + 1. */
  redriveGeneration: z.number().int().min(0),
});

export type DeadLetterEnvelopeV1 = z.infer<typeof deadLetterEnvelopeV1Schema>;

/** SQS message attribute carrying the redrive generation on a job re-sent by the CLI or scheduled redrive. */
export const REDRIVE_GENERATION_ATTRIBUTE = 'waRegistrarRedriveGeneration';

/** SQS message attribute on a carried job: epoch ms before which the worker only hides it again. */
export const NOT_BEFORE_ATTRIBUTE = 'waRegistrarNotBefore';

/** SQS message attribute on a carried job: a Graph answer the ledger did not take, recorded before anything else. */
export const ANSWER_ATTRIBUTE = 'waRegistrarAnswer';
