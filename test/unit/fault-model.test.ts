import { describe, expect, it } from 'vitest';
import type { MetaFact, NumberSetup, Program, Setup, Step } from '../support/model/program.ts';
import { checkModel, runProgram } from '../support/model/property.ts';
import { formatFailure } from '../support/model/report.ts';

/**
 * Model-based fault suite: random programs of jobs, Graph answers, number conditions, infrastructure faults,
 * crashes, operator actions, clock jumps, Meta's webhooks (name decisions, PIN changes, account updates; duplicated,
 * late, reordered, badly signed), PIN rotations (crashes, setSecret faults, echoes), OTP verification with the redrive of
 * held jobs, and two businesses with their own tokens, run against the real worker, webhook receiver and event resolver (in-memory ledger
 * and change log, model secret store, model FIFO queue, the Graph simulator over HTTP). Invariants are checked after
 * every step; see test/support/model/invariants.ts. Longer programs: `npm run chaos -- --runs N --seed S`.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const SEED = Number(process.env.FAULT_MODEL_SEED ?? 20_261_125);
const RUNS = Number(process.env.FAULT_MODEL_RUNS ?? 500);

describe('worker under random fault programs', () => {
  it(`keeps every invariant over ${RUNS} programs of up to 12 steps (seed ${SEED})`, async () => {
    // Prepare
    console.info(`fault model: seed ${SEED}, ${RUNS} programs (set FAULT_MODEL_SEED / FAULT_MODEL_RUNS to change)`);

    // Act
    const result = await checkModel({ seed: SEED, numRuns: RUNS, maxSteps: 12, maxHangs: 1 });

    // Assess
    expect(result.failed, result.report).toBe(false);
  }, 600_000);
});

const number = (overrides: Partial<NumberSetup> = {}): NumberSetup => ({ registered: false, verification: 'VERIFIED', storedPin: 'correct', pinEnabled: true, ...overrides });
const setup = (numbers: NumberSetup[], overrides: Partial<Setup> = {}): Setup => ({ numbers, businesses: 1, batchSize: 10, concurrency: 1, tokenStored: true, ownTokens: 0, ...overrides });
const register = (n: number, key: number, runAfter = true): Step => ({ kind: 'enqueue', n, action: 'register', reason: 'account_creation', key, runAfter });
/** Meta decides or sees `fact` now; its webhook arrives once and the resolver runs, unless `overrides` say otherwise. */
const meta = (fact: MetaFact, overrides: Partial<Extract<Step, { kind: 'meta' }>> = {}): Step => ({ kind: 'meta', fact, ageMinutes: 0, copies: 1, publishFails: false, resolve: 'now', ...overrides });

/** Runs a hand-written program; fails with the readable report when an invariant breaks. */
async function expectInvariants(program: Program) {
  const result = await runProgram(program, { maxHangs: 2 });
  expect(result.violations, formatFailure(program, result.violations, result.trace)).toEqual([]);
  return result;
}

/** register/deregister requests the simulator received for a number. */
const requests = (result: Awaited<ReturnType<typeof runProgram>>, id: string) => result.world.simulator.limitedCalls(id);

