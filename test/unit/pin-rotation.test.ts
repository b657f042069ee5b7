import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock.ts';
import type { GraphCallResult, GraphClient, StateReadResult } from '../../shared/graph/port.ts';
import type { AttemptLedger, AttemptRecord, NumberHold, NumberRecord } from '../../shared/ledger/port.ts';
import { isTrivialPin } from '../../shared/pins/generate-pin.ts';
import { STAGE } from '../../shared/pins/pin-secret.ts';
import { finishRotation, liftedByRotation } from '../../shared/pins/rotation-ledger.ts';
import { PinRotationError, REGISTER_SETTLE_MS, ROTATION_STEPS, runRotationStep, type RotationDeps, type RotationStep } from '../../shared/pins/rotation.ts';
import { rotateInProcess } from '../../shared/pins/run-rotation.ts';
import { parsePinSecret } from '../../shared/secrets/secret-values.ts';
import { InMemoryAttemptLedger } from '../support/in-memory-ledger.ts';
import { InMemoryPinVault } from '../support/in-memory-pin-vault.ts';

const PREFIX = 'wa-test/pin/';
const ID = '1001';
const NAME = `${PREFIX}${ID}`;
const OLD_PIN = '730162';
const HOUR = 3_600_000;

/** Meta as far as the rotation sees it: the number's PIN, and scripted answers for the next setPin calls. */
class FakeMeta implements Pick<GraphClient, 'setPin' | 'readState'> {
  pin: string | undefined = OLD_PIN;
  readonly setPins: string[] = [];
  readonly answers: Array<{ result: GraphCallResult; applied: boolean }> = [];
  stateAnswer: StateReadResult | undefined;

  async setPin(_id: string, pin: string, _token: string): Promise<GraphCallResult> {
    this.setPins.push(pin);
    const scripted = this.answers.shift();
    if (!scripted || scripted.applied) this.pin = pin;
    return scripted?.result ?? { kind: 'success', httpStatus: 200, durationMs: 1 };
  }

  async readState(_id: string, _token: string): Promise<StateReadResult> {
    return this.stateAnswer ?? { kind: 'known', state: { isPinEnabled: this.pin !== undefined } };
  }
}

const refused = (code: number): { result: GraphCallResult; applied: boolean } => ({
  result: { kind: 'graph_error', httpStatus: 400, error: { code, message: `(#${code}) test`, fbtraceId: 'AbC12dEf3GhI4jK' }, durationMs: 1 },
  applied: false,
});

interface World {
  vault: InMemoryPinVault;
  ledger: InMemoryAttemptLedger;
  meta: FakeMeta;
  clock: ManualClock;
  deps: RotationDeps;
  oldVersion: string;
}

function world(options: { requireRotationEnabled?: boolean; rotationEnabled?: boolean } = {}): World {
  const vault = new InMemoryPinVault();
  const oldVersion = vault.seed(NAME, JSON.stringify({ pin: OLD_PIN }), { rotationEnabled: options.rotationEnabled ?? false });
  const ledger = new InMemoryAttemptLedger();
  const meta = new FakeMeta();
  const clock = new ManualClock();
  const deps: RotationDeps = {
    vault,
    ledger,
    graph: meta,
    accessToken: async () => ({ kind: 'found', value: 'test-token', version: 'tok-1', fresh: true }),
    clock,
    pinSecretPrefix: PREFIX,
    policy: { windowMs: 72 * HOUR, marginMs: 15 * 60_000 },
    requireRotationEnabled: options.requireRotationEnabled ?? false,
  };
  return { vault, ledger, meta, clock, deps, oldVersion };
}

const step = (w: World, Step: RotationStep, token: string) => runRotationStep({ SecretId: NAME, ClientRequestToken: token, Step }, w.deps);
const pinAt = (w: World, stage: string) => {
  const found = w.vault.valueAt(NAME, stage);
  const parsed = found?.value === undefined ? undefined : parsePinSecret(found.value);
  return parsed?.kind === 'found' ? parsed.value : undefined;
};
const rejection = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as PinRotationError);

/** Writes a number item as the worker would have left it. */
async function writeNumber(ledger: AttemptLedger, change: Partial<NumberRecord>): Promise<void> {
  const read = await ledger.number(ID);
  const at = Date.UTC(2026, 10, 25, 12);
  expect(await ledger.commit({ phoneNumberId: ID, number: { ...read, ...change, version: read.version + 1 }, expiresAt: { number: at + 100 * HOUR, job: at, attempt: at } }, `seed-${read.version}`)).toBe('committed');
}

