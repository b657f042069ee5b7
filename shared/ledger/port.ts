import type { LimitedOperation, NumberBudget } from '../limited-operations.ts';
import type { DeadLetterCategory, HoldCause } from '../jobs/dlq-envelope.v1.ts';
import type { JobReason } from '../jobs/job.v1.ts';

/**
 * What a request's outcome is known to be.
 * - `pending`: reserved and about to be sent, or sent with no answer recorded (the worker died): unknown.
 * - `unknown`: sent, but the answer does not say whether it took effect (timeout, 5xx, 131000...).
 * - `rejected`: Meta answered with an error that means it did not take effect.
 * - `success`: Meta confirmed it.
 */
type AttemptOutcome = 'pending' | 'success' | 'rejected' | 'unknown';

/**
 * A hold on a number: nothing that needs what the cause names is sent until it is lifted. PIN holds remember
 * the PIN secret version they were set under: a new version lifts them.
 */
export interface NumberHold {
  cause: HoldCause;
  since: number;
  /** Meta's code that set it, if any. */
  code?: number;
  /** PIN holds: the PIN secret version Meta refused. */
  pinVersion?: string;
  /** pin_locked: Meta checks no PIN before then, whatever the version. */
  until?: number;
  /** account_restricted: the business account whose update set it. */
  businessAccountId?: string;
  /**
   * PIN holds: Meta's security webhook said the PIN changed at this time while the hold stood. A new PIN version lifts
   * the hold only if it was stored after this (one stored before it is not the PIN Meta has now).
   */
  changedAt?: number;
  detail: string;
}

/** A display-name approval: the number must be registered again by `deadline`, or the name goes back to review. */
interface NameApproval {
  approvedAt: number;
  deadline: number;
  /** The webhook change that approved it (its id is the re-registration job's key). */
  changeId: string;
  requestedName?: string;
}

/** An open re-register deadline, listed apart from its number so a watcher finds them all with one query. */
export interface NameDeadline {
  phoneNumberId: string;
  approvedAt: number;
  deadline: number;
  businessAccountId?: string;
}

/** The number's item: its attempt budget, its hold, and what last took effect. One version guards it all. */
export interface NumberRecord extends NumberBudget {
  phoneNumberId: string;
  /** Optimistic-lock version; 0 when the item does not exist yet. */
  version: number;
  hold?: NumberHold;
  /** The last register or deregister that took effect, by any job. */
  lastSuccess?: { operation: LimitedOperation; at: number };
  /** The PIN secret version of the last register sent: a worker holding an older cached PIN reads it again. */
  lastPinVersion?: string;
  /** Meta answered 133000: every register-bound job deregisters first (once), until a register succeeds. */
  incompleteDeregister?: { since: number };
  /** The WhatsApp Business Account the number belongs to (from a webhook or a job). */
  businessAccountId?: string;
  /** The latest name approval; met once a register succeeds after `approvedAt`. */
  nameApproval?: NameApproval;
  /**
   * An `account_update` restricted the number's business (cause `account_restricted`): no job of the number sends
   * anything until a later update lifts it. Apart from `hold`, so neither hides the other.
   */
  accountHold?: NumberHold;
  /**
   * A PIN rotation is under way (Secrets Manager staged `pendingVersion` as AWSPENDING): register jobs wait instead of
   * racing it with a PIN that is about to change. Cleared by the rotation's finishSecret (or its rollback).
   */
  pinRotation?: {
    since: number;
    pendingVersion: string;
    /** When setSecret first sent the pending PIN: from then on Meta may have it, so a later refusal rolls nothing back. */
    sentAt?: number;
  };
  /**
   * The last PIN wa-registrar itself set at Meta (rotation, provisioning): Meta's PIN_CHANGED webhook for it holds
   * nothing. `sentAt`: when that PIN was first sent (a rotation resumed later finishes long after Meta's echo).
   */
  lastPinSet?: { at: number; version: string; by: 'rotation' | 'provision'; sentAt?: number };
  /** The number's OTP verification as wa-registrar asked for it (`verify request` / `verify confirm`). Never the code. */
  verification?: {
    requestedAt?: number;
    method?: 'SMS' | 'VOICE';
    confirmedAt?: number;
    lastError?: { code?: number; at: number; message: string };
  };
}

