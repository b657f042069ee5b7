import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCliCaptured } from '../../bin/cli.ts';
import { explainVerificationError, renderVerificationErrorTable, VERIFICATION_ERROR_TABLE } from '../../bin/ops/verification-errors.ts';
import { confirmCode, requestCode, type VerificationDeps } from '../../bin/ops/verification.ts';
import { HOUR_MS, ManualClock } from '../../shared/clock.ts';
import type { GraphCallResult, GraphClient, StateReadResult } from '../../shared/graph/port.ts';
import type { AttemptLedger, LedgerChanges, NumberHold } from '../../shared/ledger/port.ts';
import { InMemoryAttemptLedger } from '../support/in-memory-ledger.ts';
import { holdNumber, META_POLICY, updateNumber } from '../support/ops-helpers.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const CODE = '482913';
const verificationHold: NumberHold = { cause: 'needs_verification', since: NOW - HOUR_MS, detail: 'verification EXPIRED' };

const ok: GraphCallResult = { kind: 'success', httpStatus: 200, durationMs: 3 };
const graphError = (code: number, message = `(#${code}) test`): GraphCallResult => ({
  kind: 'graph_error',
  httpStatus: 400,
  error: { code, message, fbtraceId: 'AbC12dEf3GhI4jK' },
  durationMs: 3,
});

/** A Graph port that answers from a script and records which calls it saw (never their code). */
function scriptedGraph(answers: { request?: GraphCallResult; verify?: GraphCallResult; state?: StateReadResult }) {
  const calls: string[] = [];
  const graph: VerificationDeps['graph'] = {
    requestCode: async (id, method, language) => (calls.push(`request_code ${id} ${method} ${language}`), answers.request ?? ok),
    verifyCode: async (id) => (calls.push(`verify_code ${id}`), answers.verify ?? ok),
    readState: async (id) => (calls.push(`read_state ${id}`), answers.state ?? { kind: 'known', state: { codeVerificationStatus: 'NOT_VERIFIED' } }),
  } satisfies Pick<GraphClient, 'requestCode' | 'verifyCode' | 'readState'>;
  return { graph, calls };
}

function deps(ledger: AttemptLedger, graph: VerificationDeps['graph']): VerificationDeps {
  return { ledger, graph, token: 'EAAG-unit-token', now: NOW, policy: META_POLICY };
}

describe('the verification error table', () => {
  it.each([
    [136025, 'confirm', /did not accept the code/],
    [136024, 'request', /too often/],
    [100, 'request', /method, the language, or the phone number id/],
    [190, 'confirm', /refused the access token/],
    [80008, 'request', /throttling/],
    [4, 'confirm', /throttling/],
    [250, 'request', /lack of permission/],
    [131000, 'confirm', /temporary problem/],
    [999999, 'request', /no words for/],
  ] as const)('%i on %s', (code, step, sentence) => {
    // Act
    const explained = explainVerificationError(code, step);
    // Assess
    expect(explained.sentence).toMatch(sentence);
    expect(explained.next.length).toBeGreaterThan(20);
  });

  it('is in docs/operations.md exactly as rendered from the rows', () => {
    // Prepare
    const docs = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    // Act
    const shown = /<!-- verify-errors:start -->\n([\s\S]*?)\n<!-- verify-errors:end -->/.exec(docs)?.[1];
    // Assess
    expect(shown).toBe(renderVerificationErrorTable());
  });

  it('names each code once', () => {
    // Act
    const codes = VERIFICATION_ERROR_TABLE.flatMap((row) => row.codes);
    // Assess
    expect(new Set(codes).size).toBe(codes.length);
  });
});

