/**
 * Every way an attempt could be wasted, the guard against it, and the test that fails without that guard.
 * The README's guard table is rendered from these rows; a test checks that each named test exists.
 */
export interface GuardRow {
  risk: string;
  guard: string;
  /** `file › test title` (a prefix of the title is enough). */
  provenBy: string;
}

const SEQ = 'test/integration/worker-fault-sequences.test.ts';
const HOOKS = 'test/integration/worker-webhook-holds.test.ts';
const LIFE = 'test/integration/worker-lifecycle.test.ts';

export const GUARDS: readonly GuardRow[] = [
  {
    risk: 'An 11th request in the window',
    guard: 'Every request is reserved first, in one conditional DynamoDB transaction on the number item (all its requests, holds and reservations under one version). Two workers racing for the last slot cannot both win.',
    provenBy: 'test/integration/worker-budget.test.ts › never sends an 11th request when 40 jobs for one number run in 8 concurrent invocations',
  },
  {
    risk: "A slot that looks free before Meta's window has moved on",
    guard: 'A request counts for the window plus `WINDOW_MARGIN_MINUTES` (15) from the time taken right before its reservation; `eligibleAt` and `status` use the same margin.',
    provenBy: `${SEQ} › 9. a redriven job is never the 11th request`,
  },
  {
    risk: 'Switching `ATTEMPT_BUDGET_SHARED` forgets the window',
    guard: 'The number item keeps every request with its operation, whatever the mode; each mode counts from the same list.',
    provenBy: `${SEQ} › 10. switching ATTEMPT_BUDGET_SHARED keeps the window`,
  },
  {
    risk: 'Retrying 133016',
    guard: 'Never retried: the block is written with the outcome, every job for the number is refused until it ends, and the job is dead-lettered with `blockedUntil`.',
    provenBy: 'test/integration/worker-budget.test.ts › after a 133016 makes no call for that number and action until the block ends',
  },
  {
    risk: 'A wrong PIN guessed again by the jobs queued behind it',
    guard: "133005 holds the number under the refused PIN secret's version; 133008/133009 hold it until Meta's lock time (parsed from `details`, else 24 h). Jobs that meet the hold send nothing; the cached PIN is evicted and re-read.",
    provenBy: `${SEQ} › 2. a wrong PIN is sent once for a number`,
  },
  {
    risk: 'A fixed PIN or token not used',
    guard: 'A new secret version lifts the hold; a container whose cached version is named by a hold, or older than the last one sent, reads the secret again.',
    provenBy: `${SEQ} › 3. a PIN or token fixed after a refusal`,
  },
  {
    risk: 'A revoked token spending an attempt per job',
    guard: '190/0 (on a request or a state read) closes an app-wide token gate under the token version: no job sends anything until a new version is stored.',
    provenBy: `${SEQ} › 4. a revoked token spends nothing for any number`,
  },
  {
    risk: 'A deregister that is not needed',
    guard: 'A pre-flight state read before every deregister: a number that is not registered completes with no request; a revoked token shows on the read (190), not on a request.',
    provenBy: 'test/integration/worker-idempotency.test.ts › completes a deregister of a number that is not registered with no request',
  },
  {
    risk: 'A register that cannot succeed',
    guard: 'A pre-flight state read before every register: verification not VERIFIED holds the number (`needs_verification`); a failed or incomplete read is unknown, never "not registered"; already CONNECTED on Cloud API completes with no request unless a re-register is intended (`name_change`, `manual`); a region for a registered number is dead-lettered towards `set_localization`.',
    provenBy: `${SEQ} › 11. pre-flight`,
  },
  {
    risk: 'A retry after a timeout that actually worked',
    guard: 'The request stays `pending`/`unknown` on the job; the next delivery reads the state and completes without a request when it took effect.',
    provenBy: 'test/integration/worker-errors.test.ts › after a timeout where Meta did register',
  },
  {
    risk: 'A 133000 repaired again and again',
    guard: "A 133000 marks the number: every register-bound job deregisters first (once, recorded on its job item) instead of hearing 133000 again. A 133000 after that repair holds the number (`deregister_stuck`) until a person clears it. Every action repairs the same way.",
    provenBy: `${SEQ} › 1. a 133000 that survives the repair`,
  },
  {
    risk: 'A number left offline by `set_localization`',
    guard: 'The token and the PIN are read and checked before the deregister; the deregister and the register slot are reserved in one transaction; the slot stays reserved until the register succeeds; progress is on the job item, so a crash resumes at the register.',
    provenBy: `${SEQ} › 5. set_localization never strands a number`,
  },
  {
    risk: 'Transient failures eating the window',
    guard: 'At most `TRANSIENT_ATTEMPTS_PER_JOB` (3) requests with an unknown or transient outcome per job, counted on the ledger; then `retries_exhausted`.',
    provenBy: `${SEQ} › 6. an endless 131000 costs the transient budget`,
  },
  {
    risk: 'A definite refusal sent again after a failed write',
    guard: "The outcome, the block or hold, the gate and the job's terminal decision are one transaction (retried with one request token). If the ledger still refuses, the answer travels on the carried message and is recorded before anything else, and the number's later jobs in the batch wait for it; a redelivery of a decided job only resends its dead letter.",
    provenBy: `${SEQ} › 7. a refusal whose ledger write fails`,
  },
  {
    risk: 'Waits counted as failures',
    guard: 'A wait that spends nothing (throttle, lease, hand-back) carries the job to a fresh message, so its receive count starts over; jobs skipped behind a failing head return with it.',
    provenBy: `${SEQ} › 8. waits spend no receive`,
  },
  {
    risk: 'A redelivered or duplicated message',
    guard: 'The job item: a finished job is acknowledged without a call; a concurrent duplicate waits for the lease; only a redrive (generation + 1) runs a job again, and a takeover never lowers the generation.',
    provenBy: 'test/integration/worker-idempotency.test.ts › makes one call when the same job is delivered twice concurrently',
  },
  {
    risk: 'One idempotency key reused for another job',
    guard: 'The job item keeps a hash of the job; other content under the same key is dead-lettered as `invalid_job`, naming the conflict.',
    provenBy: `${SEQ} › 13. a reused idempotency key`,
  },
  {
    risk: 'A secret kept in a dead letter',
    guard: 'Invalid bodies, JSON or not, are redacted by shape (secret-looking keys, token-like and 6-digit values) before the envelope is written; every envelope gets a final pass.',
    provenBy: `${SEQ} › 12. invalid jobs keep no secret`,
  },
  {
    risk: 'A register with a PIN someone changed elsewhere',
    guard: "Meta's `security` webhook (PIN_CHANGED, PIN_RESET_REQUEST) holds the number: register jobs send nothing until the PIN secret has a version stored after the change (the cached PIN is re-read first).",
    provenBy: `${HOOKS} › PinChanged holds register jobs`,
  },
  {
    risk: 'Requests for a number whose business account Meta restricted or removed',
    guard: 'An `account_update` that restricts, disables or removes the account holds every known number of the business, for every action, until a later update lifts it (or `hold clear`).',
    provenBy: `${HOOKS} › an account hold stops every job of the number`,
  },
  {
    risk: "One business's throttle stopping every business, or a number of unknown business running into it",
    guard: "A throttle whose usage header names a business holds that business's numbers (and numbers whose business is not known yet); others go on.",
    provenBy: `${HOOKS} › a throttle on one business leaves another business's numbers alone`,
  },
  {
    risk: 'A second re-register for one name approval',
    guard: 'A `name_change` register of a connected number completes without a request once a register took effect after the approval on the ledger; the approval webhook makes one job (its key comes from the change).',
    provenBy: `${HOOKS} › a name_change job for an approval a register already followed sends nothing`,
  },
  {
    risk: 'A register racing a PIN rotation (Meta may already have the new PIN)',
    guard: "While the ledger shows a rotation under way, register jobs wait (carried, no receive spent); a rotation older than an hour dead-letters them instead of guessing which PIN Meta has.",
    provenBy: `${LIFE} › a register waits while a PIN rotation is under way`,
  },
  {
    risk: 'A provisioned PIN Meta would refuse',
    guard: '`pinPolicy: provision-if-missing` stores a new PIN only when a state read shows two-step verification off and the number not registered; otherwise nothing is stored or sent.',
    provenBy: `${LIFE} › provision-if-missing never stores a PIN for a number whose two-step verification is on`,
  },
  {
    risk: "One business's revoked token stopping every business",
    guard: "A business with its own token (TOKEN_SECRET_PREFIX + WABA id) has its own token gate: a 190 on it holds only that business's jobs.",
    provenBy: `${LIFE} › jobs of two businesses reach Graph with their own tokens`,
  },
];