/** Puts a request on the ledger as the worker's reservation (and, when answered, its outcome) leaves it. */
async function writeAttempt(w: World, attempt: { at: number; outcome: AttemptRecord['outcome']; operation?: AttemptRecord['operation'] }): Promise<void> {
  const read = await w.ledger.number(ID);
  const operation = attempt.operation ?? 'register';
  const record: AttemptRecord = { attemptId: `a-${attempt.at}`, phoneNumberId: ID, operation, at: attempt.at, reason: 'manual', jobKey: `job-${attempt.at}`, outcome: attempt.outcome };
  const expiresAt = attempt.at + 100 * HOUR;
  const committed = await w.ledger.commit(
    { phoneNumberId: ID, number: { ...read, spent: [...read.spent, { at: attempt.at, operation }], version: read.version + 1 }, attempt: { create: record }, expiresAt: { number: expiresAt, job: expiresAt, attempt: expiresAt } },
    `attempt-${attempt.at}`,
  );
  expect(committed).toBe('committed');
}

/** The invariant after anything: Meta's PIN is one Secrets Manager holds under a label, and the worker is told which. */
function expectNoPinNobodyKnows(w: World, ledgerNumber: NumberRecord): void {
  const current = pinAt(w, STAGE.current);
  const pending = pinAt(w, STAGE.pending);
  expect([current, pending]).toContain(w.meta.pin);
  // Where Meta may not have AWSCURRENT's PIN, registers wait.
  if (w.meta.pin !== current) expect(ledgerNumber.pinRotation?.pendingVersion).toBe(w.vault.valueAt(NAME, STAGE.pending)?.versionId);
}

