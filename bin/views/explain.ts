import type { BudgetPolicy } from '../../shared/domain/budget.ts';
import { evaluateBudget } from '../../shared/domain/budget.ts';
import type { DeadLetter, HoldProbe } from '../../shared/dead-letters/index.ts';
import type { GraphClient } from '../../shared/graph/port.ts';
import { nameApprovalMet, type AttemptLedger } from '../../shared/ledger/port.ts';
import { explainNumber, type DeadLetterFacts, type ExplainFacts, type Finding, type LiveFacts, type RuleId, type SecretVersionFacts } from '../ops/explain.ts';
import { formatTime, table } from './format.ts';
import { redactSecrets } from './redact.ts';

/** `wa-registrar explain`: reads the facts (read-only), merges them into one timeline, and shows the verdict. */

/** What a timeline entry is about. */
type TimelineKind = 'attempt' | 'hold' | 'block' | 'gate' | 'throttle' | 'window' | 'dead_letter' | 'event' | 'name' | 'verification' | 'pin' | 'account' | 'live';

interface TimelineEntry {
  at: number;
  kind: TimelineKind;
  summary: string;
}

/** A finding as `--json` prints it: times in ISO 8601. */
interface FindingView {
  rule: RuleId;
  cause: string;
  since?: string;
  until?: string;
  nextStep: string;
}

/** `wa-registrar explain --json`: stable field names; times are ISO 8601 UTC. Never a PIN or a token. */
export interface ExplainView {
  phoneNumberId: string;
  now: string;
  /** Everything known about the number, oldest first (times ahead of `now` are when something ends). */
  timeline: Array<{ at: string; kind: TimelineKind; summary: string }>;
  /** Every finding by priority; the first is the verdict. */
  findings: FindingView[];
  verdict: FindingView;
  /** The live state read: `known` with the state, `unknown` (the read failed), or `not_read` and why. */
  live: { result: 'known'; at: string; status?: string; platformType?: string; codeVerificationStatus?: string; nameStatus?: string } | { result: 'unknown' | 'not_read'; why: string };
  /** What could not be read, and anything else that limits the answer. */
  notes: string[];
}

/** Where explain reads from. Every source is read-only: nothing is written, deleted, or sent to Meta but one GET. */
export interface ExplainSources {
  ledger: AttemptLedger;
  /** The number's dead letters (a peek, released at once), or why they cannot be read. */
  deadLetters: (() => Promise<{ messages: DeadLetter[]; incomplete?: string }>) | { notRead: string };
  /** Secret versions (ListSecretVersionIds, never a value), to tell whether a PIN hold or the token gate is lifted. */
  secretVersions?: HoldProbe;
  live: () => Promise<LiveFacts>;
}

/** Reads everything explain looks at. Only the ledger's failures fail the command; the rest becomes a note. */
export async function readExplainFacts(sources: ExplainSources, phoneNumberId: string, policy: BudgetPolicy, now: number): Promise<{ facts: ExplainFacts; notes: string[] }> {
  const { ledger } = sources;
  const notes: string[] = [];
  const [number, history, app, events] = await Promise.all([ledger.number(phoneNumberId), ledger.history(phoneNumberId), ledger.appGates(), ledger.events(phoneNumberId)]);
  const [business, deadLetters, live] = await Promise.all([
    number.businessAccountId === undefined ? undefined : ledger.business(number.businessAccountId),
    readDeadLetters(sources.deadLetters, notes),
    sources.live(),
  ]);
  const messages = deadLetters.kind === 'read' ? deadLetters.messages : [];
  const pinHeld = (number.hold && ['pin_rejected', 'pin_locked', 'pin_changed'].includes(number.hold.cause)) || messages.some((message) => ['pin_rejected', 'pin_locked', 'pin_changed'].includes(message.category));
  const tokenHeld = app.tokenGate !== undefined || messages.some((message) => message.category === 'token_rejected');
  const [pinSecret, tokenSecret] = await Promise.all([
    pinHeld ? secretVersion(sources.secretVersions, 'pin_rejected', phoneNumberId, notes) : undefined,
    tokenHeld ? secretVersion(sources.secretVersions, 'token_rejected', phoneNumberId, notes) : undefined,
  ]);
  return {
    facts: {
      phoneNumberId,
      now,
      policy,
      number,
      history,
      app,
      ...(business ? { business } : {}),
      events,
      deadLetters,
      live,
      ...(pinSecret ? { pinSecret } : {}),
      ...(tokenSecret ? { tokenSecret } : {}),
    },
    notes,
  };
}