describe('regression programs', () => {
  it('repeated 133000: one repair (deregister + register) per job, and nothing more when the window reopens', async () => {
    // Prepare
    const program: Program = {
      setup: setup([number({ registered: true })]),
      steps: [
        { kind: 'incomplete_deregistration', n: 0, stuck: true },
        { kind: 'enqueue', n: 0, action: 'register', reason: 'name_change', key: 1, runAfter: true },
        { kind: 'clock', ms: 10 * MINUTE },
        { kind: 'clock', ms: 72 * HOUR },
      ],
    };

    // Act
    const result = await expectInvariants(program);

    // Assess
    expect(requests(result, '101').map((call) => call.operation)).toEqual(['register', 'deregister', 'register']);
  });

  it('wrong PIN with three jobs queued for the number: the PIN is sent once', async () => {
    // Prepare
    const program: Program = { setup: setup([number({ storedPin: 'wrong' })]), steps: [register(0, 1, false), register(0, 2, false), register(0, 3)] };

    // Act
    const result = await expectInvariants(program);

    // Assess
    expect(requests(result, '101')).toHaveLength(1);
  });

  it('PIN fixed after 133005, then redriven: the job registers with the new PIN', async () => {
    // Prepare
    const program: Program = {
      setup: setup([number({ storedPin: 'wrong' })]),
      steps: [register(0, 1), { kind: 'store_pin', n: 0, value: 'correct' }, { kind: 'redrive', pick: 0, force: false }],
    };

    // Act
    const result = await expectInvariants(program);

    // Assess
    expect(result.world.simulator.number('101')?.registered).toBe(true);
  });

  it('token revoked with jobs for three numbers: one refusal, then every job waits for a new token', async () => {
    // Prepare
    const program: Program = {
      setup: setup([number(), number(), number()], { batchSize: 1 }),
      steps: [{ kind: 'revoke_token' }, register(0, 1, false), register(1, 2, false), register(2, 3)],
    };

    // Act
    const result = await expectInvariants(program);

    // Assess
    expect(result.world.simulator.calls.filter((call) => call.answeredWith === 'error 190')).toHaveLength(1);
  });

  it('set_localization with no PIN stored: nothing is deregistered', async () => {
    // Prepare
    const program: Program = {
      setup: setup([number({ registered: true, storedPin: 'none' })]),
      steps: [{ kind: 'enqueue', n: 0, action: 'set_localization', reason: 'localization_change', region: 'CH', key: 1, runAfter: true }],
    };

    // Act
    const result = await expectInvariants(program);

    // Assess
    expect(requests(result, '101')).toEqual([]);
    expect(result.world.simulator.number('101')?.registered).toBe(true);
  });

  it('endless 5xx: the job stops after its transient budget (3 requests) and is dead-lettered', async () => {
    // Prepare
    const program: Program = {
      setup: setup([number()]),
      steps: [{ kind: 'graph_faults', n: 0, faults: [{ type: 'http500' }], repeat: 30 }, register(0, 1)],
    };

    // Act
    const result = await expectInvariants(program);

    // Assess
    expect(requests(result, '101').length).toBeLessThanOrEqual(3);
    expect(result.world.records.deadLetters.map((letter) => letter.envelope.category)).toEqual(['retries_exhausted']);
  });

  it('a ledger write failing after Meta answered 133005: the wrong PIN is still not sent again', async () => {
    // Prepare
    const program: Program = {
      setup: setup([number({ storedPin: 'wrong' })]),
      steps: [{ kind: 'infra_fault', port: 'ledger', nth: 0, effect: 'error', when: 'before', afterAnswer: '^error 133005$' }, register(0, 1)],
    };

    // Act
    const result = await expectInvariants(program);

    // Assess
    expect(requests(result, '101')).toHaveLength(1);
  });
});

