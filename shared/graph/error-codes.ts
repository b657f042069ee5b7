import type { DeadLetterCategory } from '../jobs/dlq-envelope.v1.ts';

/**
 * What a Meta error code means for the job. Keyed on `error.code` only, never on HTTP status or message.
 * - `blocked`: 133016, the attempt limit: block the number, dead-letter, never retry.
 * - `pin_rejected` / `pin_locked` / `needs_verification`: hold the number; no register until it is lifted.
 * - `token_rejected`: close the token gate for every job until a new token version is stored.
 * - `incomplete_deregister`: 133000: deregister, then continue; at most once per job.
 * - `not_registered`: 133010: the goal of a deregister.
 * - `transient`: a passing fault; retried within the job's transient budget, after a state read.
 * - `throttled`: Meta throttles the app: every job waits for the regain time.
 * - `permanent`: only a person can fix it.
 */
export type GraphMeaning =
  | 'blocked'
  | 'pin_rejected'
  | 'pin_locked'
  | 'needs_verification'
  | 'token_rejected'
  | 'incomplete_deregister'
  | 'not_registered'
  | 'transient'
  | 'throttled'
  | 'permanent';

/** One row of the error policy. The README's table is rendered from these rows and checked by a test. */
export interface GraphCodeRow {
  codes: readonly number[];
  /** Also matches every code in this range (inclusive). */
  range?: readonly [number, number];
  meaning: GraphMeaning;
  /** The dead-letter category when this row ends the job. */
  category?: DeadLetterCategory;
  /** `unknown`: the request may have taken effect (read the state before spending again). */
  outcome: 'rejected' | 'unknown';
  /** Least wait before a retry (transient) or before anything is sent (throttled). */
  minDelaySeconds?: number;
  hint: string;
}

const PERMISSION_HINT =
  'The token lacks a permission, the account is locked or restricted, or the number was deleted. Fix it in Business Manager, then redrive the job by id.';

/** The Graph error table: the single source of the error policy. */
export const GRAPH_CODE_TABLE: readonly GraphCodeRow[] = [
  {
    codes: [133016], meaning: 'blocked', category: 'rate_limited', outcome: 'rejected',
    hint: 'Meta blocked register/deregister for this number (attempt limit). Nothing is sent for it until blockedUntil; the scheduled redrive sends the job back after that.',
  },
  {
    codes: [133005], meaning: 'pin_rejected', category: 'pin_rejected', outcome: 'rejected',
    hint: 'Wrong two-step PIN. The number is held: no job sends this PIN again. Store the right PIN as a new version of the PIN secret (or reset it in WhatsApp Manager and store it); the scheduled redrive then sends the held jobs back.',
  },
  {
    codes: [133008, 133009], meaning: 'pin_locked', category: 'pin_locked', outcome: 'rejected',
    hint: 'Meta stopped checking PINs for this number (too many or too fast). The number is held until eligibleAt; verify the stored PIN and store a new version if it was wrong (or `wa-registrar hold clear` once sure it is right).',
  },
  {
    codes: [133006], meaning: 'needs_verification', category: 'needs_verification', outcome: 'rejected',
    hint: 'The number must be verified again (request_code, then verify_code with the code its owner receives). Then `wa-registrar hold clear <phoneNumberId>`; the scheduled redrive sends the held jobs back.',
  },
  {
    codes: [190, 0], meaning: 'token_rejected', category: 'token_rejected', outcome: 'rejected',
    hint: 'Meta refused the access token. Every job waits: store a new token as a new version of the token secret; the scheduled redrive then sends the held jobs back.',
  },
  {
    codes: [133000], meaning: 'incomplete_deregister', category: 'permanent_error', outcome: 'rejected',
    hint: 'A previous deregistration did not finish. The job deregisters once and continues; if 133000 comes back after that repair, a person must look at the number in WhatsApp Manager before any retry.',
  },
  {
    codes: [133010], meaning: 'not_registered', category: 'permanent_error', outcome: 'rejected',
    hint: 'The number is not registered: the goal of a deregister. On a register it needs a person.',
  },
  { codes: [133015], meaning: 'transient', category: 'retries_exhausted', outcome: 'unknown', minDelaySeconds: 5 * 60, hint: 'The number is still being deleted; the job reads the state and retries in at least 5 minutes, within its transient budget.' },
  { codes: [131057], meaning: 'transient', category: 'retries_exhausted', outcome: 'unknown', minDelaySeconds: 5 * 60, hint: 'The WhatsApp Business account is in maintenance; retried after a state read, within the transient budget.' },
  { codes: [133004, 131016, 2], meaning: 'transient', category: 'retries_exhausted', outcome: 'unknown', minDelaySeconds: 30, hint: 'Meta reports the service temporarily unavailable; retried after a state read, within the transient budget.' },
  { codes: [131000, 1], meaning: 'transient', category: 'retries_exhausted', outcome: 'unknown', minDelaySeconds: 30, hint: 'Meta reports an unknown error; the job reads the state (the request may have worked) and retries within its transient budget.' },
  {
    codes: [4, 17, 32, 613, 80007, 80008], meaning: 'throttled', category: 'rate_limited', outcome: 'rejected', minDelaySeconds: 15 * 60,
    hint: 'Meta throttles the app or WABA: every job waits until the regain time (at least 15 minutes) instead of spending attempts on refusals.',
  },
  { codes: [100], meaning: 'permanent', category: 'permanent_error', outcome: 'rejected', hint: 'Meta rejected a parameter (or the phone number id does not belong to the token). Fix the job and enqueue it again.' },
  { codes: [131008, 131009], meaning: 'permanent', category: 'permanent_error', outcome: 'rejected', hint: 'A parameter is missing or invalid. Fix the job and enqueue it again.' },
  { codes: [3, 10, 131005, 131031, 368, 33], range: [200, 299], meaning: 'permanent', category: 'permanent_error', outcome: 'rejected', hint: PERMISSION_HINT },
];

/** Codes in no row: never retried blindly. */
export const UNKNOWN_CODE_ROW: GraphCodeRow = {
  codes: [],
  meaning: 'permanent',
  category: 'permanent_error',
  outcome: 'rejected',
  hint: 'Meta answered with an error code wa-registrar does not know; a person must look at it before any retry.',
};

/** The row for a code. */
export function rowForCode(code: number): GraphCodeRow {
  return (
    GRAPH_CODE_TABLE.find((row) => row.codes.includes(code)) ??
    GRAPH_CODE_TABLE.find((row) => row.range !== undefined && code >= row.range[0] && code <= row.range[1]) ??
    UNKNOWN_CODE_ROW
  );
}