describe('PIN rotation steps', () => {
  it('rotates: a new non-trivial PIN is set at Meta and becomes AWSCURRENT; registers wait between createSecret and finishSecret', async () => {
    // Prepare
    const w = world();
    const token = 'v-new';
    // Act + Assess, step by step
    expect((await step(w, 'createSecret', token)).outcome).toBe('created');
    const pending = pinAt(w, STAGE.pending)!;
    expect(pending).toMatch(/^\d{6}$/);
    expect(isTrivialPin(pending)).toBe(false);
    expect(pending).not.toBe(OLD_PIN);
    expect(pinAt(w, STAGE.current)).toBe(OLD_PIN);
    expect((await w.ledger.number(ID)).pinRotation).toEqual({ since: w.clock.now(), pendingVersion: token });

    expect((await step(w, 'setSecret', token)).outcome).toBe('set');
    expect(w.meta.pin).toBe(pending);
    expect((await w.ledger.number(ID)).pinRotation?.pendingVersion).toBe(token);

    expect((await step(w, 'testSecret', token)).outcome).toBe('tested');
    w.clock.advance(60_000);
    const finished = await step(w, 'finishSecret', token);

    expect(finished.outcome).toBe('finished');
    expect(w.vault.valueAt(NAME, STAGE.current)?.versionId).toBe(token);
    expect(pinAt(w, STAGE.current)).toBe(pending);
    expect(w.vault.valueAt(NAME, STAGE.previous)?.versionId).toBe(w.oldVersion);
    const number = await w.ledger.number(ID);
    expect(number.pinRotation).toBeUndefined();
    // `sentAt`: when setSecret first sent the PIN (a minute before the finish here): Meta's echo of it holds nothing.
    expect(number.lastPinSet).toEqual({ at: w.clock.now(), version: token, by: 'rotation', sentAt: w.clock.now() - 60_000 });
    // The stored value keeps the JSON shape of the one it replaced.
    expect(JSON.parse(w.vault.valueAt(NAME, STAGE.current)!.value!)).toEqual({ pin: pending });
  });

  it('runs every step twice with the same token and ends the same: one PIN stored, the same PIN sent twice', async () => {
    // Prepare
    const w = world();
    // Act
    for (const name of ROTATION_STEPS) {
      await step(w, name, 'v-twice');
      await step(w, name, 'v-twice');
    }
    // Assess
    expect(w.vault.calls.filter((call) => call === 'putPending')).toHaveLength(1);
    expect(w.vault.calls.filter((call) => call === 'moveCurrent')).toHaveLength(1);
    expect(new Set(w.meta.setPins).size).toBe(1);
    expect(w.meta.pin).toBe(pinAt(w, STAGE.current));
    expect((await w.ledger.number(ID)).pinRotation).toBeUndefined();
  });

  it('a crash after setSecret leaves Meta on the pending PIN, AWSCURRENT on the old one and registers waiting; resuming finishes on the pending PIN', async () => {
    // Prepare: createSecret and setSecret ran, then the process died
    const w = world();
    await step(w, 'createSecret', 'v-crash');
    await step(w, 'setSecret', 'v-crash');
    const pending = pinAt(w, STAGE.pending);
    // Assess the crashed state
    expect(w.meta.pin).toBe(pending);
    expect(pinAt(w, STAGE.current)).toBe(OLD_PIN);
    expect((await w.ledger.number(ID)).pinRotation?.pendingVersion).toBe('v-crash');
    // Act: pin rotate resumes the unfinished rotation (its token), it does not start another
    const resumed = await rotateInProcess(w.deps, ID, { newVersionId: () => 'v-other' });
    // Assess
    expect(resumed).toMatchObject({ versionId: 'v-crash', resumed: true });
    expect(resumed.steps.map((s) => s.outcome)).toEqual(['already_created', 'set', 'tested', 'finished']);
    expect(pinAt(w, STAGE.current)).toBe(pending);
    expect(w.meta.pin).toBe(pending);
    expect((await w.ledger.number(ID)).pinRotation).toBeUndefined();
  });

  it('a crash between finishSecret\'s label move and its ledger write is finished by the retry (the token is already AWSCURRENT)', async () => {
    // Prepare
    const w = world();
    for (const name of ['createSecret', 'setSecret', 'testSecret'] as const) await step(w, name, 'v-fin');
    const commit = w.ledger.commit.bind(w.ledger);
    let failures = 1;
    w.deps.ledger = { number: (id) => w.ledger.number(id), history: (id) => w.ledger.history(id), commit: async (changes, token) => (failures-- > 0 ? Promise.reject(new Error('DynamoDB unreachable')) : commit(changes, token)) };
    // Act
    const crashed = await rejection(step(w, 'finishSecret', 'v-fin'));
    const marked = (await w.ledger.number(ID)).pinRotation;
    const retried = await step(w, 'finishSecret', 'v-fin');
    // Assess: between the two, AWSCURRENT is already Meta's PIN and registers still wait
    expect(crashed).toBeInstanceOf(Error);
    expect(marked?.pendingVersion).toBe('v-fin');
    expect(retried.outcome).toBe('already_current');
    expect((await w.ledger.number(ID)).pinRotation).toBeUndefined();
    expect((await w.ledger.number(ID)).lastPinSet?.version).toBe('v-fin');
    expect(w.meta.pin).toBe(pinAt(w, STAGE.current));
  });

  it.each([133005, 100, 190, 80007])('rolls back when Meta refuses the PIN for certain (%i): the old PIN stays current and Meta\'s', async (code) => {
    // Prepare
    const w = world();
    w.meta.answers.push(refused(code));
    await step(w, 'createSecret', 'v-refused');
    // Act
    const error = await rejection(step(w, 'setSecret', 'v-refused'));
    // Assess
    expect(error).toBeInstanceOf(PinRotationError);
    expect(error).toMatchObject({ kind: 'rolled_back', step: 'setSecret', code, fbtraceId: 'AbC12dEf3GhI4jK' });
    expect(error!.message).toContain(`error ${code}`);
    expect(w.vault.valueAt(NAME, STAGE.pending)).toBeUndefined();
    expect(pinAt(w, STAGE.current)).toBe(OLD_PIN);
    expect(w.meta.pin).toBe(OLD_PIN);
    expect((await w.ledger.number(ID)).pinRotation).toBeUndefined();
    // A retry of the rolled-back rotation (same token) is refused at every step, sending nothing.
    for (const name of ROTATION_STEPS) expect(await rejection(step(w, name, 'v-refused'))).toMatchObject({ kind: 'refused' });
    expect(w.meta.setPins).toHaveLength(1);
  });

  it.each([
    ['a timeout', { kind: 'no_answer', why: 'timeout', durationMs: 1 } as GraphCallResult, true],
    ['a 5xx', { kind: 'no_answer', why: 'server_error', httpStatus: 502, durationMs: 1 } as GraphCallResult, false],
    ['131000 (unknown outcome)', refused(131000).result, true],
  ])('keeps the rotation pending after %s (Meta may have either PIN), and the retry sends the same PIN', async (_name, result, applied) => {
    // Prepare
    const w = world();
    w.meta.answers.push({ result, applied });
    await step(w, 'createSecret', 'v-unknown');
    const pending = pinAt(w, STAGE.pending);
    // Act
    const error = await rejection(step(w, 'setSecret', 'v-unknown'));
    const number = await w.ledger.number(ID);
    // Assess
    expect(error).toMatchObject({ kind: 'retry', step: 'setSecret' });
    expect(pinAt(w, STAGE.pending)).toBe(pending);
    expect(number.pinRotation?.pendingVersion).toBe('v-unknown');
    expectNoPinNobodyKnows(w, number);
    // Act: the retry
    for (const name of ['setSecret', 'testSecret', 'finishSecret'] as const) await step(w, name, 'v-unknown');
    // Assess
    expect(w.meta.setPins).toEqual([pending, pending]);
    expect(w.meta.pin).toBe(pinAt(w, STAGE.current));
    expect(pinAt(w, STAGE.current)).toBe(pending);
  });

  it('never starts a rotation over an unfinished one: another version still AWSPENDING refuses createSecret', async () => {
    // Prepare
    const w = world();
    await step(w, 'createSecret', 'v-first');
    await step(w, 'setSecret', 'v-first');
    // Act
    const error = await rejection(step(w, 'createSecret', 'v-second'));
    // Assess
    expect(error).toMatchObject({ kind: 'refused', step: 'createSecret' });
    expect(error!.message).toContain('v-first');
    expect(w.vault.valueAt(NAME, STAGE.pending)?.versionId).toBe('v-first');
    expect((await w.ledger.number(ID)).pinRotation?.pendingVersion).toBe('v-first');
  });

  it.each(['pending', 'unknown'] as const)('setSecret waits while a register sent before the rotation has no answer (%s): it may still reach Meta with the old PIN', async (outcome) => {
    // Prepare: the worker sent a register a minute ago and has no answer yet
    const w = world();
    await writeAttempt(w, { at: w.clock.now() - 60_000, outcome });
    await step(w, 'createSecret', 'v-wait');
    // Act
    const early = await rejection(step(w, 'setSecret', 'v-wait'));
    w.clock.advance(REGISTER_SETTLE_MS);
    const later = await step(w, 'setSecret', 'v-wait');
    // Assess
    expect(early).toMatchObject({ kind: 'retry' });
    expect(early!.message).toContain('has no answer yet and may still reach Meta with the old PIN');
    expect(w.meta.setPins).toHaveLength(1);
    expect(later.outcome).toBe('set');
  });

  it('setSecret does not wait for a register that was answered, nor for a deregister', async () => {
    // Prepare
    const w = world();
    await writeAttempt(w, { at: w.clock.now() - 60_000, outcome: 'rejected' });
    await writeAttempt(w, { at: w.clock.now() - 30_000, outcome: 'pending', operation: 'deregister' });
    await step(w, 'createSecret', 'v-answered');
    // Act
    const set = await step(w, 'setSecret', 'v-answered');
    // Assess
    expect(set.outcome).toBe('set');
  });

  it('testSecret reads the state only, and keeps the rotation pending when Meta does not show two-step on or the read fails', async () => {
    // Prepare
    const w = world();
    await step(w, 'createSecret', 'v-test');
    await step(w, 'setSecret', 'v-test');
    // Act
    w.meta.stateAnswer = { kind: 'known', state: { isPinEnabled: false } };
    const off = await rejection(step(w, 'testSecret', 'v-test'));
    w.meta.stateAnswer = { kind: 'unknown', why: 'timeout' };
    const unknown = await rejection(step(w, 'testSecret', 'v-test'));
    // Assess
    expect(off).toMatchObject({ kind: 'retry', step: 'testSecret' });
    expect(unknown).toMatchObject({ kind: 'retry', step: 'testSecret' });
    expect(w.meta.setPins).toHaveLength(1);
    expect((await w.ledger.number(ID)).pinRotation?.pendingVersion).toBe('v-test');
  });

  it('as Secrets Manager runs it: rotation must be on, and createSecret fills the empty AWSPENDING version RotateSecret made', async () => {
    // Prepare
    const off = world({ requireRotationEnabled: true });
    const on = world({ requireRotationEnabled: true });
    on.vault.startRotation(NAME, 'v-sm');
    // Act
    const refusedOff = await rejection(step(off, 'createSecret', 'v-sm'));
    for (const name of ROTATION_STEPS) await step(on, name, 'v-sm');
    // Assess
    expect(refusedOff).toMatchObject({ kind: 'refused' });
    expect(refusedOff!.message).toContain('rotation is not enabled');
    expect(on.vault.valueAt(NAME, STAGE.current)?.versionId).toBe('v-sm');
    expect(on.meta.pin).toBe(pinAt(on, STAGE.current));
  });

  it('touches only PIN secrets: another secret, or one with no valid current PIN, is refused before anything is written', async () => {
    // Prepare
    const w = world();
    w.vault.seed('wa-test/graph-token', 'EAAG-token');
    w.vault.seed(`${PREFIX}1002`, '{"pin":12345}');
    // Act
    const token = await rejection(runRotationStep({ SecretId: 'wa-test/graph-token', ClientRequestToken: 'v', Step: 'createSecret' }, w.deps));
    const malformed = await rejection(runRotationStep({ SecretId: `${PREFIX}1002`, ClientRequestToken: 'v', Step: 'createSecret' }, w.deps));
    // Assess
    expect(token).toMatchObject({ kind: 'refused' });
    expect(token!.message).toContain('is not a PIN secret');
    expect(malformed).toMatchObject({ kind: 'refused' });
    expect(malformed!.message).toContain('fix the stored PIN');
    expect(w.vault.calls.filter((call) => call === 'putPending')).toEqual([]);
    expect((await w.ledger.number('1002')).pinRotation).toBeUndefined();
  });

  it('settles a leftover mark: one naming an AWSCURRENT version is finished, one naming a rolled-back version is dropped', async () => {
    // Prepare: a finished rotation whose ledger write was lost, then a mark for a version that was never stored
    const w = world();
    for (const name of ROTATION_STEPS) await step(w, name, 'v-done');
    await writeNumber(w.ledger, { pinRotation: { since: w.clock.now(), pendingVersion: 'v-done' } });
    // Act
    const resumed = await rotateInProcess(w.deps, ID, { newVersionId: () => 'v-unused' });
    // Assess
    expect(resumed).toMatchObject({ versionId: 'v-done', resumed: true });
    expect((await w.ledger.number(ID)).pinRotation).toBeUndefined();

    // Prepare
    await writeNumber(w.ledger, { pinRotation: { since: w.clock.now(), pendingVersion: 'v-ghost' } });
    w.clock.advance(REGISTER_SETTLE_MS);
    // Act
    const fresh = await rotateInProcess(w.deps, ID, { newVersionId: () => 'v-next' });
    // Assess
    expect(fresh).toMatchObject({ versionId: 'v-next', resumed: false });
    expect(w.vault.valueAt(NAME, STAGE.current)?.versionId).toBe('v-next');
    expect((await w.ledger.number(ID)).pinRotation).toBeUndefined();
  });
});

