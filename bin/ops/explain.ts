import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../shared/clock.ts';
import { blockedUntilFor, evaluateBudget, type BudgetPolicy } from '../../shared/domain/budget.ts';
import { isConnected } from '../../shared/domain/job-context.ts';
import { throttleFor } from '../../shared/domain/throttle.ts';
import { deadLetterHold, decideRedrive, holdVerdict, type DeadLetter, type HoldFacts } from '../../shared/dead-letters/index.ts';
import type { NumberState } from '../../shared/graph/port.ts';
import { nameApprovalMet, type AppGates, type AttemptRecord, type BusinessRecord, type NumberEvent, type NumberHold, type NumberRecord } from '../../shared/ledger/port.ts';
import { formatRelative, formatTime } from '../views/format.ts';
import { holdLiftedBy, tokenGateLiftedBy } from './holds.ts';

/**
 * `wa-registrar explain`: why a number is not live, as a pure, table-driven verdict over facts the command read
 * (ledger, dead-letter queue, secret versions, one live state read). Each rule turns the facts into a finding or
 * nothing; the rules run in priority order, the first finding is the verdict and the others are listed with it.
 * One file, over the usual length, on purpose: the table is read (and ordered) in one place.
 */

/** Whether a hold is lifted, as the redrive judges it. */
type HoldVerdict = ReturnType<typeof holdVerdict>;

/** The live state read (`GET /{id}`, free, never an attempt): known, failed, or not made (and why). */
export type LiveFacts =
  | { kind: 'known'; at: number; state: NumberState }
  | { kind: 'unknown'; at: number; why: string; code?: number }
  | { kind: 'not_read'; why: string };

/** The number's dead letters (read-only peek, like `dlq list --number`), or why they were not read. */
export type DeadLetterFacts = { kind: 'read'; messages: DeadLetter[] } | { kind: 'not_read'; why: string };

/** A secret's current version, from ListSecretVersionIds (never its value): what decides whether a hold is lifted. */
export type SecretVersionFacts = Pick<HoldFacts, 'secretVersion' | 'secretCreatedAt' | 'secretProblem'>;

/** Everything the verdict reads. */
export interface ExplainFacts {
  phoneNumberId: string;
  now: number;
  policy: BudgetPolicy;
  number: NumberRecord;
  /** The number's requests on the ledger, oldest first. */
  history: AttemptRecord[];
  app: AppGates;
  /** The number's business item, when its business account is known. */
  business?: BusinessRecord;
  /** Webhook events recorded for the number, oldest first. */
  events: NumberEvent[];
  deadLetters: DeadLetterFacts;
  live: LiveFacts;
  /** The PIN secret's current version, read when a PIN hold or a held dead letter needs it. */
  pinSecret?: SecretVersionFacts;
  /** The token secret's current version, read when the token gate is closed or a dead letter names it. */
  tokenSecret?: SecretVersionFacts;
}

/** What a rule finds: one thing that stops (or explains) the number, and what to do about it. Times are epoch ms. */
interface FindingBody {
  cause: string;
  since?: number;
  until?: number;
  nextStep: string;
}

/** A finding, named by the rule that made it. */
export interface Finding extends FindingBody {
  rule: RuleId;
}

export interface Explanation {
  /** The first finding by priority. */
  verdict: Finding;
  /** Every finding, the verdict first, then the rest by priority. */
  findings: Finding[];
}

/** A name approval closer than this to its deadline (and not met) is due: the deadline watch's default DEADLINE_WARN_DAYS. */
const NAME_DEADLINE_WARN_MS = 3 * DAY_MS;

/** The facts plus what several rules derive from them, computed once. */
interface Derived extends ExplainFacts {
  /** `wa-registrar hold clear <id>` */
  clearCommand: string;
  /** `wa-registrar dlq redrive --eligible --number <id>` */
  redriveCommand: string;
  /** Whether the live read shows the number live (CONNECTED on CLOUD_API); undefined when not known. */
  connected: boolean | undefined;
  /** The live read's code verification status, when read. */
  verificationStatus?: string;
  /** Whether the number's PIN hold (PIN causes only) is lifted, as the redrive judges it. */
  pinHold?: HoldVerdict;
  /** Whether the token gate is lifted by a new token version, as the redrive judges it. */
  tokenGate?: HoldVerdict;
}

type Check = (facts: Derived) => FindingBody | undefined;