describe('verify request', () => {
  it('records the request and a VerificationRequested timeline entry, clearing an earlier error', async () => {
    // Prepare
    const ledger = new InMemoryAttemptLedger();
    await updateNumber(ledger, '42', (number) => ({ ...number, verification: { lastError: { code: 136024, at: NOW - HOUR_MS, message: 'earlier' } } }));
    const { graph, calls } = scriptedGraph({});
    // Act
    const result = await requestCode(deps(ledger, graph), { phoneNumberId: '42', method: 'VOICE', language: 'de' });
    // Assess
    expect(result).toEqual({ ok: true, requestedAt: NOW });
    expect(calls).toEqual(['request_code 42 VOICE de']);
    expect((await ledger.number('42')).verification).toEqual({ requestedAt: NOW, method: 'VOICE' });
    const [event] = await ledger.events('42');
    expect(event).toMatchObject({ at: NOW, detailType: 'VerificationRequested', summary: 'code requested by VOICE (de)' });
    expect(event!.changeId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('records a refusal as lastError in plain words, with Meta\'s code', async () => {
    // Prepare
    const ledger = new InMemoryAttemptLedger();
    const { graph } = scriptedGraph({ request: graphError(136024) });
    // Act
    const result = await requestCode(deps(ledger, graph), { phoneNumberId: '42', method: 'SMS', language: 'en_US' });
    // Assess
    expect(result).toMatchObject({ ok: false, failure: { code: 136024, fbtraceId: 'AbC12dEf3GhI4jK', sentence: expect.stringMatching(/too often/) } });
    expect((await ledger.number('42')).verification).toEqual({ lastError: { code: 136024, at: NOW, message: expect.stringMatching(/too often/) } });
    expect((await ledger.events('42')).map((event) => event.detailType)).toEqual(['VerificationFailed']);
  });
});

describe('verify confirm', () => {
  it('lifts a needs_verification hold, keeps the rest of the number item, and records the confirmation', async () => {
    // Prepare
    const ledger = new InMemoryAttemptLedger();
    await updateNumber(ledger, '42', (number) => ({ ...number, spent: [{ at: NOW - HOUR_MS, operation: 'register' }], hold: verificationHold, verification: { requestedAt: NOW - 60_000, method: 'SMS' } }));
    const { graph, calls } = scriptedGraph({});
    // Act
    const result = await confirmCode(deps(ledger, graph), { phoneNumberId: '42', code: CODE });
    const number = await ledger.number('42');
    // Assess
    expect(result).toEqual({ ok: true, confirmedAt: NOW, via: 'verify_code', liftedHold: verificationHold });
    expect(calls).toEqual(['verify_code 42']);
    expect(number.hold).toBeUndefined();
    expect(number.spent).toEqual([{ at: NOW - HOUR_MS, operation: 'register' }]);
    expect(number.verification).toEqual({ requestedAt: NOW - 60_000, method: 'SMS', confirmedAt: NOW });
    expect((await ledger.events('42')).map((event) => [event.detailType, event.summary])).toEqual([
      ['VerificationConfirmed', 'Meta accepted the verification code; needs_verification hold lifted'],
    ]);
  });

  it.each<[string, { hold?: NumberHold; accountHold?: NumberHold }]>([
    ['a PIN hold', { hold: { cause: 'pin_rejected', since: NOW, code: 133005, pinVersion: 'v1', detail: 'error 133005 on a register' } }],
    ['an account hold', { accountHold: { cause: 'account_restricted', since: NOW, detail: 'ACCOUNT_RESTRICTION' } }],
  ])('leaves %s alone and says so', async (_name, holds) => {
    // Prepare
    const ledger = new InMemoryAttemptLedger();
    await updateNumber(ledger, '42', (number) => ({ ...number, ...holds }));
    const { graph } = scriptedGraph({});
    // Act
    const result = await confirmCode(deps(ledger, graph), { phoneNumberId: '42', code: CODE });
    const number = await ledger.number('42');
    // Assess
    const kept = holds.hold ?? holds.accountHold;
    expect(result).toEqual({ ok: true, confirmedAt: NOW, via: 'verify_code', remainingHold: kept });
    expect(number.hold ?? number.accountHold).toEqual(kept);
  });

  it('keeps the hold on a wrong code, records lastError, and the code is nowhere on the ledger', async () => {
    // Prepare
    const ledger = new InMemoryAttemptLedger();
    await holdNumber(ledger, '42', verificationHold);
    const { graph } = scriptedGraph({ verify: graphError(136025, '(#136025) Code [REDACTED] is not valid') });
    // Act
    const result = await confirmCode(deps(ledger, graph), { phoneNumberId: '42', code: CODE });
    // Assess
    expect(result).toMatchObject({ ok: false, hold: verificationHold, failure: { code: 136025, outcomeUnknown: false } });
    const number = await ledger.number('42');
    expect(number.hold).toEqual(verificationHold);
    expect(number.verification?.lastError).toEqual({ code: 136025, at: NOW, message: 'Meta did not accept the code: it is wrong, or it expired.' });
    const stored = JSON.stringify([ledger.dump(), await ledger.events('42'), result]);
    expect(stored).not.toContain(CODE);
  });

  it('decides by a state read when Meta gives no answer: VERIFIED confirms, anything else fails', async () => {
    // Prepare
    const noAnswer: GraphCallResult = { kind: 'no_answer', why: 'timeout', durationMs: 30_000 };
    const verifiedLedger = new InMemoryAttemptLedger();
    await holdNumber(verifiedLedger, '42', verificationHold);
    const unknownLedger = new InMemoryAttemptLedger();
    await holdNumber(unknownLedger, '42', verificationHold);
    const verified = scriptedGraph({ verify: noAnswer, state: { kind: 'known', state: { codeVerificationStatus: 'VERIFIED' } } });
    const unknown = scriptedGraph({ verify: noAnswer, state: { kind: 'unknown', why: 'state read timed out' } });
    // Act
    const confirmed = await confirmCode(deps(verifiedLedger, verified.graph), { phoneNumberId: '42', code: CODE });
    const failed = await confirmCode(deps(unknownLedger, unknown.graph), { phoneNumberId: '42', code: CODE });
    // Assess
    expect(confirmed).toMatchObject({ ok: true, via: 'state_read', liftedHold: verificationHold });
    expect(verified.calls).toEqual(['verify_code 42', 'read_state 42']);
    expect(failed).toMatchObject({ ok: false, failure: { outcomeUnknown: true, sentence: expect.stringMatching(/did not answer/) } });
    expect((await unknownLedger.number('42')).hold).toEqual(verificationHold);
  });

  it('reads again when a worker wrote the number item between the read and the commit', async () => {
    // Prepare: the first commit loses to a worker's write of a spent slot.
    const inner = new InMemoryAttemptLedger();
    await holdNumber(inner, '42', verificationHold);
    let raced = false;
    const ledger: AttemptLedger = {
      read: (...args) => inner.read(...args),
      history: (id) => inner.history(id),
      number: (id) => inner.number(id),
      appGates: () => inner.appGates(),
      business: (id) => inner.business(id),
      deadlines: () => inner.deadlines(),
      dropDeadline: (...args) => inner.dropDeadline(...args),
      recordEvent: (...args) => inner.recordEvent(...args),
      events: (id) => inner.events(id),
      commit: async (changes: LedgerChanges, token: string) => {
        if (!raced) {
          raced = true;
          await updateNumber(inner, '42', (number) => ({ ...number, spent: [...number.spent, { at: NOW, operation: 'register' }] }));
        }
        return inner.commit(changes, token);
      },
    };
    // Act
    const result = await confirmCode(deps(ledger, scriptedGraph({}).graph), { phoneNumberId: '42', code: CODE });
    const after = await inner.number('42');
    // Assess
    expect(result).toMatchObject({ ok: true, liftedHold: verificationHold });
    expect(after.hold).toBeUndefined();
    expect(after.spent).toEqual([{ at: NOW, operation: 'register' }]);
  });
});

describe('wa-registrar verify arguments', () => {
  const cli = (args: string[]) => runCliCaptured(args, { env: {}, cwd: '/nonexistent', clock: new ManualClock(NOW) });

  it.each([
    [['verify', '--help'], 'Usage: wa-registrar verify request <phoneNumberId> --method sms|voice'],
    [['verify', 'request', '--help'], '--method sms|voice      how Meta sends the code'],
    [['verify', 'confirm', '--help'], 'Same as --code-stdin'],
    [['--help'], 'verify confirm <phoneNumberId> -'],
  ])('%j prints help and exits 0', async (args, expected) => {
    // Act
    const run = await cli(args);
    // Assess
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(expected);
  });

  it.each([
    [['verify'], 'verify needs a command: request or confirm'],
    [['verify', 'request', '1'], 'verify request needs --method sms or --method voice'],
    [['verify', 'request', '1', '--method', 'fax'], 'verify request needs --method sms or --method voice'],
    [['verify', 'request', '1', '--method', 'sms', '--language', 'english'], '--language must be a locale'],
    [['verify', 'request', '--method', 'sms'], 'verify request needs one <phoneNumberId>'],
    [['verify', 'request', 'x1', '--method', 'sms'], 'phoneNumberId must be 1-20 digits'],
    [['verify', 'confirm', '1'], 'verify confirm needs <phoneNumberId> and the code'],
    [['verify', 'confirm', '1', '48291'], 'the verification code must be exactly 6 digits (what was given is not shown)'],
    [['verify', 'confirm', '1', '48291x'], 'the verification code must be exactly 6 digits'],
    [['verify', 'confirm', '1', '482913', '--code-stdin'], 'verify confirm --code-stdin takes one <phoneNumberId>'],
  ])('%j is a usage error (exit 2)', async (args, expected) => {
    // Act
    const run = await cli(args);
    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(expected);
    // A wrong code is never echoed back.
    for (const arg of args.slice(3)) if (/^\d{5,}/.test(arg)) expect(run.stderr).not.toContain(arg);
  });
});
