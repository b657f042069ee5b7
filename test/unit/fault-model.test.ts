import { describe, expect, it } from 'vitest';
import type { NumberSetup, Program, Setup, Step } from '../support/model/program.ts';
import { checkModel, runProgram } from '../support/model/property.ts';
import { formatFailure } from '../support/model/report.ts';

/**
 * Model-based fault suite: random programs of jobs, Graph answers, number conditions, infrastructure faults,
 * crashes, operator actions and clock jumps, run against the real worker (in-memory ledger, model secret store,
 * model FIFO queue, the Graph simulator over HTTP). Invariants are checked after every step; see
 * test/support/model/invariants.ts. Longer programs: `npm run chaos -- --runs N --seed S`.
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
const setup = (numbers: NumberSetup[], overrides: Partial<Setup> = {}): Setup => ({ numbers, batchSize: 10, concurrency: 1, tokenStored: true, ...overrides });
const register = (n: number, key: number, runAfter = true): Step => ({ kind: 'enqueue', n, action: 'register', reason: 'account_creation', key, runAfter });

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