/** A webhook event that concerned a number, kept for its timeline (`status`, `explain`). Facts only, no secret. */
export interface NumberEvent {
  /** When Meta says it happened. */
  at: number;
  detailType: string;
  changeId: string;
  /** One line: the decision, the security event, the account event. */
  summary: string;
}

/** Whether the number was registered after its name was approved. */
export function nameApprovalMet(number: Pick<NumberRecord, 'nameApproval' | 'lastSuccess'>): boolean {
  const approval = number.nameApproval;
  if (!approval) return false;
  return number.lastSuccess?.operation === 'register' && number.lastSuccess.at >= approval.approvedAt;
}

/**
 * A WhatsApp Business Account as the events path knows it: its numbers (display digits → phone number id, as
 * Meta's list showed them) and its latest account state. One version guards it.
 */
export interface BusinessRecord {
  businessAccountId: string;
  /** Optimistic-lock version; 0 when the item does not exist yet. */
  version: number;
  numbers: Record<string, string>;
  /** When Meta's number list was last read. */
  listedAt?: number;
  /** The latest account_update that restricts or lifts; an older event changes nothing. */
  account?: { state: 'restricted' | 'clear'; at: number; event: string };
}

/** An empty business item, as read when none exists. */
export function emptyBusiness(businessAccountId: string): BusinessRecord {
  return { businessAccountId, version: 0, numbers: {} };
}

/** A token Meta refused (190/0): closed until its secret has a version other than `tokenVersion`. */
export interface TokenGate {
  tokenVersion: string;
  since: number;
  code: number;
}

/** App-wide gates: Meta's throttle and a rejected token stop every job. */
export interface AppGates {
  version: number;
  /** Meta throttled without naming a business: every job waits. */
  throttledUntil?: number;
  /** Meta's usage header named these businesses (WABA ids): their numbers wait, and numbers of unknown business too. */
  businessThrottles?: Record<string, number>;
  /** After 190/0 on the default token: closed until the token secret has a version other than this one. */
  tokenGate?: TokenGate;
  /** The same, per business with a token of its own (TOKEN_SECRET_PREFIX + WABA id): one revoked token stops one business. */
  businessTokenGates?: Record<string, TokenGate>;
}

/** Where a job is in its steps. Persisted, so a redelivery resumes instead of repeating. */
interface JobProgress {
  /** The saga's deregister (set_localization, or a 133000 repair) took effect. */
  deregisterDone?: boolean;
  /** set_localization found the number not registered: no deregister needed. */
  noDeregisterNeeded?: boolean;
  /** 133000 answered: the job deregisters, then continues. At most once per job. */
  repairTried?: boolean;
  repairPending?: boolean;
  /** The pre-flight before the last register saw the number CONNECTED: a state read cannot confirm that register. */
  connectedBefore?: boolean;
}

/** The hold or gate a dead letter names (a token gate too), as the envelope shows it. */
export interface DecisionHold {
  cause: HoldCause | 'token_rejected';
  /** token_rejected: the business whose own token was refused (absent: the default token). */
  businessAccountId?: string;
  since: number;
  until?: number;
  /** The PIN or token secret version that was refused: a new version lifts the hold. */
  secretVersion?: string;
  code?: number;
}

/** A terminal decision written with the outcome that caused it: a redelivery sends the envelope and calls nobody. */
export interface JobDecision {
  category: DeadLetterCategory;
  reason: string;
  hint: string;
  eligibleAt?: number;
  blockedUntil?: number;
  hold?: DecisionHold;
  graphError?: { code?: number; subcode?: number; message?: string; details?: string; fbtraceId?: string; httpStatus?: number };
}

/** The job's idempotency record. */
export interface JobRecord {
  jobKey: string;
  /** Optimistic-lock version; 0 when the item does not exist yet. */
  version: number;
  status: 'in_progress' | 'completed' | 'dead_lettered';
  /** Redrive generation this record belongs to; only a higher generation may run the job again. */
  generation: number;
  /** Hash of the job's content: the same key with other content is a different job. */
  jobHash?: string;
  /** The delivery that holds the job (`messageId#receiveCount`) and until when. */
  leaseOwner?: string;
  leaseUntil?: number;
  progress: JobProgress;
  /** Requests of this job whose outcome was unknown or transient (a reserved request counts until answered). */
  uncertain: number;
  lastAttempt?: { attemptId: string; at: number; operation: LimitedOperation; outcome: AttemptOutcome; code?: number };
  decision?: JobDecision;
}