/** Why the live state is not known, as a clause. */
const liveNotKnown = (live: Exclude<LiveFacts, { kind: 'known' }>) => `live state ${live.kind === 'unknown' ? 'read failed' : 'not read'}: ${live.why}`;
const at = (ms: number, now: number) => `${formatTime(ms)} (${formatRelative(ms, now)})`;
const PIN_SECRET = (id: string) => `the PIN secret (PIN_SECRET_PREFIX + ${id})`;
const PIN_CAUSES: ReadonlySet<NumberHold['cause']> = new Set(['pin_rejected', 'pin_locked', 'pin_changed']);

/** The table: rule → check, in priority order. */
const RULES = [
  [
    'account_restricted',
    ({ number, phoneNumberId, now }) => {
      const hold = number.accountHold;
      if (!hold) return undefined;
      const waba = hold.businessAccountId ?? number.businessAccountId;
      return {
        cause: `Meta restricted the business account${waba === undefined ? '' : ` ${waba}`} (${hold.detail}): no job of the number sends anything`,
        since: hold.since,
        nextStep: holdLiftedBy(phoneNumberId, hold, now),
      };
    },
  ],
  [
    'token_rejected',
    ({ app, tokenGate, live }) => {
      const gate = app.tokenGate;
      if (gate && tokenGate && !tokenGate.lifted) {
        return {
          cause: `Meta refused the Graph token (code ${gate.code}, token version ${gate.tokenVersion}): the token gate stops every job, for every number`,
          since: gate.since,
          nextStep: tokenGateLiftedBy(),
        };
      }
      if (live.kind === 'unknown' && live.code === 190) {
        return {
          cause: 'Meta refuses the Graph token (190 on the live state read): every request would fail',
          since: live.at,
          nextStep: 'Store a valid system-user token as a new version of the token secret (TOKEN_SECRET_ID).',
        };
      }
      return undefined;
    },
  ],
  [
    'blocked',
    ({ number, policy, history, now, redriveCommand }) => {
      const until = blockedUntilFor(number, 'register', policy);
      if (until <= now) return undefined;
      const since = history.findLast((attempt) => attempt.code === 133016)?.at;
      return {
        cause: `Meta blocked the number (133016) until ${at(until, now)}: nothing is sent before then`,
        ...(since === undefined ? {} : { since }),
        until,
        nextStep: `Wait until ${formatTime(until)}; rate_limited dead letters go back by themselves after it (scheduled redrive), or \`${redriveCommand}\` then.`,
      };
    },
  ],
  [
    'pin_locked',
    ({ number, phoneNumberId, now }) => {
      const hold = number.hold;
      if (hold?.cause !== 'pin_locked' || hold.until === undefined || hold.until <= now) return undefined;
      return {
        cause: `Meta checks no PIN for this number until ${at(hold.until, now)} after wrong PINs${hold.code === undefined ? '' : ` (code ${hold.code})`}`,
        since: hold.since,
        until: hold.until,
        nextStep: `Wait until ${formatTime(hold.until)} (a register before then only earns another lockout); if the stored PIN is wrong, store the right one as a new version of ${PIN_SECRET(phoneNumberId)} meanwhile.`,
      };
    },
  ],
  [
    'verification',
    ({ number, phoneNumberId, verificationStatus, live }) => {
      const hold = number.hold?.cause === 'needs_verification' ? number.hold : undefined;
      const liveNotVerified = verificationStatus !== undefined && verificationStatus !== 'VERIFIED';
      if (!liveNotVerified && !(hold && verificationStatus === undefined)) return undefined;
      const verification = number.verification;
      const lastError = verification?.lastError;
      const failed = lastError ? `; the last verification step failed ${formatTime(lastError.at)}${lastError.code === undefined ? '' : ` (code ${lastError.code})`}` : '';
      const cause = liveNotVerified
        ? `${verificationStatus === 'EXPIRED' ? `verification expired${hold ? ` (found ${formatTime(hold.since)})` : ''}` : `verification is ${verificationStatus}`}: Meta refuses a register (133006) until the number is verified again${failed}`
        : `held for verification since ${formatTime(hold!.since)}: a pre-flight read found it not VERIFIED (${live.kind === 'known' ? 'the live read does not show it' : 'live state not read'})${failed}`;
      const codePending =
        verification?.requestedAt !== undefined && (verification.confirmedAt === undefined || verification.confirmedAt < verification.requestedAt);
      const request = `\`wa-registrar verify request ${phoneNumberId} --method sms\``;
      const confirm = `\`wa-registrar verify confirm ${phoneNumberId} -\` (the code on stdin)`;
      const steps = codePending
        ? `A code was requested ${formatTime(verification!.requestedAt!)}${verification!.method ? ` (${verification!.method})` : ''}: confirm it with ${confirm}, or ask for a new one with ${request}`
        : `${request}, then confirm the code the number receives with ${confirm}`;
      return {
        cause,
        ...(hold ? { since: hold.since } : {}),
        nextStep: hold ? `${steps}; confirming lifts the hold and sends the held jobs back.` : `${steps}.`,
      };
    },
  ],
  [
    'pin_changed',
    ({ number, pinHold, phoneNumberId, now }) => {
      const hold = number.hold;
      if (hold?.cause !== 'pin_changed' || pinHold?.lifted) return undefined;
      return { cause: `Meta says the number's PIN was changed or a reset requested (${hold.detail})`, since: hold.since, nextStep: holdLiftedBy(phoneNumberId, hold, now) };
    },
  ],
  [
    'pin_rejected',
    ({ number, pinHold, pinSecret, phoneNumberId, redriveCommand, now }) => {
      const hold = number.hold;
      if ((hold?.cause !== 'pin_rejected' && hold?.cause !== 'pin_locked') || pinHold?.lifted !== false) return undefined;
      // A lockout still running is the pin_locked rule's.
      if (hold.cause === 'pin_locked' && hold.until !== undefined && hold.until > now) return undefined;
      const facts = [hold.code === undefined ? undefined : `code ${hold.code}`, hold.pinVersion === undefined ? undefined : `PIN version ${hold.pinVersion}`].filter(Boolean);
      const current =
        pinSecret?.secretVersion !== undefined ? ', and that version is still the current one' : pinSecret?.secretProblem !== undefined ? `; the PIN secret's current version is not known (${pinSecret.secretProblem})` : '';
      return {
        cause: `Meta refused the stored PIN${facts.length > 0 ? ` (${facts.join(', ')})` : ''}${hold.cause === 'pin_locked' ? '; the lockout has ended' : ''}${current}`,
        since: hold.since,
        nextStep: `Store the right PIN as a new version of ${PIN_SECRET(phoneNumberId)}: that lifts the hold, and held jobs go back with the next scheduled redrive (or \`${redriveCommand}\`).`,
      };
    },
  ],
  [
    'deregister_stuck',
    ({ number, phoneNumberId, now }) => {
      const hold = number.hold;
      if (hold?.cause !== 'deregister_stuck') return undefined;
      return { cause: `Meta keeps answering 133000 (an unfinished deregistration) after a repair (${hold.detail})`, since: hold.since, nextStep: holdLiftedBy(phoneNumberId, hold, now) };
    },
  ],
  [
    'verification_hold_stale',
    ({ number, verificationStatus, clearCommand, redriveCommand }) => {
      const hold = number.hold;
      if (hold?.cause !== 'needs_verification' || verificationStatus !== 'VERIFIED') return undefined;
      return {
        cause: `held for verification since ${formatTime(hold.since)}, but the live read shows VERIFIED`,
        since: hold.since,
        nextStep: `The next register job's pre-flight read lifts it; for held dead letters: \`${clearCommand}\`, then \`${redriveCommand}\`.`,
      };
    },
  ],
  [
    'pin_rotation',
    ({ number }) => {
      const rotation = number.pinRotation;
      if (!rotation) return undefined;
      return {
        cause: `a PIN rotation to version ${rotation.pendingVersion} is under way: register jobs wait for it`,
        since: rotation.since,
        nextStep: 'Wait for the rotation to finish (its finishSecret step); if it does not, check the PIN secret\'s rotation in Secrets Manager.',
      };
    },
  ],
  [
    'throttled',
    ({ app, number, now }) => {
      const until = throttleFor(app, number.businessAccountId, now);
      if (until === undefined) return undefined;
      const whole = (app.throttledUntil ?? 0) >= until;
      const whom = whole ? 'the whole app' : number.businessAccountId === undefined ? 'a business (this number\'s business is not known yet)' : `business ${number.businessAccountId}`;
      return { cause: `Meta throttles ${whom} until ${at(until, now)}`, until, nextStep: `Nothing to do: jobs wait and go on by themselves after ${formatTime(until)}.` };
    },
  ],
  [
    'window_full',
    ({ number, policy, now }) => {
      // The block has its own rule: count the window alone.
      const budget = evaluateBudget({ ...number, blockedUntil: {} }, ['register'], now, policy);
      if (budget.allowed) return undefined;
      const margin = policy.marginMs > 0 ? ` + ${policy.marginMs / MINUTE_MS} min` : '';
      return {
        cause: `the attempt window is full (${budget.used}/${policy.limit} requests in ${policy.windowMs / HOUR_MS} h${margin}) until ${at(budget.until, now)}`,
        until: budget.until,
        nextStep: `Wait: the next request can go at ${formatTime(budget.until)}; rate_limited dead letters go back by themselves then (scheduled redrive).`,
      };
    },
  ],
  ['name_approval_missed', (facts) => nameFinding(facts, 'missed')],
  ['name_approval_due', (facts) => nameFinding(facts, 'due')],
  [
    'hold_lifted',
    ({ number, app, pinHold, tokenGate, redriveCommand }) => {
      const lifted = [
        pinHold?.lifted && number.hold ? { cause: number.hold.cause, since: number.hold.since, how: pinHold.how } : undefined,
        tokenGate?.lifted && app.tokenGate ? { cause: 'token gate', since: app.tokenGate.since, how: tokenGate.how } : undefined,
      ].filter((entry) => entry !== undefined);
      if (lifted.length === 0) return undefined;
      return {
        cause: lifted.map((entry) => `the ${entry.cause} hold is lifted: ${entry.how}`).join('; '),
        since: Math.min(...lifted.map((entry) => entry.since)),
        nextStep: `The next job goes ahead; held dead letters go back with the next scheduled redrive, or now with \`${redriveCommand}\`.`,
      };
    },
  ],
  ['dead_letters', deadLetterFinding],
  [
    'in_progress',
    ({ number, history, connected, phoneNumberId, now }) => {
      const reserved = number.reserved.filter((slot) => slot.until > now);
      const last = history.at(-1);
      const open = connected !== true && last !== undefined && (last.outcome === 'pending' || last.outcome === 'unknown') ? last : undefined;
      if (reserved.length === 0 && !open) return undefined;
      const parts = [
        ...reserved.map((slot) => `job ${slot.jobKey} holds a ${slot.operation} slot until ${formatTime(slot.until)}`),
        ...(open ? [`the last ${open.operation} (${formatTime(open.at)}) has ${open.outcome === 'pending' ? 'no recorded answer yet' : 'an unknown outcome'}`] : []),
      ];
      return {
        cause: `a job is in progress: ${parts.join('; ')}`,
        since: Math.min(...reserved.map((slot) => slot.at), open?.at ?? Infinity),
        nextStep: `Wait for it: its next delivery reads the number's state before sending anything again (\`wa-registrar status ${phoneNumberId}\` shows the window).`,
      };
    },
  ],
  [
    'incomplete_deregister',
    ({ number, connected, phoneNumberId }) => {
      if (!number.incompleteDeregister || connected === true) return undefined;
      return {
        cause: 'Meta said an earlier deregistration is unfinished (133000): the next register job deregisters first',
        since: number.incompleteDeregister.since,
        nextStep: `Nothing to repair by hand: the next register job deregisters, then registers (\`wa-registrar enqueue register ${phoneNumberId}\` if none is queued).`,
      };
    },
  ],
  [
    'not_registered',
    ({ live, connected, number, phoneNumberId }) => {
      const last = number.lastSuccess;
      const deregistered = last?.operation === 'deregister' ? last : undefined;
      const register = `\`wa-registrar enqueue register ${phoneNumberId}\``;
      if (live.kind === 'known' && connected === false) {
        const { status, platformType } = live.state;
        if (status === 'CONNECTED') {
          return { cause: `the number is connected on ${platformType}, not on the Cloud API`, nextStep: `Migrate it: \`wa-registrar enqueue register ${phoneNumberId} --reason migration\`.` };
        }
        return {
          cause: `the number is not registered (live read: ${status}${platformType === undefined ? '' : `, ${platformType}`})${deregistered ? `; a job deregistered it ${formatTime(deregistered.at)}` : ''}`,
          ...(deregistered ? { since: deregistered.at } : {}),
          nextStep: `${register} if it should be live.`,
        };
      }
      if (live.kind !== 'known' && deregistered) {
        return {
          cause: `the last request that took effect was a deregister (${liveNotKnown(live)})`,
          since: deregistered.at,
          nextStep: `${register} if it should be live.`,
        };
      }
      return undefined;
    },
  ],
  ['name_approval_open', (facts) => nameFinding(facts, 'open')],
  [
    'live',
    ({ live, connected }) => {
      if (live.kind !== 'known' || connected !== true) return undefined;
      const { codeVerificationStatus, nameStatus } = live.state;
      const extra = [codeVerificationStatus && `verification ${codeVerificationStatus}`, nameStatus && `name ${nameStatus}`].filter(Boolean);
      return { cause: `CONNECTED on CLOUD_API${extra.length > 0 ? `, ${extra.join(', ')}` : ''}`, nextStep: 'Nothing to do.' };
    },
  ],
  [
    'live_per_ledger',
    ({ live, number }) => {
      const last = number.lastSuccess;
      if (live.kind === 'known' || last?.operation !== 'register') return undefined;
      return {
        cause: `registered ${formatTime(last.at)} per the ledger, and nothing on it stops the number (${liveNotKnown(live)})`,
        since: last.at,
        nextStep: 'Nothing to do; to confirm, let the CLI read the live state (the token secret and --graph-url).',
      };
    },
  ],
] as const satisfies ReadonlyArray<readonly [string, Check]>;

