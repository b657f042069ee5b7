import type { Clock } from '../clock.ts';
import { redactedRawBody } from '../domain/redaction.ts';
import type { JobV1Input } from '../jobs/job.v1.ts';
import type { AttemptLedger, NumberRecord } from '../ledger/port.ts';
import { accountHoldDetail, classifyAccountUpdate, isCurrentAccountEvent, nextAccountState, withAccountState } from './account-effects.ts';
import { EVENT_DEAD_LETTER_HINTS, EVENT_DEAD_LETTER_KIND, redactEventDeadLetter, type EventDeadLetterReason, type EventDeadLetterV1 } from './event-dead-letter.v1.ts';
import { EVENT_KEEP_MS, updateBusiness, updateNumber } from './ledger-writes.ts';
import type { NumberDirectory } from './number-directory.ts';
import { EVENT_SOURCE, parseRegistrarEvent, WEBHOOK_DETAIL_TYPES, type RegistrarEvent } from './registrar-events.v1.ts';
import { mapInto, planNameUpdate, planPinEvent, planReRegistration, timelineEntry, type NumberPlan, type ResolvePolicy, type WebhookEvent } from './resolve.ts';

/** Sends a job to the job queue (FIFO: the key is the deduplication id, so a repeat within 5 minutes is dropped). */
export interface JobSender {
  send(job: JobV1Input & { idempotencyKey: string }): Promise<void>;
}

/** Where events no retry can resolve go. */
export interface EventDeadLetterSink {
  send(envelope: EventDeadLetterV1): Promise<void>;
}

/** The resolver's collaborators: ports only. */
export interface EventDeps {
  ledger: AttemptLedger;
  directory: NumberDirectory;
  jobs: JobSender;
  deadLetters: EventDeadLetterSink;
  clock: Clock;
  policy: ResolvePolicy;
}

/** One SQS delivery of an EventBridge event. */
export interface EventDelivery {
  body: string;
  messageId: string;
}

/**
 * What one delivery did, as a value (metrics, logs and tests read it). `applied`: a ledger item changed or a job was
 * sent; `recorded`: the timeline only, or nothing; `dead_lettered`: an envelope was sent; `retry`: the message must come
 * back (a Graph read failed or may not be made yet).
 */
export interface EventOutcome {
  status: 'applied' | 'recorded' | 'dead_lettered' | 'retry';
  detailType?: string;
  businessAccountId?: string;
  changeId?: string;
  /** Numbers the event wrote or recorded. */
  phoneNumberIds: string[];
  jobKeys: string[];
  reason?: EventDeadLetterReason;
  detail: string;
}

