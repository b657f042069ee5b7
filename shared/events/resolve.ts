import type { HoldCause } from '../jobs/dlq-envelope.v1.ts';
import type { JobV1Input } from '../jobs/job.v1.ts';
import type { BusinessRecord, NameDeadline, NumberEvent, NumberHold, NumberRecord } from '../ledger/port.ts';
import { withAccountState } from './account-effects.ts';
import type { NAME_DECISIONS, PhoneNumberNameUpdated, PinEvent, RegistrarEvent, ReRegistrationRequested } from './registrar-events.v1.ts';

/**
 * The resolver's decisions, as pure functions over data: what one event does to one number. Each returns the number's
 * next record (the very object it was given when nothing changes, so a redelivery writes nothing), the deadline to
 * list, the job to enqueue and the timeline entry. The caller reads, applies, commits, and on a conflict reads again.
 */

/** The knobs the decisions read. */
export interface ResolvePolicy {
  /** How long after a name approval the number must be registered again (NAME_DEADLINE_DAYS, Meta: 14 days). */
  nameDeadlineMs: number;
}

/** What one event does to one number. */
export interface NumberPlan {
  number: NumberRecord;
  /** Listed with the number's write, in the same commit. */
  deadline?: NameDeadline;
  job?: JobV1Input & { idempotencyKey: string };
  /** The number's timeline entry (webhook events only). */
  event?: NumberEvent;
}

/** The digits of a display number: Meta's list shows `+1 631-555-5555`, its webhooks `16315555555`. */
export function digitsOf(displayPhoneNumber: string): string {
  return displayPhoneNumber.replace(/\D/g, '');
}

/** Every path that sees the same approval (a redelivered webhook, a retried message) ends in this one job key. */
export const nameApprovalJobKey = (changeId: string) => `name-approval:${changeId.slice(0, 48)}`;
const reRegistrationJobKey = (requestId: string) => `rereg:${requestId}`;

/** What each of Meta's name decisions asks for. A decision Meta adds later is recorded only. */
const NAME_DECISION_EFFECTS: Record<(typeof NAME_DECISIONS)[number], 'reregister' | 'record'> = {
  APPROVED: 'reregister',
  DEFERRED: 'record',
  PENDING: 'record',
  REJECTED: 'record',
};
const nameDecisionEffect = (decision: string) =>
  Object.hasOwn(NAME_DECISION_EFFECTS, decision) ? NAME_DECISION_EFFECTS[decision as keyof typeof NAME_DECISION_EFFECTS] : 'record';

/** At most this much of a requested name or requester goes into a timeline line. */
const SUMMARY_PART_CHARS = 120;
const part = (text: string) => (text.length > SUMMARY_PART_CHARS ? `${text.slice(0, SUMMARY_PART_CHARS)}…` : text);

/** The events Meta's webhooks produce (all but ReRegistrationRequested): they carry a change id and a time. */
export type WebhookEvent = Exclude<RegistrarEvent, { detailType: 'ReRegistrationRequested' }>;

/** One line per webhook event, for the number's timeline. */
const SUMMARIES: { [E in WebhookEvent as E['detailType']]: (detail: E['detail']) => string } = {
  PhoneNumberNameUpdated: (event) =>
    `name ${event.decision}` +
    (event.requestedVerifiedName ? ` "${part(event.requestedVerifiedName)}"` : '') +
    (event.rejectionReason ? ` (${part(event.rejectionReason)})` : ''),
  PinChanged: (event) => `security ${pinHoldDetail(event)}`,
  PinResetRequested: (event) => `security ${pinHoldDetail(event)}`,
  AccountUpdated: (event) => `account ${event.event}${event.banState ? ` (${event.banState})` : ''}`,
};

/** The timeline entry of a webhook event: when Meta says it happened, and one line. */
export function timelineEntry(event: WebhookEvent): NumberEvent {
  const summarize = SUMMARIES[event.detailType] as (detail: WebhookEvent['detail']) => string;
  return { at: Date.parse(event.detail.occurredAt), detailType: event.detailType, changeId: event.detail.changeId, summary: summarize(event.detail) };
}

/**
 * The number as a member of the business: its `businessAccountId`, and, when it is newly mapped into a business
 * whose account is restricted, that business's account hold too (with `holdDetail`, else the account event's name).
 */
export function mapInto(number: NumberRecord, business: BusinessRecord, holdDetail?: string): NumberRecord {
  if (number.businessAccountId === business.businessAccountId) return number;
  const mapped = { ...number, businessAccountId: business.businessAccountId };
  return business.account?.state === 'restricted' ? withAccountState(mapped, business, holdDetail) : mapped;
}

/**
 * A display-name decision. APPROVED records the approval (deadline and all), lists the deadline, and asks for one
 * register with reason `name_change`; an approval older than the one recorded (a reordered delivery) is recorded on
 * the timeline only. Other decisions are recorded only.
 */