describe('crash at every point', () => {
  /** Wraps the world so that the n-th effect (a secret write, a ledger commit, a Graph call; before or after it) throws. */
  function crashing(w: World, at: number): RotationDeps {
    let count = 0;
    const tick = () => {
      count += 1;
      if (count === at) throw new Error(`crash at effect ${at}`);
    };
    const around = <A extends unknown[], R>(call: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
      tick();
      const value = await call(...args);
      tick();
      return value;
    };
    const vault = w.vault;
    return {
      ...w.deps,
      vault: {
        describe: (id) => vault.describe(id),
        read: (id, version) => vault.read(id, version),
        create: (name, value) => vault.create(name, value),
        putCurrent: (id, value) => vault.putCurrent(id, value),
        putPending: around((id: string, version: string, value: string) => vault.putPending(id, version, value)),
        moveCurrent: around((id: string, to: string, from: string) => vault.moveCurrent(id, to, from)),
        dropPending: around((id: string, version: string) => vault.dropPending(id, version)),
      },
      ledger: { number: (id) => w.ledger.number(id), history: (id) => w.ledger.history(id), commit: around((changes, token) => w.ledger.commit(changes, token)) },
      graph: { setPin: around((id: string, pin: string, token: string) => w.meta.setPin(id, pin, token)), readState: (id, token) => w.meta.readState(id, token) },
    };
  }

  it.each(['accepts', 'refuses'] as const)('when Meta %s the PIN: after a crash anywhere and a resume, Meta and AWSCURRENT agree', async (answer) => {
    for (let at = 1; ; at++) {
      // Prepare
      const w = world();
      if (answer === 'refuses') w.meta.answers.push(refused(133005), refused(133005), refused(133005));
      // Act: crash at effect `at`
      const crashed = await rejection(rotateInProcess(crashing(w, at), ID));
      // Assess: right after the crash, no PIN nobody knows
      expectNoPinNobodyKnows(w, await w.ledger.number(ID));
      if (crashed === undefined || crashed instanceof PinRotationError) {
        // No crash point left in this run: every effect has had its turn.
        expect(at).toBeGreaterThan(4);
        return;
      }
      // Once the first send is recorded, a refusal of the resend proves nothing about the first: nothing is rolled back.
      // (Unless the crash came in the rollback of a refused first send, after the pending label was dropped: the resume
      // then starts a new rotation, whose own first send is refused and rolled back.)
      const mark = (await w.ledger.number(ID)).pinRotation;
      const sentBeforeCrash = mark?.sentAt !== undefined && w.vault.valueAt(NAME, STAGE.pending)?.versionId === mark.pendingVersion;
      // Act: resume (pin rotate, or Secrets Manager's retry with the same token)
      const resumed = await rejection(rotateInProcess(w.deps, ID));
      // Assess
      const number = await w.ledger.number(ID);
      expect(w.meta.pin, `crash at effect ${at}`).toBe(pinAt(w, STAGE.current));
      if (answer === 'refuses' && sentBeforeCrash) {
        expect(resumed, `crash at effect ${at}`).toMatchObject({ kind: 'retry' });
        expect(number.pinRotation, `crash at effect ${at}`).toBeDefined();
        expectNoPinNobodyKnows(w, number);
        continue;
      }
      expect(number.pinRotation, `crash at effect ${at}`).toBeUndefined();
      expect(w.vault.valueAt(NAME, STAGE.pending) === undefined || w.vault.valueAt(NAME, STAGE.pending)?.versionId === w.vault.valueAt(NAME, STAGE.current)?.versionId).toBe(true);
      if (answer === 'accepts') {
        expect(resumed, `crash at effect ${at}`).toBeUndefined();
        expect(pinAt(w, STAGE.current)).not.toBe(OLD_PIN);
      } else {
        expect(resumed).toMatchObject({ kind: 'rolled_back' });
        expect(pinAt(w, STAGE.current)).toBe(OLD_PIN);
      }
    }
  });
});