describe('webhook programs', () => {
  it('a PIN changed in WhatsApp Manager: register jobs send nothing until the new PIN is stored, then one register with it', async () => {
    // Prepare
    const program: Program = {
      setup: setup([number()]),
      steps: [
        meta({ kind: 'security', n: 0, event: 'PIN_CHANGED' }, { copies: 2, resolve: 'twice' }),
        register(0, 1),
        { kind: 'clock', ms: MINUTE },
        { kind: 'store_pin', n: 0, value: 'correct' },
        { kind: 'redrive', pick: 0, force: false },
      ],
    };

    // Act
    const result = await expectInvariants(program);

    // Assess
    expect(requests(result, '101').map((call) => call.answeredWith)).toEqual(['registered']);
    expect(result.world.records.deadLetters.map((letter) => letter.envelope.category)).toEqual(['pin_changed']);
  });

  it('a restricted business: no job of its numbers sends anything, an older lift changes nothing, a newer lift releases them', async () => {
    // Prepare: both numbers in one business; a lift from before the restriction arrives late
    const program: Program = {
      setup: setup([number(), number({ registered: true })]),
      steps: [
        meta({ kind: 'account', b: 0, update: 'restrict' }, { olderBy: 30 }),
        register(0, 1),
        { kind: 'enqueue', n: 1, action: 'deregister', reason: 'manual', key: 2, runAfter: true },
        { kind: 'clock', ms: HOUR },
        meta({ kind: 'account', b: 0, update: 'lift' }),
        register(0, 3),
      ],
    };

    // Act
    const result = await expectInvariants(program);

    // Assess
    expect(result.world.records.deadLetters.map((letter) => [letter.envelope.jobKey, letter.envelope.category])).toEqual([
      ['job-1', 'account_restricted'],
      ['job-2', 'account_restricted'],
    ]);
    expect(requests(result, '101').map((call) => call.answeredWith)).toEqual(['registered']);
    expect(requests(result, '102')).toEqual([]);
  });

  it('one approval delivered three times and resolved twice, and an older one arriving late: one job, one re-register', async () => {
    // Prepare
    const program: Program = {
      setup: setup([number({ registered: true })]),
      steps: [meta({ kind: 'name', n: 0, decision: 'APPROVED' }, { copies: 3, olderBy: 90, resolve: 'twice' }), { kind: 'resend', pick: 0 }],
    };

    // Act
    const result = await expectInvariants(program);

    // Assess
    const jobs = new Set(result.world.records.resolved.flatMap((resolved) => resolved.jobs.map((job) => job.idempotencyKey)));
    expect(jobs.size).toBe(1);
    expect(requests(result, '101').map((call) => call.answeredWith)).toEqual(['registered']);
  });

  it('webhooks with a bad signature are refused (401) and change nothing', async () => {
    // Prepare: the approval itself never arrives signed
    const signatures = ['wrong_secret', 'malformed', 'missing', 'tampered'] as const;
    const program: Program = {
      setup: setup([number({ registered: true })]),
      steps: [
        meta({ kind: 'name', n: 0, decision: 'REJECTED' }, { copies: 0 }),
        ...signatures.map((signature): Step => ({ kind: 'webhook', picks: [0], copies: 1, signature, resolve: true })),
      ],
    };

    // Act
    const result = await expectInvariants(program);

    // Assess
    expect(result.world.records.posts.map((post) => post.status)).toEqual([401, 401, 401, 401]);
    expect(result.world.records.published).toEqual([]);
    expect(requests(result, '101')).toEqual([]);
  });
});

/**
 * Counterexamples the suite found in production code (issue 10), kept as programs after the fixes: each broke the
 * invariant it names, and must not again.
 */
