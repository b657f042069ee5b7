import { ResourceNotFoundException, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { loadPinRotationConfig } from '../../functions/pin-rotation/config.ts';
import { createPinRotation } from '../../functions/pin-rotation/rotation.ts';
import { MINUTE_MS } from '../../shared/clock.ts';
import { STAGE } from '../../shared/pins/pin-secret.ts';
import { simulatorDigest } from '../../tools/graph-simulator.ts';
import { usePinWorld, type PinWorld } from '../support/pin-helpers.ts';

const OLD_PIN = '730162';

/** A number registered nowhere yet, whose two-step PIN at Meta and in its secret is OLD_PIN. */
async function numberWithPin(w: PinWorld, id: string, settings: Parameters<PinWorld['h']['simulator']['addNumber']>[1] = {}): Promise<void> {
  w.h.simulator.addNumber(id, { pin: OLD_PIN, ...settings });
  await w.h.storePin(id, OLD_PIN);
}

/** Registers the number through a fresh worker and returns Meta's answer to the register. */
async function registerNow(w: PinWorld, id: string): Promise<{ answeredWith: string; pinUsed?: string }> {
  await w.h.enqueue({ action: 'register', phoneNumberId: id, reason: 'account_creation', idempotencyKey: `reg-${randomUUID()}` });
  await w.runFreshWorker();
  const register = w.h.simulator.limitedCalls(id).at(-1);
  if (!register) throw new Error(`no register reached the simulator for ${id}`);
  return register;
}

/**
 * The rotation function as Secrets Manager drives it, on moto. moto cannot invoke a Lambda: its RotateSecret with a
 * function ARN it does not know stores the rotation settings and the empty AWSPENDING version, then fails on the
 * invocation; that is exactly what Secrets Manager leaves before it invokes createSecret. The steps are then invoked
 * here, as Secrets Manager would, with its token.
 */
async function startedBySecretsManager(w: PinWorld, id: string): Promise<string> {
  const token = randomUUID();
  const started = await w.h.clients.secretsManager
    .send(
      new RotateSecretCommand({
        SecretId: w.secretName(id),
        ClientRequestToken: token,
        RotationLambdaARN: 'arn:aws:lambda:eu-west-1:123456789012:function:pin-rotation',
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    )
    .catch((error: unknown) => error);
  expect(started).toBeInstanceOf(ResourceNotFoundException);
  expect((await w.labels(id))[token]).toEqual([STAGE.pending]);
  return token;
}

function rotationFunction(w: PinWorld) {
  const config = loadPinRotationConfig({
    GRAPH_API_BASE_URL: w.h.simulator.baseUrl,
    GRAPH_TIMEOUT_MS: '1500',
    LEDGER_TABLE_NAME: w.h.stack.ledgerTableName,
    TOKEN_SECRET_ID: w.h.stack.tokenSecretId,
    PIN_SECRET_PREFIX: w.h.stack.pinSecretPrefix,
  });
  return createPinRotation(config, { clock: w.h.clock, clients: w.h.clients });
}

describe('PIN rotation (against moto and the simulator)', () => {
  const w = usePinWorld();

  it('pin rotate runs the four steps in-process on the emulator: Meta and AWSCURRENT end on one new PIN, and a register with it succeeds', async () => {
    // Prepare
    await numberWithPin(w, '3001');
    const before = await w.pinAt('3001');
    // Act
    const run = await w.cli(['pin', 'rotate', '3001']);
    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const after = await w.pinAt('3001');
    expect(after!.pin).not.toBe(OLD_PIN);
    expect(w.h.simulator.number('3001')?.pin).toBe(after!.pin);
    expect((await w.labels('3001'))[before!.versionId]).toEqual([STAGE.previous]);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe(`Rotating the PIN of number 3001 (${w.secretName('3001')}) here, step by step: no rotation function is configured (the local emulator).`);
    expect(lines.slice(1, 5).map((line) => line.trim().split(/\s+/).slice(0, 2).join(' '))).toEqual([
      'createSecret created',
      'setSecret set',
      'testSecret tested',
      'finishSecret finished',
    ]);
    expect(lines[5]).toBe(`Done: version ${after!.versionId} is AWSCURRENT and the number's PIN at Meta. The PIN is not shown.`);
    const number = await w.ledger.number('3001');
    expect(number.pinRotation).toBeUndefined();
    expect(number.lastPinSet).toEqual({ at: w.h.clock.now(), version: after!.versionId, by: 'rotation', sentAt: w.h.clock.now() });
    const setPin = w.h.simulator.calls.find((call) => call.operation === 'set_pin');
    expect(setPin).toMatchObject({ method: 'POST', phoneNumberId: '3001', pinType: 'string', pinUsed: simulatorDigest(after!.pin) });
    // Act: a register after the rotation, from a container that never saw the old PIN
    const register = await registerNow(w, '3001');
    // Assess
    expect(register).toMatchObject({ answeredWith: 'registered', pinUsed: simulatorDigest(after!.pin) });
  });

  it('a rotation interrupted after setSecret resumes with the same token and ends with Graph and AWSCURRENT on one PIN', async () => {
    // Prepare
    await numberWithPin(w, '3002');
    const token = await startedBySecretsManager(w, '3002');
    const rotation = rotationFunction(w);
    // Act: createSecret and setSecret, then the function "crashes" (Secrets Manager never hears back)
    await rotation.handleStep({ SecretId: w.secretName('3002'), ClientRequestToken: token, Step: 'createSecret' });
    await rotation.handleStep({ SecretId: w.secretName('3002'), ClientRequestToken: token, Step: 'setSecret' });
    // Assess: Meta has the pending PIN, AWSCURRENT the old one, and the ledger tells the worker to wait
    const pending = await w.pinAt('3002', STAGE.pending);
    expect(pending?.versionId).toBe(token);
    expect(await w.pinAt('3002')).toMatchObject({ pin: OLD_PIN });
    expect(w.h.simulator.number('3002')?.pin).toBe(pending!.pin);
    expect((await w.ledger.number('3002')).pinRotation).toEqual({ since: w.h.clock.now(), pendingVersion: token, sentAt: w.h.clock.now() });
    // ... a register queued meanwhile sends nothing (it would carry AWSCURRENT's PIN, which Meta no longer has)
    await w.h.enqueue({ action: 'register', phoneNumberId: '3002', reason: 'account_creation', idempotencyKey: 'during-rotation' });
    await w.h.source.pollOnce();
    expect(w.h.simulator.limitedCalls('3002')).toEqual([]);
    // Act: Secrets Manager retries the rotation with the same token
    w.h.clock.advance(MINUTE_MS);
    for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
      await rotation.handleStep({ SecretId: w.secretName('3002'), ClientRequestToken: token, Step });
    }
    // Assess
    const current = await w.pinAt('3002');
    expect(current).toEqual(pending);
    expect(w.h.simulator.number('3002')?.pin).toBe(current!.pin);
    expect(w.h.simulator.calls.filter((call) => call.operation === 'set_pin').map((call) => call.pinUsed)).toEqual([simulatorDigest(current!.pin), simulatorDigest(current!.pin)]);
    expect((await w.ledger.number('3002')).pinRotation).toBeUndefined();
    // ... and a register with AWSCURRENT's PIN succeeds
    w.h.clock.advance(10 * MINUTE_MS);
    const register = await registerNow(w, '3002');
    expect(register).toMatchObject({ answeredWith: 'registered', pinUsed: simulatorDigest(current!.pin) });
  });

  it('a setSecret that Meta refuses rolls back: the old PIN stays AWSCURRENT and still registers', async () => {
    // Prepare: this number's PIN cannot be changed through the API (Meta answers 133005 to a new PIN)
    await numberWithPin(w, '3003', { pinChangeNeedsNothing: false });
    // Act
    const run = await w.cli(['pin', 'rotate', '3003']);
    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('setSecret     FAILED           Meta refused the new PIN with error 133005');
    expect(run.stderr).toBe("wa-registrar: the rotation was rolled back at setSecret: the number's PIN is still the one that was current, at Meta and in its secret\n");
    expect(await w.pinAt('3003')).toMatchObject({ pin: OLD_PIN });
    expect(await w.pinAt('3003', STAGE.pending)).toBeUndefined();
    expect(w.h.simulator.number('3003')?.pin).toBe(OLD_PIN);
    expect((await w.ledger.number('3003')).pinRotation).toBeUndefined();
    // Act: the old PIN is still Meta's
    const register = await registerNow(w, '3003');
    // Assess
    expect(register).toMatchObject({ answeredWith: 'registered', pinUsed: simulatorDigest(OLD_PIN) });
  });

  it('a setSecret with no answer keeps the rotation pending; pin rotate again resumes it and finishes', async () => {
    // Prepare
    await numberWithPin(w, '3004');
    w.h.simulator.injectLifecycle('3004', { type: 'apply_then_http500' });
    // Act
    const first = await w.cli(['pin', 'rotate', '3004']);
    const pending = await w.pinAt('3004', STAGE.pending);
    const second = await w.cli(['pin', 'rotate', '3004']);
    // Assess
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('stays pending: both PINs stay stored and register jobs for the number wait');
    expect(w.h.simulator.number('3004')?.pin).toBe(pending!.pin);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('(an unfinished rotation was resumed)');
    expect(await w.pinAt('3004')).toEqual(pending);
    expect((await w.ledger.number('3004')).pinRotation).toBeUndefined();
  });
});

describe('the deployed rotation handler module', () => {
  const w = usePinWorld();

  it('fails the cold start naming each missing variable, refuses an event that is not a rotation, and refuses a secret without rotation', async () => {
    // Prepare
    await numberWithPin(w, '3005');
    vi.resetModules();
    vi.stubEnv('LEDGER_TABLE_NAME', '');
    vi.stubEnv('PIN_SECRET_PREFIX', '');
    // Act + Assess
    await expect(import('../../functions/pin-rotation/handler.ts')).rejects.toThrow(/LEDGER_TABLE_NAME is required.*PIN_SECRET_PREFIX is required/);
    vi.unstubAllEnvs();

    // Prepare
    vi.resetModules();
    const env = {
      GRAPH_API_BASE_URL: w.h.simulator.baseUrl,
      LEDGER_TABLE_NAME: w.h.stack.ledgerTableName,
      TOKEN_SECRET_ID: w.h.stack.tokenSecretId,
      PIN_SECRET_PREFIX: w.h.stack.pinSecretPrefix,
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    const { handler } = await import('../../functions/pin-rotation/handler.ts');
    const context = { functionName: 'pin-rotation', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
    // Act
    const notRotation = await handler({ hello: 'world' }, context).catch((error: unknown) => error);
    const notEnabled = await handler({ SecretId: w.secretName('3005'), ClientRequestToken: randomUUID(), Step: 'createSecret' }, context).catch((error: unknown) => error);
    vi.unstubAllEnvs();
    // Assess
    expect(String(notRotation)).toContain('not a Secrets Manager rotation event');
    expect(String(notEnabled)).toContain('rotation is not enabled');
    expect(await w.pinAt('3005', STAGE.pending)).toBeUndefined();
    expect(w.h.simulator.calls).toEqual([]);
  });
});