describe('holds a finished rotation lifts', () => {
  const now = Date.UTC(2026, 10, 25, 12);
  const hold = (cause: NumberHold['cause'], until?: number): NumberHold => ({ cause, since: now - HOUR, detail: 'test', ...(until === undefined ? {} : { until }) });

  it.each([
    ['pin_rejected', hold('pin_rejected'), true],
    ['pin_changed', hold('pin_changed'), true],
    ['pin_locked whose until has passed', hold('pin_locked', now - 1), true],
    ['pin_locked before its until', hold('pin_locked', now + HOUR), false],
    ['pin_locked with no until', hold('pin_locked'), false],
    ['needs_verification', hold('needs_verification'), false],
    ['deregister_stuck', hold('deregister_stuck'), false],
    ['account_restricted', hold('account_restricted'), false],
  ] as const)('%s: lifted %s', (_name, given, lifted) => {
    // Act
    const finished = finishRotation({ phoneNumberId: ID, version: 3, spent: [], reserved: [], blockedUntil: {}, hold: given, pinRotation: { since: now - HOUR, pendingVersion: 'v' } }, 'v', now);
    // Assess
    expect(liftedByRotation(given, now)).toBe(lifted);
    expect(finished.number.hold).toEqual(lifted ? undefined : given);
    expect(finished.lifted).toEqual(lifted ? given : undefined);
    expect(finished.number.pinRotation).toBeUndefined();
    expect(finished.number.lastPinSet).toEqual({ at: now, version: 'v', by: 'rotation' });
  });
});
