import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS } from '../../shared/clock.ts';
import type { DeadLetter } from '../../shared/dead-letters/index.ts';
import type { GraphClient, NumberState } from '../../shared/graph/port.ts';
import { emptyNumber, type NumberRecord } from '../../shared/ledger/port.ts';
import { explainNumber, RULE_ORDER, type ExplainFacts, type RuleId } from '../../bin/ops/explain.ts';
import { buildExplainView, readLiveState, renderExplain } from '../../bin/views/explain.ts';
import { CommandError } from '../../bin/cli-support.ts';
import { META_POLICY } from '../support/ops-helpers.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const ID = '4242';
const CONNECTED: NumberState = { status: 'CONNECTED', platformType: 'CLOUD_API', codeVerificationStatus: 'VERIFIED', nameStatus: 'APPROVED' };
const DISCONNECTED: NumberState = { status: 'DISCONNECTED', platformType: 'NOT_APPLICABLE', codeVerificationStatus: 'VERIFIED', nameStatus: 'APPROVED' };

type Setup = Partial<Omit<ExplainFacts, 'number'>> & { number?: Partial<NumberRecord> };

/** A healthy, connected number with nothing on the ledger, changed by `setup`. */
function facts(setup: Setup = {}): ExplainFacts {
  const { number, ...rest } = setup;
  return {
    phoneNumberId: ID,
    now: NOW,
    policy: META_POLICY,
    number: { ...emptyNumber(ID), ...number },
    history: [],
    app: { version: 1 },
    events: [],
    deadLetters: { kind: 'read', messages: [] },
    live: { kind: 'known', at: NOW, state: CONNECTED },
    ...rest,
  };
}

const notRead = { kind: 'not_read', why: 'no Graph URL' } as const;
const liveState = (state: NumberState) => ({ kind: 'known', at: NOW, state }) as const;

function deadLetter(category: DeadLetter['category'], extra: Partial<DeadLetter> = {}): DeadLetter {
  return {
    messageId: `msg-${category}`,
    receiptHandle: 'handle',
    category,
    phoneNumberId: ID,
    action: 'register',
    deadLetteredAt: NOW - HOUR_MS,
    job: { schemaVersion: 1, action: 'register', phoneNumberId: ID, reason: 'manual', idempotencyKey: `key-${category}` },
    jobKey: `key-${category}`,
    redriveGeneration: 0,
    ...extra,
  };
}

const pinHold = { cause: 'pin_rejected', since: NOW - 2 * HOUR_MS, code: 133005, pinVersion: 'pin-v1', detail: 'error 133005 on a register' } as const;
const fullWindow = Array.from({ length: 10 }, (_, index) => ({ at: NOW - (60 - index) * HOUR_MS, operation: 'register' as const }));