/** Everything the worker needs to decide, read in one round trip. */
export interface LedgerSnapshot {
  number: NumberRecord;
  job?: JobRecord;
  app: AppGates;
}

/** One request as the ledger keeps it (the audit trail). */
export interface AttemptRecord {
  attemptId: string;
  phoneNumberId: string;
  operation: LimitedOperation;
  at: number;
  reason: JobReason;
  jobKey: string;
  outcome: AttemptOutcome;
  /** Secret versions used: never values. */
  pinVersion?: string;
  tokenVersion?: string;
  /** The business whose own token was used (absent: the default token). */
  tokenScope?: string;
  httpStatus?: number;
  code?: number;
  subcode?: number;
  fbtraceId?: string;
  durationMs?: number;
}

/**
 * One atomic write: each item is stored whole, on the condition that its version is still the one read
 * (the new item carries version + 1). Items left out are neither written nor checked, except `check`.
 * `phoneNumberId` names the number item; a business-only write leaves `number` out.
 */
export interface LedgerChanges {
  phoneNumberId: string;
  number?: NumberRecord;
  job?: JobRecord;
  app?: AppGates;
  /** Versions that must still hold without a write (the app gates, when a request is reserved). */
  checkApp?: number;
  /** A new request (`create`, must not exist) or its outcome (`update`, must exist: TTL may have removed it). */
  attempt?: { create: AttemptRecord } | { update: AttemptRecord };
  /** The business item, stored whole under its version like the number's. */
  business?: BusinessRecord;
  /** Lists (or replaces) the number's open re-register deadline; written unconditionally with the rest. */
  deadline?: NameDeadline;
  /** When the items may be deleted by TTL (epoch ms). */
  expiresAt: { number: number; job: number; attempt: number };
}

/**
 * The atomic attempt ledger: per number one item (budget, hold, last success), one item per job, one per request,
 * and one app item (gates). `commit` is the only write the worker uses.
 */
export interface AttemptLedger {
  read(phoneNumberId: string, jobKey: string): Promise<LedgerSnapshot>;
  /**
   * Writes all changes or none. `conflict` means an item changed since it was read: read again and re-decide.
   * `token` makes a retried commit idempotent (DynamoDB's ClientRequestToken).
   */
  commit(changes: LedgerChanges, token: string): Promise<'committed' | 'conflict'>;
  /** The number's requests still on the ledger, oldest first. */
  history(phoneNumberId: string): Promise<AttemptRecord[]>;
  /** The number's item (status views, hold clear). */
  number(phoneNumberId: string): Promise<NumberRecord>;
  appGates(): Promise<AppGates>;
  /** The business item (the events path, status views). */
  business(businessAccountId: string): Promise<BusinessRecord>;
  /** Every listed re-register deadline, earliest first. */
  deadlines(): Promise<NameDeadline[]>;
  /** Unlists a deadline, if it is still the one for that approval (a newer approval keeps its listing). */
  dropDeadline(phoneNumberId: string, approvedAt: number): Promise<void>;
  /** Keeps a webhook event on the number's timeline until `expiresAt`; the same change recorded twice is one entry. */
  recordEvent(phoneNumberId: string, event: NumberEvent, expiresAt: number): Promise<void>;
  /** The number's recorded events, oldest first. */
  events(phoneNumberId: string): Promise<NumberEvent[]>;
}

/** A number hold as a dead letter names it. */
export function decisionHold(hold: NumberHold): DecisionHold {
  return {
    cause: hold.cause,
    since: hold.since,
    ...(hold.until !== undefined ? { until: hold.until } : {}),
    ...(hold.pinVersion !== undefined ? { secretVersion: hold.pinVersion } : {}),
    ...(hold.code !== undefined ? { code: hold.code } : {}),
    ...(hold.businessAccountId !== undefined ? { businessAccountId: hold.businessAccountId } : {}),
  };
}

/** An empty number item, as read when none exists. */
export function emptyNumber(phoneNumberId: string): NumberRecord {
  return { phoneNumberId, version: 0, spent: [], reserved: [], blockedUntil: {} };
}