async function readDeadLetters(source: ExplainSources['deadLetters'], notes: string[]): Promise<DeadLetterFacts> {
  if (typeof source !== 'function') {
    notes.push(`dead letters not read: ${source.notRead}`);
    return { kind: 'not_read', why: source.notRead };
  }
  try {
    const listing = await source();
    if (listing.incomplete) notes.push(`dead-letter listing incomplete: ${listing.incomplete}`);
    return { kind: 'read', messages: listing.messages };
  } catch (error) {
    const why = failureName(error);
    notes.push(`dead letters not read: ${why}`);
    return { kind: 'not_read', why };
  }
}

async function secretVersion(probe: HoldProbe | undefined, cause: 'pin_rejected' | 'token_rejected', phoneNumberId: string, notes: string[]): Promise<SecretVersionFacts> {
  const what = cause === 'token_rejected' ? 'token' : 'PIN';
  if (!probe) return { secretProblem: 'no ledger to ask' };
  try {
    const facts = await probe.facts({ cause, phoneNumberId });
    if (facts.secretProblem) notes.push(`the ${what} secret's current version is not known: ${facts.secretProblem}`);
    return {
      ...(facts.secretVersion === undefined ? {} : { secretVersion: facts.secretVersion }),
      ...(facts.secretCreatedAt === undefined ? {} : { secretCreatedAt: facts.secretCreatedAt }),
      ...(facts.secretProblem === undefined ? {} : { secretProblem: facts.secretProblem }),
    };
  } catch (error) {
    const why = `its versions could not be listed (${failureName(error)})`;
    notes.push(`the ${what} secret's current version is not known: ${why}`);
    return { secretProblem: why };
  }
}

/** Where the live read gets its Graph client and token; either may be unavailable, with the reason. */
export interface LiveSource {
  graph: GraphClient | { notRead: string };
  /** Reads the Graph token (the worker's token secret); rejects with a sentence when it cannot. */
  token: () => Promise<string>;
  now: () => number;
}

/**
 * One state read (`GET /{id}`): free, never a register or deregister, and never a reason to fail the command. Without
 * a Graph URL or a readable token (AccessDenied, no such secret, not configured) it says why and stops there.
 */
export async function readLiveState(phoneNumberId: string, source: LiveSource): Promise<LiveFacts> {
  if ('notRead' in source.graph) return { kind: 'not_read', why: source.graph.notRead };
  let token: string;
  try {
    token = await source.token();
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (/AccessDenied/i.test(name)) return { kind: 'not_read', why: 'access denied to the token secret: this role may not read it' };
    return { kind: 'not_read', why: name === 'CommandError' || name === 'UsageError' ? (error as Error).message : `the token could not be read (${failureName(error)})` };
  }
  const read = await source.graph.readState(phoneNumberId, token);
  const at = source.now();
  if (read.kind === 'known') return { kind: 'known', at, state: read.state };
  return { kind: 'unknown', at, why: read.why, ...(read.code === undefined ? {} : { code: read.code }) };
}