/** A rule's name: one per row of the table, plus the fallback. */
export type RuleId = (typeof RULES)[number][0] | 'no_cause_found';

/** The rules in priority order, the fallback last (docs/operations.md lists them in this order). */
export const RULE_ORDER: readonly RuleId[] = [...RULES.map(([rule]) => rule), 'no_cause_found'];

/** When nothing else explains the number. */
const NO_CAUSE: (facts: Derived) => FindingBody = ({ live, deadLetters, phoneNumberId }) => {
  const liveText =
    live.kind === 'known'
      ? `the live read is incomplete (status ${live.state.status ?? 'absent'}, platform ${live.state.platformType ?? 'absent'})`
      : live.kind === 'unknown'
        ? `the live state read failed (${live.why})`
        : `the live state was not read (${live.why})`;
  const dlq = deadLetters.kind === 'not_read' ? `; dead letters not read (${deadLetters.why})` : '';
  return {
    cause: `nothing on the ledger or the dead-letter queue explains it, and ${liveText}${dlq}`,
    nextStep: `\`wa-registrar status ${phoneNumberId}\` shows the window; \`wa-registrar enqueue register ${phoneNumberId}\` if the number should be live.`,
  };
};

/** The three name-approval rules: missed, due (deadline near), open. Met approvals find nothing. */
function nameFinding({ number, now, phoneNumberId }: Derived, standing: 'missed' | 'due' | 'open'): FindingBody | undefined {
  const approval = number.nameApproval;
  if (!approval || nameApprovalMet(number)) return undefined;
  const current = approval.deadline <= now ? 'missed' : approval.deadline - now < NAME_DEADLINE_WARN_MS ? 'due' : 'open';
  if (current !== standing) return undefined;
  const name = approval.requestedName === undefined ? 'a new display name' : `display name "${approval.requestedName}"`;
  const enqueue = `\`wa-registrar enqueue register ${phoneNumberId} --reason name_change\``;
  if (standing === 'missed') {
    return {
      cause: `${name} approved ${formatTime(approval.approvedAt)} was not re-registered by ${formatTime(approval.deadline)}: the approval has lapsed`,
      since: approval.deadline,
      nextStep: 'Submit the name again in WhatsApp Manager; its new approval queues the re-registration by itself.',
    };
  }
  return {
    cause: `${name} approved ${formatTime(approval.approvedAt)} must be re-registered by ${at(approval.deadline, now)}, not done yet`,
    since: approval.approvedAt,
    until: approval.deadline,
    nextStep:
      standing === 'due'
        ? `${enqueue} now (the approval's own job may be held or dead-lettered: see the other findings).`
        : `The approval queued a re-registration job; if the number is not re-registered by ${formatTime(approval.deadline)}: ${enqueue}.`,
  };
}