export function planNameUpdate(number: NumberRecord, event: PhoneNumberNameUpdated, policy: ResolvePolicy): NumberPlan {
  const timeline = timelineEntry({ detailType: 'PhoneNumberNameUpdated', detail: event });
  if (nameDecisionEffect(event.decision) !== 'reregister') return { number, event: timeline };
  const approvedAt = timeline.at;
  const current = number.nameApproval;
  const older = current !== undefined && (approvedAt < current.approvedAt || (approvedAt === current.approvedAt && event.changeId < current.changeId));
  if (older) return { number, event: timeline };
  const approval =
    current?.changeId === event.changeId
      ? current
      : {
          approvedAt,
          deadline: approvedAt + policy.nameDeadlineMs,
          changeId: event.changeId,
          ...(event.requestedVerifiedName ? { requestedName: event.requestedVerifiedName } : {}),
        };
  return {
    number: approval === current ? number : { ...number, nameApproval: approval },
    deadline: { phoneNumberId: number.phoneNumberId, approvedAt: approval.approvedAt, deadline: approval.deadline, businessAccountId: event.businessAccountId },
    job: {
      action: 'register',
      phoneNumberId: number.phoneNumberId,
      reason: 'name_change',
      businessAccountId: event.businessAccountId,
      idempotencyKey: nameApprovalJobKey(approval.changeId),
    },
    event: timeline,
  };
}

/**
 * Whether a PIN event's hold replaces the number's current hold, by the current hold's cause. An active Meta lock and
 * a stuck deregistration say more than "the PIN changed"; a newer PIN change stands (reordered delivery). A PIN
 * refusal newer than the change stands too: its PIN version may have been stored after the change, and the
 * `pin_changed` hold would let that refused version through again.
 */
const PIN_CHANGE_REPLACES: Record<HoldCause, (hold: NumberHold, since: number, now: number) => boolean> = {
  pin_rejected: (hold, since) => hold.since < since,
  needs_verification: () => true,
  pin_locked: (hold, since, now) => (hold.until === undefined || hold.until <= now) && hold.since < since,
  deregister_stuck: () => false,
  pin_changed: (hold, since) => hold.since < since,
  // Lives in `accountHold`, never in `hold`; should one appear there, it is not the PIN path's to replace.
  account_restricted: () => false,
};

function pinHoldDetail(event: PinEvent): string {
  return event.requester ? `${event.event} (requester ${part(event.requester)})` : event.event;
}

/**
 * PIN_CHANGED or PIN_RESET_REQUEST: the number is held (`pin_changed`) from the event's time, so no job sends a PIN
 * stored before it; the worker lifts the hold once the PIN secret has a version created after `since`.
 */
export function planPinEvent(number: NumberRecord, detailType: 'PinChanged' | 'PinResetRequested', event: PinEvent, now: number): NumberPlan {
  const timeline = timelineEntry({ detailType, detail: event });
  const since = timeline.at;
  if (isOwnPinChange(number, since)) return { number, event: { ...timeline, summary: `${timeline.summary}: superseded by the PIN wa-registrar set` } };
  const hold = number.hold;
  if (hold && !PIN_CHANGE_REPLACES[hold.cause](hold, since, now)) {
    // A PIN refusal or lockout stands, but it learns of the change: no PIN version stored before it may lift it.
    const learns = (hold.cause === 'pin_rejected' || hold.cause === 'pin_locked') && (hold.changedAt ?? Number.NEGATIVE_INFINITY) < since;
    return { number: learns ? { ...number, hold: { ...hold, changedAt: since } } : number, event: timeline };
  }
  return { number: { ...number, hold: { cause: 'pin_changed', since, detail: pinHoldDetail(event) } }, event: timeline };
}

/** Meta's PIN_CHANGED for a PIN wa-registrar set comes within seconds of the set; this much slack covers clock skew. */
const OWN_PIN_CHANGE_SLACK_MS = 5 * 60_000;

/**
 * Whether a PIN event is wa-registrar's own doing or superseded by it: during a rotation (Meta's clock at or after its
 * start), or no later than the last PIN wa-registrar set (its echo, or a change that PIN replaced). Holding the number
 * for it would hold it against the PIN just stored.
 */
function isOwnPinChange(number: NumberRecord, at: number): boolean {
  if (number.pinRotation && at >= number.pinRotation.since - OWN_PIN_CHANGE_SLACK_MS) return true;
  // A change at or before wa-registrar's last PIN set is its echo, or older than the PIN set since: superseded either way.
  const set = number.lastPinSet;
  return set !== undefined && at <= set.at + OWN_PIN_CHANGE_SLACK_MS;
}

/** A re-registration asked for by another system: one register job per request id. */
export function planReRegistration(number: NumberRecord, event: ReRegistrationRequested): NumberPlan {
  return {
    number,
    job: {
      action: 'register',
      phoneNumberId: event.phoneNumberId,
      reason: event.reason,
      ...(event.businessAccountId ? { businessAccountId: event.businessAccountId } : {}),
      idempotencyKey: reRegistrationJobKey(event.requestId),
    },
  };
}