/** Every fact with a time, merged into one list, oldest first. Pure. */
function buildTimeline(facts: ExplainFacts): TimelineEntry[] {
  const { number, history, app, business, events, deadLetters, live, now, policy } = facts;
  const entries: TimelineEntry[] = [];
  const add = (at: number | undefined, kind: TimelineKind, summary: string) => {
    if (at !== undefined) entries.push({ at, kind, summary });
  };
  for (const attempt of history) {
    const extra = [attempt.code === undefined ? undefined : String(attempt.code), attempt.fbtraceId === undefined ? undefined : `fbtrace ${attempt.fbtraceId}`].filter(Boolean);
    add(attempt.at, 'attempt', `${attempt.operation} (${attempt.reason}) ${attempt.outcome}${extra.length > 0 ? ` ${extra.join(', ')}` : ''}`);
  }
  const hold = number.hold;
  if (hold) {
    const facts = [hold.code === undefined ? undefined : `code ${hold.code}`, hold.pinVersion === undefined ? undefined : `PIN version ${hold.pinVersion}`].filter(Boolean);
    add(hold.since, 'hold', `held: ${hold.cause}${facts.length > 0 ? ` (${facts.join(', ')})` : ''}: ${hold.detail}`);
    if (hold.until !== undefined) add(hold.until, 'hold', `${hold.cause} lockout ends: Meta checks PINs again`);
  }
  if (number.accountHold) add(number.accountHold.since, 'account', `account hold: ${number.accountHold.detail}`);
  if (business?.account) add(business.account.at, 'account', `business ${business.businessAccountId} account ${business.account.state}: ${business.account.event}`);
  const blockedUntil = Math.max(0, ...Object.values(number.blockedUntil).map((until) => until ?? 0));
  if (blockedUntil > 0) add(blockedUntil, 'block', `Meta's block (133016) ${blockedUntil > now ? 'ends' : 'ended'}`);
  const window = evaluateBudget({ ...number, blockedUntil: {} }, ['register'], now, policy);
  if (!window.allowed) add(window.until, 'window', `the attempt window reopens (${window.used}/${policy.limit} used now)`);
  if (number.incompleteDeregister) add(number.incompleteDeregister.since, 'attempt', 'Meta said an earlier deregistration is unfinished (133000)');
  if (app.tokenGate) add(app.tokenGate.since, 'gate', `token gate closed (code ${app.tokenGate.code}, token version ${app.tokenGate.tokenVersion})`);
  if (app.throttledUntil !== undefined && app.throttledUntil > now) add(app.throttledUntil, 'throttle', "Meta's throttle on the whole app ends");
  for (const [waba, until] of Object.entries(app.businessThrottles ?? {})) {
    if (until > now && (number.businessAccountId === undefined || number.businessAccountId === waba)) add(until, 'throttle', `Meta's throttle on business ${waba} ends`);
  }
  if (deadLetters.kind === 'read') {
    for (const message of deadLetters.messages) {
      const eligible = message.eligibleAt === undefined ? '' : `, eligible ${formatTime(message.eligibleAt)}`;
      add(message.deadLetteredAt > 0 ? message.deadLetteredAt : undefined, 'dead_letter', `${message.action ?? 'job'} dead-lettered: ${message.category}${message.code === undefined ? '' : ` ${message.code}`} (message ${message.messageId}${eligible})`);
    }
  }
  for (const event of events) add(event.at, 'event', `${event.detailType}: ${event.summary}`);
  const approval = number.nameApproval;
  if (approval) {
    add(approval.approvedAt, 'name', `${approval.requestedName === undefined ? 'display name' : `display name "${approval.requestedName}"`} approved`);
    const standing = nameApprovalMet(number) ? 'met' : approval.deadline <= now ? 'missed' : 'not met yet';
    add(approval.deadline, 'name', `re-register deadline for the approved name (${standing})`);
  }
  const verification = number.verification;
  if (verification) {
    add(verification.requestedAt, 'verification', `verification code requested${verification.method ? ` (${verification.method})` : ''}`);
    add(verification.confirmedAt, 'verification', 'verification confirmed');
    if (verification.lastError) {
      add(verification.lastError.at, 'verification', `verification step failed${verification.lastError.code === undefined ? '' : ` (code ${verification.lastError.code})`}: ${verification.lastError.message}`);
    }
  }
  if (number.pinRotation) add(number.pinRotation.since, 'pin', `PIN rotation started (pending version ${number.pinRotation.pendingVersion})`);
  if (number.lastPinSet) add(number.lastPinSet.at, 'pin', `PIN set at Meta by ${number.lastPinSet.by} (version ${number.lastPinSet.version})`);
  if (live.kind === 'known') add(live.at, 'live', `state read: ${describeState(live)}`);
  else if (live.kind === 'unknown') add(live.at, 'live', `state read failed: ${live.why}`);
  // A stable sort: entries at the same time keep the order above (an attempt before the hold it caused).
  return entries.sort((a, b) => a.at - b.at);
}