describe('counterexamples found by the suite, fixed', () => {
  const holds = async (program: Program, invariant: string) => {
    const result = await runProgram(program, { maxHangs: 2 });
    expect(result.violations.join('\n')).not.toContain(invariant);
  };

  it('a PIN refusal standing over a PIN change is not lifted by a PIN version stored before the change (no second 133005)', async () => {
    // The worker caches version 1; the operator stores version 2 (same value); the PIN is changed at Meta; a register
    // with cached version 1 gets 133005 before the PIN_CHANGED is resolved; the refusal (newer) stands over the change,
    // and version 2 (other than the refused one, but stored before the change) lifts it: 133005 again.
    await holds(
      {
        setup: setup([number({ registered: true })]),
        steps: [
          register(0, 1),
          { kind: 'clock', ms: MINUTE },
          { kind: 'store_pin', n: 0, value: 'correct' },
          { kind: 'clock', ms: MINUTE },
          meta({ kind: 'security', n: 0, event: 'PIN_CHANGED' }, { resolve: 'later' }),
          { kind: 'clock', ms: MINUTE },
          { kind: 'enqueue', n: 0, action: 'register', reason: 'manual', key: 2, runAfter: true },
          { kind: 'resolve_events', order: 'fifo', duplicate: false },
          { kind: 'enqueue', n: 0, action: 'register', reason: 'manual', key: 3, runAfter: true },
        ],
      },
      'invariant 9',
    );
  });

  it('a redriven re-register of a connected number whose requests had no answer registers again (not "confirmed")', async () => {
    // Three dropped registers end the approval's job (retries_exhausted); the redrive (generation 1) starts with empty
    // progress, so `connectedBefore` is gone and the CONNECTED state read "confirms" the unknown register: completed,
    // and the approved name was never registered.
    await holds(
      {
        setup: setup([number({ registered: true })]),
        steps: [
          { kind: 'graph_faults', n: 0, faults: [{ type: 'drop' }], repeat: 3 },
          meta({ kind: 'name', n: 0, decision: 'APPROVED' }),
          { kind: 'clock', ms: MINUTE },
          { kind: 'clock', ms: MINUTE },
          { kind: 'redrive', pick: 0, force: false },
        ],
      },
      'invariant 8',
    );
  });

  it('an older restriction resolved while a newer one waits for its number list still holds the numbers', async () => {
    // Both restrictions find no usable token for the number list (retry); the newer one has already written the
    // business as restricted, so the older one, delivered again first, is "older than the state" and holds nothing.
    await holds(
      {
        setup: setup([number()]),
        steps: [
          { kind: 'revoke_token' },
          meta({ kind: 'account', b: 0, update: 'restrict' }),
          { kind: 'clock', ms: MINUTE },
          meta({ kind: 'account', b: 0, update: 'disable' }),
          { kind: 'clock', ms: 29 * MINUTE },
          { kind: 'store_token', valid: true },
          { kind: 'resolve_events', order: 'fifo', duplicate: false },
          register(0, 1),
        ],
      },
      'invariant 10',
    );
  });
});

describe('rotation, verification and business-token programs (issue 11)', () => {
  it('a rotation whose setSecret answer was lost is resumed with its token: registers wait meanwhile, then use the new PIN', async () => {
    // Prepare: Meta takes the new PIN but answers 502; a register comes while the rotation is unfinished
    const program: Program = {
      setup: setup([number()]),
      steps: [
        { kind: 'rotate_pin', n: 0, setFault: { type: 'apply_then_http500' }, echo: 'now' },
        register(0, 1),
        { kind: 'clock', ms: 5 * MINUTE },
        { kind: 'rotate_pin', n: 0, echo: 'later' },
        { kind: 'clock', ms: 5 * MINUTE },
      ],
    };

    // Act
    const result = await expectInvariants(program);

    // Assess
    const registers = requests(result, '101');
    expect(registers.map((call) => call.answeredWith)).toEqual(['registered']);
    expect(result.world.records.rotationPins.has(registers[0]!.pinUsed!)).toBe(true);
  });

  it('a rotation that dies right after Meta took the new PIN leaves registers waiting, then dead-lettered: never a guess', async () => {
    // Prepare: call #16 of the rotation is testSecret's first (Meta has the new PIN, AWSCURRENT the old one)
    const program: Program = {
      setup: setup([number()]),
      steps: [{ kind: 'rotate_pin', n: 0, crashAt: 16, echo: 'now' }, register(0, 1), { kind: 'clock', ms: 2 * HOUR }],
    };

    // Act
    const result = await expectInvariants(program);

    // Assess
    expect(result.world.simulator.calls.filter((call) => call.operation === 'set_pin').map((call) => call.answeredWith)).toEqual(['pin set']);
    expect(requests(result, '101')).toEqual([]);
    expect(result.world.records.deadLetters.map((letter) => letter.envelope.category)).toEqual(['permanent_error']);
  });

  it('a lapsed verification: the register is held, verify confirm lifts the hold, the redrive registers', async () => {
    // Prepare
    const program: Program = {
      setup: setup([number()]),
      steps: [
        { kind: 'verification', n: 0, status: 'EXPIRED' },
        register(0, 1),
        { kind: 'verify_confirm', n: 0, requestFirst: true, code: 'wrong', redrive: true },
        { kind: 'verify_confirm', n: 0, requestFirst: true, code: 'right', redrive: true },
      ],
    };

    // Act
    const result = await expectInvariants(program);

    // Assess
    expect(result.world.records.verifications.map((record) => [record.ok, record.before.hold, record.after.hold])).toEqual([
      [false, 'needs_verification', 'needs_verification'],
      [true, 'needs_verification', undefined],
    ]);
    expect(requests(result, '101').map((call) => call.answeredWith)).toEqual(['registered']);
  });

  it('a verification confirmed while a PIN hold stands leaves the PIN hold', async () => {
    // Prepare
    const program: Program = {
      setup: setup([number({ storedPin: 'wrong' })]),
      steps: [register(0, 1), { kind: 'verify_confirm', n: 0, requestFirst: true, code: 'right', redrive: true }],
    };

    // Act
    const result = await expectInvariants(program);

    // Assess
    expect(result.world.records.verifications.map((record) => [record.ok, record.before.hold, record.after.hold])).toEqual([[true, 'pin_rejected', 'pin_rejected']]);
  });

  it("two businesses with their own tokens: business #0's revoked token holds only business #0's jobs", async () => {
    // Prepare: job-3 names no business, and the ledger has not learned it: it goes with the default token
    const program: Program = {
      setup: setup([number(), number()], { businesses: 2, ownTokens: 3, batchSize: 1 }),
      steps: [
        { kind: 'revoke_business_token', b: 0 },
        { kind: 'enqueue', n: 0, action: 'register', reason: 'account_creation', key: 1, runAfter: true, withBusiness: true },
        { kind: 'enqueue', n: 1, action: 'register', reason: 'account_creation', key: 2, runAfter: true, withBusiness: true },
        { kind: 'enqueue', n: 0, action: 'register', reason: 'manual', key: 3, runAfter: true },
      ],
    };

    // Act
    const result = await expectInvariants(program);

    // Assess
    expect(result.world.records.deadLetters.map((letter) => [letter.envelope.jobKey, letter.envelope.category, letter.envelope.hold?.businessAccountId])).toEqual([
      ['job-1', 'token_rejected', '102290129340398'],
    ]);
    const scopes = (id: string) => requests(result, id).map((call) => [call.answeredWith, result.world.secrets.tokenOf(call.tokenUsed)?.scope]);
    expect(scopes('102')).toEqual([['registered', '102290129340399']]);
    expect(scopes('101')).toEqual([['registered', undefined]]);
  });
});