interface EventContext {
  deps: EventDeps;
  delivery: EventDelivery;
  now: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Resolves one event: reads what it concerns, applies the pure decision, commits (reading again on a conflict), keeps
 * it on the number's timeline, then sends the job. Every step is idempotent, so a redelivery of a half-done event
 * finishes it, and a repeat of a finished one writes nothing and sends the same job key. Throws only on infrastructure
 * failures (the message is then retried).
 */
export async function runEvent(delivery: EventDelivery, deps: EventDeps): Promise<EventOutcome> {
  const context: EventContext = { deps, delivery, now: deps.clock.now() };
  let raw: unknown;
  try {
    raw = JSON.parse(delivery.body);
  } catch {
    return deadLetterInvalid(context, undefined, 'the message body is not JSON');
  }
  const parsed = parseRegistrarEvent(raw);
  if (!parsed.ok) return deadLetterInvalid(context, raw, parsed.error);
  // The bus's rule already routes only the receiver's webhook events; a copy from elsewhere is not Meta's word.
  if ((WEBHOOK_DETAIL_TYPES as readonly string[]).includes(parsed.event.detailType) && (raw as { source?: unknown }).source !== EVENT_SOURCE) {
    return deadLetterInvalid(context, raw, `${parsed.event.detailType} is accepted only from source ${EVENT_SOURCE}`);
  }
  return (HANDLERS[parsed.event.detailType] as (event: RegistrarEvent, context: EventContext) => Promise<EventOutcome>)(parsed.event, context);
}

const HANDLERS: { [E in RegistrarEvent as E['detailType']]: (event: E, context: EventContext) => Promise<EventOutcome> } = {
  PhoneNumberNameUpdated: (event, context) => resolveNumberEvent(event, context, (number) => planNameUpdate(number, event.detail, context.deps.policy)),
  PinChanged: (event, context) => resolveNumberEvent(event, context, (number) => planPinEvent(number, event.detailType, event.detail, context.now)),
  PinResetRequested: (event, context) => resolveNumberEvent(event, context, (number) => planPinEvent(number, event.detailType, event.detail, context.now)),
  AccountUpdated: resolveAccountUpdate,
  ReRegistrationRequested: resolveReRegistration,
};

/** A webhook event about one number: map it, apply the plan, keep it on the timeline, send the job. */
async function resolveNumberEvent(
  event: Extract<WebhookEvent, { detail: { displayPhoneNumber: string } }>,
  context: EventContext,
  plan: (number: NumberRecord) => NumberPlan,
): Promise<EventOutcome> {
  const { deps, now } = context;
  const { detail } = event;
  const facts = { detailType: event.detailType, businessAccountId: detail.businessAccountId, changeId: detail.changeId };
  const lookup = await deps.directory.find(detail.businessAccountId, detail.displayPhoneNumber, Date.parse(detail.occurredAt));
  if (lookup.kind === 'retry') return { ...facts, status: 'retry', phoneNumberIds: [], jobKeys: [], detail: lookup.why };
  if (lookup.kind === 'unknown_number') {
    const listed = lookup.listedAt === undefined ? 'it has no digits to look up' : `Meta's list read ${iso(lookup.listedAt)} does not show it`;
    const sentence = `No number of business account ${detail.businessAccountId} has the display number ${detail.displayPhoneNumber} (${listed}); the ${event.detailType} event was not applied.`;
    await deps.deadLetters.send(
      envelope(context, 'unknown_number', sentence, {
        ...facts,
        displayPhoneNumber: detail.displayPhoneNumber,
        occurredAt: detail.occurredAt,
        ...(lookup.listedAt !== undefined ? { listedAt: iso(lookup.listedAt) } : {}),
        event: detail,
      }),
    );
    return { ...facts, status: 'dead_lettered', reason: 'unknown_number', phoneNumberIds: [], jobKeys: [], detail: sentence };
  }
  const { phoneNumberId, business } = lookup;
  const written = await updateNumber(deps.ledger, phoneNumberId, (number) => plan(mapInto(number, business)), now);
  if (written.event) await deps.ledger.recordEvent(phoneNumberId, written.event, now + EVENT_KEEP_MS);
  if (written.job) await deps.jobs.send(written.job);
  const what = written.job ? `register job ${written.job.idempotencyKey} sent` : 'no job';
  return {
    ...facts,
    status: written.changed || written.job ? 'applied' : 'recorded',
    phoneNumberIds: [phoneNumberId],
    jobKeys: written.job ? [written.job.idempotencyKey] : [],
    detail: `${written.event?.summary ?? event.detailType}: ${written.changed ? 'number updated' : 'number unchanged'}, ${what}`,
  };
}

/**
 * An account update: the business's account state moves only for a newer restricting or lifting event, and then
 * every known number of the business is held or released to match (listing them first when none is known yet).
 */
async function resolveAccountUpdate(event: Extract<RegistrarEvent, { detailType: 'AccountUpdated' }>, context: EventContext): Promise<EventOutcome> {
  const { deps, now } = context;
  const { detail } = event;
  const waba = detail.businessAccountId;
  const facts = { detailType: event.detailType, businessAccountId: waba, changeId: detail.changeId };
  const effect = classifyAccountUpdate(detail);
  const at = Date.parse(detail.occurredAt);
  const touched = new Set<string>();
  let changed = 0;
  let outcome = `${effect === 'informational' ? 'informational' : `${effect}, older than the account state recorded`}: no hold changed`;
  if (effect !== 'informational') {
    const updated = await updateBusiness(deps.ledger, waba, (current) => nextAccountState(current, detail, effect, at), now);
    let business = updated.business;
    if (updated.changed) changed += 1;
    // The business's current state is applied to its numbers whichever event this is: an older event's delivery may be
    // the first to get through (a newer one recorded the state, then failed to list the numbers), and applying the
    // state again changes nothing when it is already applied.
    if (business.account) {
      const isCurrent = isCurrentAccountEvent(business, effect, at);
      const holdDetail = isCurrent ? accountHoldDetail(detail) : business.account.event;
      if (business.account.state === 'restricted') {
        const listed = await deps.directory.withNumbers(waba, holdDetail);
        if (listed.kind === 'retry') return { ...facts, status: 'retry', phoneNumberIds: [], jobKeys: [], detail: listed.why };
        business = listed.business;
      }
      const current = business;
      for (const id of new Set(Object.values(current.numbers))) {
        const written = await updateNumber(
          deps.ledger,
          id,
          (number) => ({ number: withAccountState(number.businessAccountId === waba ? number : { ...number, businessAccountId: waba }, current, holdDetail) }),
          now,
        );
        touched.add(id);
        if (written.changed) changed += 1;
      }
      outcome = `${isCurrent ? effect : `${effect}, older than the account state recorded`}: the account is ${business.account?.state} since ${iso(business.account!.at)}, for ${touched.size} known numbers`;
    }
  }
  const mentioned = detail.displayPhoneNumber === undefined ? undefined : await deps.directory.known(waba, detail.displayPhoneNumber);
  if (mentioned !== undefined) touched.add(mentioned);
  const timeline = timelineEntry(event);
  for (const id of touched) await deps.ledger.recordEvent(id, timeline, now + EVENT_KEEP_MS);
  return { ...facts, status: changed > 0 ? 'applied' : 'recorded', phoneNumberIds: [...touched], jobKeys: [], detail: `${timeline.summary}: ${outcome}` };
}

/** Another system asks for one re-registration; its business account, when given, is recorded on the number. */
async function resolveReRegistration(event: Extract<RegistrarEvent, { detailType: 'ReRegistrationRequested' }>, context: EventContext): Promise<EventOutcome> {
  const { deps, now } = context;
  const { detail } = event;
  const business = detail.businessAccountId === undefined ? undefined : await deps.ledger.business(detail.businessAccountId);
  const written = await updateNumber(deps.ledger, detail.phoneNumberId, (number) => planReRegistration(business ? mapInto(number, business) : number, detail), now);
  const job = written.job!;
  await deps.jobs.send(job);
  return {
    detailType: event.detailType,
    ...(detail.businessAccountId ? { businessAccountId: detail.businessAccountId } : {}),
    status: 'applied',
    phoneNumberIds: [detail.phoneNumberId],
    jobKeys: [job.idempotencyKey],
    detail: `re-registration ${detail.requestId} (${detail.reason}): register job ${job.idempotencyKey} sent`,
  };
}

async function deadLetterInvalid(context: EventContext, raw: unknown, error: string): Promise<EventOutcome> {
  const detailType = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)['detail-type'] : undefined;
  const known = typeof detailType === 'string' ? { detailType: detailType.slice(0, 64) } : {};
  const sentence = `The message is not a valid wa-registrar event: ${error}`;
  await context.deps.deadLetters.send(envelope(context, 'invalid_event', sentence, { ...known, rawBody: redactedRawBody(context.delivery.body).text }));
  return { ...known, status: 'dead_lettered', reason: 'invalid_event', phoneNumberIds: [], jobKeys: [], detail: sentence };
}

function envelope(
  context: EventContext,
  reason: EventDeadLetterReason,
  detail: string,
  fields: Omit<EventDeadLetterV1, 'kind' | 'schemaVersion' | 'reason' | 'detail' | 'hint' | 'deadLetteredAt' | 'sourceMessageId'>,
): EventDeadLetterV1 {
  return redactEventDeadLetter({
    kind: EVENT_DEAD_LETTER_KIND,
    schemaVersion: 1,
    reason,
    detail,
    hint: EVENT_DEAD_LETTER_HINTS[reason],
    ...fields,
    deadLetteredAt: iso(context.now),
    sourceMessageId: context.delivery.messageId,
  });
}