function describeState(live: Extract<LiveFacts, { kind: 'known' }>): string {
  const { status, platformType, codeVerificationStatus, nameStatus } = live.state;
  return [
    `${status ?? 'status absent'}${platformType === undefined ? '' : ` on ${platformType}`}`,
    codeVerificationStatus === undefined ? undefined : `verification ${codeVerificationStatus}`,
    nameStatus === undefined ? undefined : `name ${nameStatus}`,
  ]
    .filter(Boolean)
    .join(', ');
}

/** The verdict, the findings and the timeline, with ISO times. Pure. */
export function buildExplainView(facts: ExplainFacts, notes: string[] = []): ExplainView {
  const { verdict, findings } = explainNumber(facts);
  const { live } = facts;
  const view: ExplainView = {
    phoneNumberId: facts.phoneNumberId,
    now: iso(facts.now),
    timeline: buildTimeline(facts).map((entry) => ({ at: iso(entry.at), kind: entry.kind, summary: entry.summary })),
    findings: findings.map(toFindingView),
    verdict: toFindingView(verdict),
    live:
      live.kind === 'known'
        ? {
            result: 'known',
            at: iso(live.at),
            ...(live.state.status === undefined ? {} : { status: live.state.status }),
            ...(live.state.platformType === undefined ? {} : { platformType: live.state.platformType }),
            ...(live.state.codeVerificationStatus === undefined ? {} : { codeVerificationStatus: live.state.codeVerificationStatus }),
            ...(live.state.nameStatus === undefined ? {} : { nameStatus: live.state.nameStatus }),
          }
        : { result: live.kind, why: live.kind === 'unknown' && live.code !== undefined ? `${live.why} (code ${live.code})` : live.why },
    notes,
  };
  // A backstop: nothing explain reads holds a secret, but output must stay secret-free whatever a record carries.
  return redactSecrets(view);
}

/** How many timeline rows people see; `--json` has them all. */
const TIMELINE_ROWS = 20;

/** The people view: the verdict line first, what to do, the other findings, then the timeline. */
export function renderExplain(view: ExplainView): string {
  const { verdict } = view;
  const lines: string[] = [];
  const since = verdict.since === undefined || verdict.rule === 'live' ? '' : ` (since ${formatTime(Date.parse(verdict.since))})`;
  lines.push(`Number ${view.phoneNumberId}: ${verdict.rule}${since}: ${verdict.cause}`);
  lines.push(`  next: ${verdict.nextStep}`);
  for (const finding of view.findings.slice(1)) lines.push(`  also ${finding.rule}: ${finding.cause}`);
  lines.push(
    view.live.result === 'known'
      ? `  live state: ${view.live.status ?? 'status absent'}${view.live.platformType ? ` on ${view.live.platformType}` : ''}${view.live.codeVerificationStatus ? `, verification ${view.live.codeVerificationStatus}` : ''} (read ${formatTime(Date.parse(view.live.at))})`
      : `  live state: ${view.live.result === 'unknown' ? 'read failed' : 'not read'} (${view.live.why})`,
  );
  for (const note of view.notes) lines.push(`  note: ${note}`);
  lines.push('');
  if (view.timeline.length === 0) {
    lines.push('Timeline: nothing recorded for this number.');
    return lines.join('\n');
  }
  const shown = view.timeline.slice(-TIMELINE_ROWS);
  const hidden = view.timeline.length - shown.length;
  lines.push(`Timeline (oldest first${hidden > 0 ? `; ${hidden} earlier entries left out, --json has them` : ''}):`);
  const rows = shown.map((entry) => [formatTime(Date.parse(entry.at)), entry.kind, entry.summary]);
  lines.push(table(['TIME', 'KIND', 'WHAT'], rows).replace(/^/gm, '  '));
  return lines.join('\n');
}

function toFindingView(finding: Finding): FindingView {
  return {
    rule: finding.rule,
    cause: finding.cause,
    ...(finding.since === undefined ? {} : { since: iso(finding.since) }),
    ...(finding.until === undefined ? {} : { until: iso(finding.until) }),
    nextStep: finding.nextStep,
  };
}

function failureName(error: unknown): string {
  if (error instanceof Error) return error.name === 'Error' ? error.message : error.name;
  return String(error);
}

const iso = (ms: number) => new Date(ms).toISOString();