/** Counterexamples the suite found in the PIN rotation, fixed; each broke invariant 11 and must not again. */
describe('rotation counterexamples found by the suite, fixed', () => {
  it("a person's PIN change whose webhook arrives after a later rotation finished is superseded by the rotation's PIN (chaos seed 4242)", async () => {
    // The rotation waits for an unanswered register, resumes 16 min later and sets its PIN; the person's change, 10 min
    // old, was overwritten by that set: the register sends the rotated PIN and nothing holds the number.
    await expectInvariants({
      setup: { numbers: [{ registered: false, verification: 'VERIFIED', storedPin: 'correct', pinEnabled: true }], businesses: 1, batchSize: 1, concurrency: 1, tokenStored: true, ownTokens: 0 },
      steps: [
        { kind: 'graph_faults', n: 0, faults: [{ type: 'http500' }], repeat: 2 },
        { kind: 'meta', fact: { kind: 'name', n: 0, decision: 'REJECTED' }, ageMinutes: 0, copies: 1, publishFails: true, resolve: 'now', olderBy: 0 },
        { kind: 'rotate_pin', n: 0, echo: 'now' },
        { kind: 'clock', ms: 960_000 },
        { kind: 'rotate_pin', n: 0, echo: 'now' },
        { kind: 'meta', fact: { kind: 'security', n: 0, event: 'PIN_CHANGED' }, ageMinutes: 10, copies: 1, publishFails: false, resolve: 'now' },
      ],
    } as Program);
  });

  it('a PIN reset older than a finished rotation, resolved after it, neither holds the number nor lets a cached old PIN through (chaos seed 99)', async () => {
    // A reset requested a minute before; a register caches the old PIN; an hour later a rotation finishes; only then is
    // the reset resolved (older than the PIN wa-registrar set: superseded), and the next register must send the rotated
    // PIN, not the cached old one (the cache is older than the last PIN set).
    await expectInvariants(
      {
        setup: { numbers: [{ registered: false, verification: 'VERIFIED', storedPin: 'correct', pinEnabled: true }], businesses: 1, batchSize: 10, concurrency: 1, tokenStored: true, ownTokens: 1 },
        steps: [
          { kind: 'infra_fault', port: 'ledger', nth: 0, effect: 'crash', when: 'before' },
          { kind: 'meta', fact: { kind: 'security', n: 0, event: 'PIN_RESET_REQUEST' }, ageMinutes: 1, copies: 1, publishFails: false, resolve: 'later' },
          { kind: 'enqueue', n: 0, action: 'register', reason: 'account_creation', key: 1, runAfter: true, withBusiness: true },
          { kind: 'clock', ms: HOUR },
          { kind: 'rotate_pin', n: 0, echo: 'now' },
          { kind: 'enqueue', n: 0, action: 'register', reason: 'manual', key: 0, runAfter: true, withBusiness: false },
        ],
      } as Program,
    );
  });

  it('a resumed setSecret refused by Meta does not roll back a PIN an earlier, unanswered set may have given Meta (invariant 11)', async () => {
    // 1. setSecret sends the new PIN; Meta applies it, but the answer is lost (502): pending stays, registers wait (right).
    // 2. The rotation is resumed with the same token; setSecret sends the same PIN again and Meta refuses it (133005,
    //    an outcome "rejected"). setSecret rolls back: AWSPENDING dropped, pinRotation cleared. But Meta kept the PIN of
    //    step 1: AWSCURRENT holds the old PIN, no label holds Meta's, and the next register gets 133005.
    await expectInvariants({
      setup: setup([number()]),
      steps: [
        { kind: 'rotate_pin', n: 0, setFault: { type: 'apply_then_http500' }, echo: 'now' },
        { kind: 'rotate_pin', n: 0, setFault: { type: 'graph_error', code: 133005, httpStatus: 400 }, echo: 'now' },
      ],
    });
  });

  it('a resumed setSecret refused for its token (190) does not roll back a PIN Meta accepted before the crash (invariant 11)', async () => {
    // 1. setSecret: Meta answers 200 (it has the new PIN); the rotation dies right after (before testSecret).
    // 2. Meta revokes the token. 3. `pin rotate` resumes with the same token: setSecret resends, Meta answers 190,
    //    whose outcome is "rejected": rolled back, though 190 says nothing about the PIN and Meta has had it since step 1.
    await expectInvariants({
      setup: setup([number()]),
      steps: [{ kind: 'rotate_pin', n: 0, crashAt: 16, echo: 'now' }, { kind: 'revoke_token' }, { kind: 'rotate_pin', n: 0, echo: 'now' }],
    });
  });

  it('the late echo of a resumed rotation\'s first PIN set does not hold the number (invariant 11e)', async () => {
    // 1. setSecret: Meta takes the new PIN (200); the rotation dies before testSecret; Meta's PIN_CHANGED echo waits.
    // 2-3. An hour later `pin rotate` resumes and finishes: pinRotation cleared, lastPinSet.at = now (not the set time).
    // 4-5. A register (its first try answered 500) meets the echo, resolved meanwhile: 1 h before lastPinSet.at, it is
    //    not taken as wa-registrar's own, so the number is held pin_changed against the rotated PIN, which Meta has.
    await expectInvariants({
      setup: setup([number()]),
      steps: [
        { kind: 'rotate_pin', n: 0, crashAt: 16, echo: 'later' },
        { kind: 'clock', ms: HOUR },
        { kind: 'rotate_pin', n: 0, echo: 'now' },
        { kind: 'graph_faults', n: 0, faults: [{ type: 'http500' }], repeat: 1 },
        register(0, 1),
      ],
    });
  });
});