/** One situation per rule: the rule must be the verdict, with a cause and a next step that say what the rule means. */
const CASES: Array<[RuleId, string, Setup, RegExp, RegExp]> = [
  [
    'account_restricted',
    'the business account is restricted',
    { number: { accountHold: { cause: 'account_restricted', since: NOW - DAY_MS, businessAccountId: 'waba-1', detail: 'RESTRICTED' } } },
    /restricted the business account waba-1 \(RESTRICTED\)/,
    /later account_update .* hold clear 4242/,
  ],
  [
    'token_rejected',
    'the token gate is closed under the current token version',
    { app: { version: 1, tokenGate: { tokenVersion: 'tok-1', since: NOW - HOUR_MS, code: 190 } }, tokenSecret: { secretVersion: 'tok-1' } },
    /refused the Graph token \(code 190, token version tok-1\)/,
    /new version of the token secret/,
  ],
  ['token_rejected', 'the live read answers 190', { live: { kind: 'unknown', at: NOW, why: 'state read answered 190', code: 190 } }, /190 on the live state read/, /token secret/],
  [
    'blocked',
    'Meta blocked the number (133016)',
    {
      number: { blockedUntil: { register: NOW + 71 * HOUR_MS } },
      history: [{ attemptId: 'a', phoneNumberId: ID, operation: 'register', at: NOW - HOUR_MS, reason: 'manual', jobKey: 'k', outcome: 'rejected', code: 133016 }],
    },
    /blocked the number \(133016\) until 2026-11-28 11:00 UTC \(in 2d 23h\)/,
    /Wait until 2026-11-28 11:00 UTC/,
  ],
  [
    'pin_locked',
    'Meta paused PIN checks',
    { number: { hold: { cause: 'pin_locked', since: NOW - HOUR_MS, until: NOW + 11 * HOUR_MS, code: 133008, pinVersion: 'pin-v1', detail: 'error 133008' } } },
    /checks no PIN for this number until 2026-11-25 23:00 UTC/,
    /Wait until 2026-11-25 23:00 UTC/,
  ],
  ['verification', 'the live read shows EXPIRED', { live: liveState({ ...DISCONNECTED, codeVerificationStatus: 'EXPIRED' }) }, /verification expired/, /`wa-registrar verify request 4242 --method sms`, then .*`wa-registrar verify confirm 4242 -`/],
  [
    'verification',
    'a needs_verification hold, live state not read',
    { live: notRead, number: { hold: { cause: 'needs_verification', since: NOW - HOUR_MS, code: 133006, detail: 'not VERIFIED' } } },
    /held for verification since 2026-11-25 11:00 UTC/,
    /verify request 4242 .*confirming lifts the hold/,
  ],
  [
    'verification',
    'a code was requested and not confirmed',
    { live: liveState({ ...DISCONNECTED, codeVerificationStatus: 'NOT_VERIFIED' }), number: { verification: { requestedAt: NOW - HOUR_MS, method: 'SMS' } } },
    /verification is NOT_VERIFIED/,
    /A code was requested 2026-11-25 11:00 UTC \(SMS\): confirm it with `wa-registrar verify confirm 4242 -`/,
  ],
  [
    'pin_changed',
    'Meta says the PIN changed and the PIN version is older',
    { number: { hold: { cause: 'pin_changed', since: NOW - HOUR_MS, detail: 'PIN_CHANGED' } }, pinSecret: { secretVersion: 'pin-v1', secretCreatedAt: NOW - DAY_MS } },
    /PIN was changed or a reset requested \(PIN_CHANGED\)/,
    /store the number's current PIN as a new version/,
  ],
  ['pin_rejected', 'the refused PIN version is still current', { number: { hold: pinHold }, pinSecret: { secretVersion: 'pin-v1' } }, /refused the stored PIN \(code 133005, PIN version pin-v1\), and that version is still the current one/, /Store the right PIN as a new version of the PIN secret \(PIN_SECRET_PREFIX \+ 4242\)/],
  [
    'pin_rejected',
    'a lockout that has ended, same version',
    { number: { hold: { ...pinHold, cause: 'pin_locked', until: NOW - HOUR_MS } }, pinSecret: { secretVersion: 'pin-v1' } },
    /the lockout has ended/,
    /Store the right PIN/,
  ],
  ['deregister_stuck', 'a 133000 after a repair', { number: { hold: { cause: 'deregister_stuck', since: NOW - HOUR_MS, code: 133000, detail: '133000 after the repair' } } }, /keeps answering 133000/, /WhatsApp Manager/],
  [
    'verification_hold_stale',
    'a verification hold the live read contradicts',
    { number: { hold: { cause: 'needs_verification', since: NOW - HOUR_MS, detail: 'not VERIFIED' } } },
    /but the live read shows VERIFIED/,
    /hold clear 4242`, then `wa-registrar dlq redrive --eligible --number 4242`/,
  ],
  ['pin_rotation', 'a PIN rotation under way', { number: { pinRotation: { since: NOW - 10 * 60_000, pendingVersion: 'pin-v9' } } }, /PIN rotation to version pin-v9 is under way/, /Wait for the rotation/],
  ['throttled', "Meta's throttle on the app", { app: { version: 1, throttledUntil: NOW + HOUR_MS } }, /throttles the whole app until 2026-11-25 13:00 UTC \(in 1h\)/, /go on by themselves after 2026-11-25 13:00 UTC/],
  ['throttled', "Meta's throttle on the number's business", { number: { businessAccountId: 'waba-2' }, app: { version: 1, businessThrottles: { 'waba-2': NOW + HOUR_MS, 'waba-3': NOW + 5 * HOUR_MS } } }, /throttles business waba-2 until 2026-11-25 13:00 UTC/, /Nothing to do/],
  ['window_full', 'ten requests in the window', { number: { spent: fullWindow } }, /window is full \(10\/10 requests in 72 h \+ 15 min\) until 2026-11-26 00:15 UTC/, /next request can go at 2026-11-26 00:15 UTC/],
  [
    'name_approval_missed',
    'the deadline passed',
    { number: { nameApproval: { approvedAt: NOW - 15 * DAY_MS, deadline: NOW - DAY_MS, changeId: 'c1', requestedName: 'Acme' } } },
    /display name "Acme" approved .* was not re-registered by 2026-11-24 12:00 UTC: the approval has lapsed/,
    /Submit the name again/,
  ],
  [
    'name_approval_due',
    'the deadline is near',
    { number: { nameApproval: { approvedAt: NOW - 12 * DAY_MS, deadline: NOW + 2 * DAY_MS, changeId: 'c1' } } },
    /must be re-registered by 2026-11-27 12:00 UTC \(in 2d\)/,
    /`wa-registrar enqueue register 4242 --reason name_change` now/,
  ],
  ['hold_lifted', 'a new PIN version was stored after the refusal', { number: { hold: pinHold }, pinSecret: { secretVersion: 'pin-v2' } }, /pin_rejected hold is lifted: a new PIN version \(pin-v2\) is stored/, /`wa-registrar dlq redrive --eligible --number 4242`/],
  ['dead_letters', 'a permanent error', { deadLetters: { kind: 'read', messages: [deadLetter('permanent_error', { code: 131009 })] } }, /1 dead letter\(s\) waiting: 1 permanent_error/, /`wa-registrar dlq show msg-permanent_error`, then .*`wa-registrar dlq redrive --id msg-permanent_error`/],
  ['in_progress', 'a saga holds a slot', { live: liveState(DISCONNECTED), number: { reserved: [{ jobKey: 'saga-1', operation: 'register', at: NOW - 60_000, until: NOW + HOUR_MS }] } }, /job saga-1 holds a register slot/, /Wait for it/],
  [
    'in_progress',
    'the last request has an unknown outcome',
    { live: liveState(DISCONNECTED), history: [{ attemptId: 'a', phoneNumberId: ID, operation: 'register', at: NOW - 60_000, reason: 'manual', jobKey: 'k', outcome: 'unknown' }] },
    /the last register \(2026-11-25 11:59 UTC\) has an unknown outcome/,
    /reads the number's state before sending anything again/,
  ],
  ['incomplete_deregister', 'a 133000 mark', { live: liveState(DISCONNECTED), number: { incompleteDeregister: { since: NOW - HOUR_MS } } }, /earlier deregistration is unfinished \(133000\)/, /next register job deregisters, then registers/],
  ['not_registered', 'the live read shows DISCONNECTED', { live: liveState(DISCONNECTED), number: { lastSuccess: { operation: 'deregister', at: NOW - DAY_MS } } }, /not registered \(live read: DISCONNECTED, NOT_APPLICABLE\); a job deregistered it/, /`wa-registrar enqueue register 4242` if it should be live/],
  ['not_registered', 'connected, but not on the Cloud API', { live: liveState({ ...CONNECTED, platformType: 'ON_PREMISE' }) }, /connected on ON_PREMISE, not on the Cloud API/, /--reason migration/],
  ['not_registered', 'the ledger says deregistered, live state not read', { live: notRead, number: { lastSuccess: { operation: 'deregister', at: NOW - DAY_MS } } }, /last request that took effect was a deregister \(live state not read: no Graph URL\)/, /enqueue register 4242/],
  ['name_approval_open', 'an approval far from its deadline', { number: { nameApproval: { approvedAt: NOW - DAY_MS, deadline: NOW + 13 * DAY_MS, changeId: 'c1' } } }, /must be re-registered by 2026-12-08 12:00 UTC/, /The approval queued a re-registration job/],
  ['live', 'connected on the Cloud API, nothing pending', {}, /^CONNECTED on CLOUD_API, verification VERIFIED, name APPROVED$/, /^Nothing to do\.$/],
  ['live_per_ledger', 'registered per the ledger, live state not read', { live: notRead, number: { lastSuccess: { operation: 'register', at: NOW - DAY_MS } } }, /registered 2026-11-24 12:00 UTC per the ledger.*live state not read: no Graph URL/, /Nothing to do/],
  ['no_cause_found', 'nothing anywhere, live state not read', { live: notRead, deadLetters: { kind: 'not_read', why: 'no dead-letter queue is known' } }, /nothing on the ledger .* the live state was not read \(no Graph URL\); dead letters not read/, /wa-registrar status 4242/],
];

describe('explainNumber: the verdict table', () => {
  it.each(CASES)('%s: %s', (rule, _situation, setup, cause, nextStep) => {
    // Act
    const { verdict, findings } = explainNumber(facts(setup));

    // Assess
    expect(verdict.rule).toBe(rule);
    expect(verdict.cause).toMatch(cause);
    expect(verdict.nextStep).toMatch(nextStep);
    expect(findings[0]).toBe(verdict);
  });

  it('has a case for every rule of the table', () => {
    expect(new Set(CASES.map(([rule]) => rule))).toEqual(new Set(RULE_ORDER));
  });

  it('says since when, or until when, where the rule knows it', () => {
    expect(explainNumber(facts({ number: { hold: pinHold }, pinSecret: { secretVersion: 'pin-v1' } })).verdict.since).toBe(pinHold.since);
    expect(explainNumber(facts({ number: { blockedUntil: { register: NOW + HOUR_MS } } })).verdict).toMatchObject({ rule: 'blocked', until: NOW + HOUR_MS });
    expect(explainNumber(facts({ number: { spent: fullWindow } })).verdict.until).toBe(NOW + 12.25 * HOUR_MS);
  });
});

describe('explainNumber: priority', () => {
  it('lists every finding in table order, the first being the verdict', () => {
    // Prepare: a number in trouble in many ways at once.
    const setup: Setup = {
      live: liveState({ ...DISCONNECTED, codeVerificationStatus: 'EXPIRED' }),
      number: {
        accountHold: { cause: 'account_restricted', since: NOW - DAY_MS, detail: 'RESTRICTED' },
        hold: pinHold,
        blockedUntil: { register: NOW + HOUR_MS },
        spent: fullWindow,
        pinRotation: { since: NOW - 60_000, pendingVersion: 'pin-v2' },
        nameApproval: { approvedAt: NOW - 12 * DAY_MS, deadline: NOW + DAY_MS, changeId: 'c1' },
      },
      app: { version: 1, throttledUntil: NOW + HOUR_MS, tokenGate: { tokenVersion: 'tok-1', since: NOW - HOUR_MS, code: 190 } },
      tokenSecret: { secretVersion: 'tok-1' },
      pinSecret: { secretVersion: 'pin-v1' },
      deadLetters: { kind: 'read', messages: [deadLetter('rate_limited', { eligibleAt: NOW + HOUR_MS })] },
    };

    // Act
    const { verdict, findings } = explainNumber(facts(setup));

    // Assess
    expect(verdict.rule).toBe('account_restricted');
    expect(findings.map((finding) => finding.rule)).toEqual([
      'account_restricted',
      'token_rejected',
      'blocked',
      'verification',
      'pin_rejected',
      'pin_rotation',
      'throttled',
      'window_full',
      'name_approval_due',
      'dead_letters',
      'not_registered',
    ]);
  });

  it.each<[string, Setup, RuleId, RuleId[]]>([
    ['a block beats a wrong PIN and a dead letter', { number: { hold: pinHold, blockedUntil: { register: NOW + HOUR_MS } }, pinSecret: { secretVersion: 'pin-v1' }, deadLetters: { kind: 'read', messages: [deadLetter('pin_rejected')] } }, 'blocked', ['pin_rejected', 'dead_letters', 'live']],
    ['an expired verification beats a wrong PIN', { live: liveState({ ...DISCONNECTED, codeVerificationStatus: 'EXPIRED' }), number: { hold: pinHold }, pinSecret: { secretVersion: 'pin-v1' } }, 'verification', ['pin_rejected', 'not_registered']],
    ['a running PIN lockout is one finding, not two', { number: { hold: { ...pinHold, cause: 'pin_locked', until: NOW + HOUR_MS } }, pinSecret: { secretVersion: 'pin-v1' } }, 'pin_locked', ['live']],
    ['a dead letter keeps a connected number from "live"', { deadLetters: { kind: 'read', messages: [deadLetter('missing_secret')] } }, 'dead_letters', ['live']],
    ['an open name approval keeps a connected number from "live"', { number: { nameApproval: { approvedAt: NOW, deadline: NOW + 14 * DAY_MS, changeId: 'c' } } }, 'name_approval_open', ['live']],
    ['a lifted hold comes before its dead letters', { number: { hold: pinHold }, pinSecret: { secretVersion: 'pin-v2' }, deadLetters: { kind: 'read', messages: [deadLetter('pin_rejected')] } }, 'hold_lifted', ['dead_letters', 'live']],
    ['the window beats a name deadline that is near', { number: { spent: fullWindow, nameApproval: { approvedAt: NOW - 12 * DAY_MS, deadline: NOW + DAY_MS, changeId: 'c' } } }, 'window_full', ['name_approval_due', 'live']],
    ['a token gate lifted by a new version is no longer a stopper', { app: { version: 1, tokenGate: { tokenVersion: 'tok-1', since: NOW - HOUR_MS, code: 190 } }, tokenSecret: { secretVersion: 'tok-2' } }, 'hold_lifted', ['live']],
  ])('%s', (_name, setup, verdict, others) => {
    const { findings } = explainNumber(facts(setup));

    expect(findings.map((finding) => finding.rule)).toEqual([verdict, ...others]);
  });

  it('never reports no_cause_found next to another finding', () => {
    const { findings } = explainNumber(facts({ live: notRead, number: { hold: pinHold } }));

    expect(findings.map((finding) => finding.rule)).not.toContain('no_cause_found');
  });
});

describe('explainNumber: dead letters, by what the redrive would do', () => {
  it.each<[string, DeadLetter, Setup, RegExp]>([
    ['rate_limited, eligible now', deadLetter('rate_limited', { eligibleAt: NOW - 60_000 }), {}, /^`wa-registrar dlq redrive --eligible --number 4242`\.$/],
    ['rate_limited, not yet', deadLetter('rate_limited', { eligibleAt: NOW + HOUR_MS }), {}, /The rate_limited one goes back by itself after 2026-11-25 13:00 UTC/],
    ['missing_secret', deadLetter('missing_secret'), {}, /Store the missing secret, then `wa-registrar dlq redrive --all --number 4242`/],
    ['pin_rejected, hold still on', deadLetter('pin_rejected'), { number: { hold: pinHold }, pinSecret: { secretVersion: 'pin-v1' } }, /The pin_rejected one waits for its hold to lift/],
    ['pin_rejected, hold cleared', deadLetter('pin_rejected'), {}, /`wa-registrar dlq redrive --eligible --number 4242`/],
    ['max_receives', deadLetter('max_receives'), {}, /dlq show msg-max_receives/],
  ])('%s', (_name, message, setup, nextStep) => {
    const finding = explainNumber(facts({ ...setup, deadLetters: { kind: 'read', messages: [message] } })).findings.find((entry) => entry.rule === 'dead_letters');

    expect(finding?.nextStep).toMatch(nextStep);
  });
});

describe('readLiveState: one GET, never a reason to fail', () => {
  const graph = (state: NumberState = CONNECTED): GraphClient & { calls: string[] } => {
    const calls: string[] = [];
    const refuse = (name: string) => () => {
      calls.push(name);
      throw new Error(`${name} must never be called by explain`);
    };
    return {
      calls,
      readState: async (id) => {
        calls.push(`readState ${id}`);
        return { kind: 'known', state };
      },
      register: refuse('register'),
      deregister: refuse('deregister'),
      setPin: refuse('setPin'),
      requestCode: refuse('requestCode'),
      verifyCode: refuse('verifyCode'),
      listPhoneNumbers: refuse('listPhoneNumbers'),
    };
  };

  it('reads the state with the token, and nothing else', async () => {
    const client = graph();

    const live = await readLiveState(ID, { graph: client, token: async () => 'tok', now: () => NOW });

    expect(live).toEqual({ kind: 'known', at: NOW, state: CONNECTED });
    expect(client.calls).toEqual([`readState ${ID}`]);
  });

  it.each<[string, () => Promise<string>, RegExp]>([
    ['AccessDenied', async () => Promise.reject(Object.assign(new Error('User arn:aws:iam::1:user/ops is not authorized'), { name: 'AccessDeniedException' })), /^access denied to the token secret: this role may not read it$/],
    ['no such secret', async () => Promise.reject(new CommandError('the token secret wa/graph-token does not exist; store the Graph token there first')), /^the token secret wa\/graph-token does not exist/],
    ['a network failure', async () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' })), /^the token could not be read \(TimeoutError\)$/],
  ])('says why when the token cannot be read (%s), and reads nothing', async (_name, token, why) => {
    const client = graph();

    const live = await readLiveState(ID, { graph: client, token, now: () => NOW });

    expect(live.kind).toBe('not_read');
    expect(live.kind === 'not_read' && live.why).toMatch(why);
    expect(client.calls).toEqual([]);
  });

  it('reads no token when there is no Graph client', async () => {
    let asked = false;

    const live = await readLiveState(ID, { graph: { notRead: '--offline' }, token: async () => ((asked = true), 'tok'), now: () => NOW });

    expect(live).toEqual({ kind: 'not_read', why: '--offline' });
    expect(asked).toBe(false);
  });
});

describe('the explain view', () => {
  it('merges everything with a time into one timeline, oldest first', () => {
    const view = buildExplainView(
      facts({
        live: liveState(DISCONNECTED),
        number: { hold: pinHold, verification: { requestedAt: NOW - 3 * HOUR_MS, method: 'SMS' }, lastPinSet: { at: NOW - 5 * HOUR_MS, version: 'pin-v1', by: 'provision' } },
        pinSecret: { secretVersion: 'pin-v1' },
        history: [{ attemptId: 'a', phoneNumberId: ID, operation: 'register', at: NOW - 2 * HOUR_MS, reason: 'account_creation', jobKey: 'k', outcome: 'rejected', code: 133005, fbtraceId: 'Trace1' }],
        events: [{ at: NOW - 4 * HOUR_MS, detailType: 'PinChanged', changeId: 'c', summary: 'security PIN_CHANGED' }],
        deadLetters: { kind: 'read', messages: [deadLetter('pin_rejected', { code: 133005, deadLetteredAt: NOW - 2 * HOUR_MS + 1000 })] },
      }),
    );

    expect(view.timeline.map((entry) => [entry.at.slice(11, 16), entry.kind])).toEqual([
      ['07:00', 'pin'],
      ['08:00', 'event'],
      ['09:00', 'verification'],
      ['10:00', 'attempt'],
      ['10:00', 'hold'],
      ['10:00', 'dead_letter'],
      ['12:00', 'live'],
    ]);
    expect(view.timeline[3]!.summary).toBe('register (account_creation) rejected 133005, fbtrace Trace1');
    expect(view.verdict).toEqual(view.findings[0]);
    expect(view.verdict).toMatchObject({ rule: 'pin_rejected', since: new Date(pinHold.since).toISOString() });
  });

  it('prints the verdict line first, then the next step, the other findings, the live state and the timeline', () => {
    const text = renderExplain(buildExplainView(facts({ live: notRead, number: { hold: pinHold }, pinSecret: { secretVersion: 'pin-v1' }, deadLetters: { kind: 'read', messages: [deadLetter('pin_rejected')] } })));
    const lines = text.split('\n');

    expect(lines[0]).toBe('Number 4242: pin_rejected (since 2026-11-25 10:00 UTC): Meta refused the stored PIN (code 133005, PIN version pin-v1), and that version is still the current one');
    expect(lines[1]).toMatch(/^ {2}next: Store the right PIN/);
    expect(lines[2]).toBe('  also dead_letters: 1 dead letter(s) waiting: 1 pin_rejected');
    expect(lines[3]).toBe('  live state: not read (no Graph URL)');
    expect(lines[5]).toBe('Timeline (oldest first):');
  });

  it('keeps the people view short: the last 20 timeline rows', () => {
    const history = Array.from({ length: 30 }, (_, index) => ({ attemptId: `a${index}`, phoneNumberId: ID, operation: 'register' as const, at: NOW - (100 - index) * HOUR_MS, reason: 'manual' as const, jobKey: 'k', outcome: 'success' as const }));

    const text = renderExplain(buildExplainView(facts({ history })));

    expect(text).toContain('Timeline (oldest first; 11 earlier entries left out, --json has them):');
    expect(text.split('\n').filter((line) => /^ {2}2026-/.test(line))).toHaveLength(20);
  });
});

describe('docs/operations.md', () => {
  it('lists every rule of the table, in priority order', async () => {
    const docs = await readFile(join(import.meta.dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
    const section = docs.slice(docs.indexOf('## `explain'));
    const listed = [...section.slice(0, section.indexOf('\n## ', 1)).matchAll(/^\| \d+ \| `([a-z_]+)` \|/gm)].map((match) => match[1]);

    expect(listed).toEqual([...RULE_ORDER]);
  });
});