/** Dead letters of the number, by category, with the step each needs (the redrive's own rules decide which). */
function deadLetterFinding(facts: Derived): FindingBody | undefined {
  const { deadLetters, now, phoneNumberId, redriveCommand } = facts;
  if (deadLetters.kind !== 'read' || deadLetters.messages.length === 0) return undefined;
  const messages = deadLetters.messages;
  const counts = new Map<string, number>();
  for (const message of messages) counts.set(message.category, (counts.get(message.category) ?? 0) + 1);
  const steps = new Set<string>();
  const waits: string[] = [];
  for (const message of messages) {
    const held = deadLetterHold(message);
    const verdict = held ? holdVerdict(held, holdFactsFor(facts, held.cause === 'token_rejected' ? 'token' : 'pin'), now) : undefined;
    if (decideRedrive(message, { kind: 'eligible' }, now, verdict).redrive) {
      steps.add(`\`${redriveCommand}\``);
    } else if (decideRedrive(message, { kind: 'all' }, now, verdict).redrive) {
      steps.add(`${message.category === 'missing_secret' ? 'Store the missing secret, then ' : ''}\`wa-registrar dlq redrive --all --number ${phoneNumberId}\``);
    } else if (held) {
      waits.push(`The ${message.category} one waits for its hold to lift`);
    } else if (message.category === 'permanent_error' || message.category === 'max_receives') {
      steps.add(`\`wa-registrar dlq show ${message.messageId}\`, then once the cause is fixed \`wa-registrar dlq redrive --id ${message.messageId}\``);
    } else if (message.category === 'invalid_job' || message.category === 'unreadable') {
      steps.add(`Fix the producer, then \`wa-registrar dlq purge --id ${message.messageId}\``);
    } else if (message.eligibleAt !== undefined && message.eligibleAt > now) {
      waits.push(`The ${message.category} one goes back by itself after ${formatTime(message.eligibleAt)}`);
    }
  }
  const list = [...counts].map(([category, count]) => `${count} ${category}`).join(', ');
  const todo = [...steps, ...new Set(waits)];
  return {
    cause: `${messages.length} dead letter(s) waiting: ${list}`,
    since: Math.min(...messages.map((message) => message.deadLetteredAt)),
    nextStep: `${todo.length > 0 ? todo.join('. ') : `\`wa-registrar dlq list --number ${phoneNumberId}\``}.`,
  };
}

/** What the redrive's hold check reads, from the facts explain gathered. */
function holdFactsFor({ number, app, pinSecret, tokenSecret }: ExplainFacts, secret: 'pin' | 'token'): HoldFacts {
  return {
    ...(number.hold ? { numberHold: number.hold } : {}),
    ...(number.accountHold ? { accountHold: number.accountHold } : {}),
    ...(app.tokenGate ? { tokenGate: app.tokenGate } : {}),
    ...((secret === 'token' ? tokenSecret : pinSecret) ?? {}),
  };
}

function derive(facts: ExplainFacts): Derived {
  const { number, app, live, phoneNumberId, now } = facts;
  const hold = number.hold;
  return {
    ...facts,
    clearCommand: `wa-registrar hold clear ${phoneNumberId}`,
    redriveCommand: `wa-registrar dlq redrive --eligible --number ${phoneNumberId}`,
    connected: live.kind === 'known' ? isConnected(live.state) : undefined,
    ...(live.kind === 'known' && live.state.codeVerificationStatus !== undefined ? { verificationStatus: live.state.codeVerificationStatus } : {}),
    ...(hold && PIN_CAUSES.has(hold.cause)
      ? {
          pinHold: holdVerdict(
            {
              cause: hold.cause as 'pin_rejected' | 'pin_locked' | 'pin_changed',
              phoneNumberId,
              since: hold.since,
              ...(hold.until === undefined ? {} : { until: hold.until }),
              ...(hold.pinVersion === undefined ? {} : { secretVersion: hold.pinVersion }),
            },
            holdFactsFor(facts, 'pin'),
            now,
          ),
        }
      : {}),
    ...(app.tokenGate
      ? {
          tokenGate: holdVerdict(
            { cause: 'token_rejected', phoneNumberId, since: app.tokenGate.since, secretVersion: app.tokenGate.tokenVersion },
            holdFactsFor(facts, 'token'),
            now,
          ),
        }
      : {}),
  };
}

/** Runs every rule over the facts. Pure: the same facts give the same explanation. */
export function explainNumber(facts: ExplainFacts): Explanation {
  const derived = derive(facts);
  const findings: Finding[] = [];
  for (const [rule, check] of RULES) {
    const found = check(derived);
    if (found) findings.push({ rule, ...found });
  }
  if (findings.length === 0) findings.push({ rule: 'no_cause_found', ...NO_CAUSE(derived) });
  return { verdict: findings[0]!, findings };
}

