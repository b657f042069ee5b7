import { CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS } from '../../shared/clock.ts';
import { isTrivialPin } from '../../shared/pins/generate-pin.ts';
import { simulatorDigest } from '../../tools/graph-simulator.ts';
import { updateNumber } from '../support/ops-helpers.ts';
import { TEST_TOKEN, useWorkerHarness } from '../support/worker-harness.ts';

/**
 * The number lifecycle as the worker obeys it: a PIN rotation under way, PINs provisioned for new numbers,
 * migrations from the On-Premises API, and tokens per business. Each test fails without its guard.
 */
const NUMBER = '15550783881';
const PIN = '012345';
/** Per-test secret prefixes: the emulator is shared by every test of the run. */
const RUN = randomUUID().slice(0, 8);
const TOKEN_PREFIX = `lifecycle-${RUN}/token/`;
const BACKUP_PREFIX = `lifecycle-${RUN}/backup/`;

describe('the worker and the number lifecycle', () => {
  const h = useWorkerHarness(NUMBER, PIN, { env: { TOKEN_SECRET_PREFIX: TOKEN_PREFIX, BACKUP_SECRET_PREFIX: BACKUP_PREFIX } });
  const putSecret = async (name: string, value: string) => {
    try {
      await h.clients.secretsManager.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    } catch {
      await h.clients.secretsManager.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
    }
  };
  const ledger = () => h.worker.deps.ledger;

  it('a register waits while a PIN rotation is under way (nothing sent), then registers once it finished', async () => {
    // Prepare: a rotation started a minute ago
    await updateNumber(ledger(), NUMBER, (number) => ({ ...number, pinRotation: { since: h.clock.now() - MINUTE_MS, pendingVersion: 'v-pending' } }));
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'during-rotation' });
    // Act
    await h.source.drain();
    // Assess: waiting, nothing sent
    expect(h.simulator.limitedCalls(NUMBER)).toEqual([]);
    expect(h.outcomes.at(-1)).toMatchObject({ status: 'wait' });
    // Act: the rotation finishes; the carried job comes back after its wait
    await updateNumber(ledger(), NUMBER, ({ pinRotation: _done, ...number }) => number);
    h.clock.advance(6 * MINUTE_MS);
    await h.source.releaseFailed();
    await h.source.drain();
    // Assess
    expect(h.simulator.limitedCalls(NUMBER).map((call) => call.answeredWith)).toEqual(['registered']);
  });

  it('a rotation stuck for over an hour dead-letters the register instead of guessing which PIN Meta has', async () => {
    // Prepare
    await updateNumber(ledger(), NUMBER, (number) => ({ ...number, pinRotation: { since: h.clock.now() - 2 * HOUR_MS, pendingVersion: 'v-pending' } }));
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'stuck-rotation' });
    // Act
    await h.source.drain();
    // Assess
    expect(h.simulator.limitedCalls(NUMBER)).toEqual([]);
    const [dead] = await h.takeDeadLetters();
    expect(dead).toMatchObject({ category: 'permanent_error' });
    expect(dead!.reason).toMatch(/rotation/);
  });

  it('provision-if-missing: a new number with no PIN secret gets one, and the PIN Graph received is the one stored', async () => {
    // Prepare: a new number, two-step off at Meta, no PIN secret
    const fresh = `1555${RUN.replace(/\D/g, '').padEnd(7, '7').slice(0, 7)}`;
    h.simulator.addNumber(fresh, {});
    await h.enqueue({ action: 'register', phoneNumberId: fresh, pinPolicy: 'provision-if-missing', idempotencyKey: `provision-${fresh}` });
    // Act
    await h.source.drain();
    // Assess: one register with a 6-digit string PIN, equal to the stored one, which is not trivial and never logged
    const stored = (await h.clients.secretsManager.send(new GetSecretValueCommand({ SecretId: `${h.stack.pinSecretPrefix}${fresh}` }))).SecretString!;
    h.storedPins.push(stored);
    const [call] = h.simulator.limitedCalls(fresh);
    expect(call).toMatchObject({ answeredWith: 'registered', pinType: 'string', pinUsed: simulatorDigest(stored) });
    expect(stored).toMatch(/^\d{6}$/);
    expect(isTrivialPin(stored)).toBe(false);
    expect((await ledger().number(fresh)).lastPinSet).toMatchObject({ by: 'provision' });
  });

  it('provision-if-missing never stores a PIN for a number whose two-step verification is on (it would be refused)', async () => {
    // Prepare: Meta has a PIN nobody stored
    const locked = '15550009999';
    h.simulator.addNumber(locked, { pin: '482913' });
    await h.enqueue({ action: 'register', phoneNumberId: locked, pinPolicy: 'provision-if-missing', idempotencyKey: `provision-refused-${RUN}` });
    // Act
    await h.source.drain();
    // Assess
    expect(h.simulator.limitedCalls(locked)).toEqual([]);
    const [dead] = await h.takeDeadLetters();
    expect(dead).toMatchObject({ category: 'missing_secret' });
    expect(dead!.reason).toMatch(/two-step verification is on/);
    await expect(h.clients.secretsManager.send(new GetSecretValueCommand({ SecretId: `${h.stack.pinSecretPrefix}${locked}` }))).rejects.toThrow();
  });

  it("jobs of two businesses reach Graph with their own tokens; a revoked token of one leaves the other working", async () => {
    // Prepare: business A has its own token, business B too; the default token is the harness's
    const [wabaA, wabaB] = ['9001', '9002'].map((id) => `${id}${RUN.replace(/\D/g, '').slice(0, 4)}`);
    const tokenA = `EAAG-business-a-${RUN}`;
    const tokenB = `EAAG-business-b-${RUN}`;
    await putSecret(`${TOKEN_PREFIX}${wabaA}`, tokenA);
    await putSecret(`${TOKEN_PREFIX}${wabaB}`, tokenB);
    h.simulator.setTokens([TEST_TOKEN, tokenA, tokenB]);
    const [numberA, numberB] = ['15550001001', '15550001002'];
    for (const id of [numberA, numberB]) {
      h.simulator.addNumber(id, { pin: PIN });
      await h.storePin(id, PIN);
    }
    await h.enqueue({ action: 'register', phoneNumberId: numberA, businessAccountId: wabaA, idempotencyKey: `a-1-${RUN}` });
    await h.enqueue({ action: 'register', phoneNumberId: numberB, businessAccountId: wabaB, idempotencyKey: `b-1-${RUN}` });
    await h.source.drain();
    // Assess: each business's token reached Graph
    expect(h.simulator.limitedCalls(numberA)[0]).toMatchObject({ answeredWith: 'registered', tokenUsed: simulatorDigest(tokenA) });
    expect(h.simulator.limitedCalls(numberB)[0]).toMatchObject({ answeredWith: 'registered', tokenUsed: simulatorDigest(tokenB) });

    // Act: Meta revokes A's token; one more job per business (deregisters, whose pre-flight reads with the token)
    h.simulator.setTokens([TEST_TOKEN, tokenB]);
    await h.enqueue({ action: 'deregister', phoneNumberId: numberA, businessAccountId: wabaA, idempotencyKey: `a-2-${RUN}` });
    await h.enqueue({ action: 'deregister', phoneNumberId: numberB, businessAccountId: wabaB, idempotencyKey: `b-2-${RUN}` });
    await h.source.drain();
    // Assess: A is gated (its own gate), B deregistered; the app-wide gate stays open
    expect(h.simulator.limitedCalls(numberA)).toHaveLength(1);
    expect(h.simulator.limitedCalls(numberB).map((call) => call.answeredWith)).toEqual(['registered', 'deregistered']);
    const app = await ledger().appGates();
    expect(app.tokenGate).toBeUndefined();
    expect(Object.keys(app.businessTokenGates ?? {})).toEqual([wabaA]);
    const dead = await h.takeDeadLetters();
    expect(dead.map((envelope) => [envelope.phoneNumberId, envelope.category])).toEqual([[numberA, 'token_rejected']]);
    expect(JSON.stringify(h.logs)).not.toContain(tokenA);
  });

  it('migrate sends the backup from Secrets Manager with the existing PIN; the number ends on Cloud API', async () => {
    // Prepare: an On-Premises number, its backup stored (never in the job)
    const onPrem = '15550002001';
    h.simulator.addNumber(onPrem, { pin: PIN, platformType: 'ON_PREMISE', backupPassword: `backup-pw-${RUN}` });
    await h.storePin(onPrem, PIN);
    await putSecret(`${BACKUP_PREFIX}${onPrem}`, JSON.stringify({ data: 'b2ZmbGluZS1iYWNrdXA=', password: `backup-pw-${RUN}` }));
    await h.enqueue({ action: 'migrate', phoneNumberId: onPrem, reason: 'migration', idempotencyKey: `migrate-${RUN}` });
    // Act
    await h.source.drain();
    // Assess: one register, with the backup (its password only as a digest in the simulator's log), now connected
    const [call] = h.simulator.limitedCalls(onPrem);
    expect(call).toMatchObject({ answeredWith: 'migrated to CLOUD_API', body: { backup: { password: simulatorDigest(`backup-pw-${RUN}`) } } });
    const state = await h.worker.deps.graph.readState(onPrem, TEST_TOKEN);
    expect(state).toMatchObject({ kind: 'known', state: { status: 'CONNECTED', platformType: 'CLOUD_API' } });
    expect(JSON.stringify(h.logs)).not.toContain(`backup-pw-${RUN}`);
  });

  it('a migrate with no backup stored sends nothing; a wrong PIN on a migration holds the number (an incident)', async () => {
    // Prepare
    const [noBackup, wrongPin] = ['15550002002', '15550002003'];
    h.simulator.addNumber(noBackup, { pin: PIN, platformType: 'ON_PREMISE', backupPassword: 'pw' });
    await h.storePin(noBackup, PIN);
    h.simulator.addNumber(wrongPin, { pin: '482913', platformType: 'ON_PREMISE', backupPassword: 'pw' });
    await h.storePin(wrongPin, PIN);
    await putSecret(`${BACKUP_PREFIX}${wrongPin}`, JSON.stringify({ data: 'blob', password: 'pw' }));
    await h.enqueue({ action: 'migrate', phoneNumberId: noBackup, idempotencyKey: `migrate-none-${RUN}` });
    await h.enqueue({ action: 'migrate', phoneNumberId: wrongPin, idempotencyKey: `migrate-wrong-${RUN}` });
    // Act
    await h.source.drain();
    // Assess
    expect(h.simulator.limitedCalls(noBackup)).toEqual([]);
    expect(h.simulator.limitedCalls(wrongPin).map((call) => call.answeredWith)).toEqual(['error 133005']);
    const dead = await h.takeDeadLetters();
    expect(dead.map((envelope) => [envelope.phoneNumberId, envelope.category])).toEqual([
      [noBackup, 'missing_secret'],
      [wrongPin, 'pin_rejected'],
    ]);
    expect((await ledger().number(wrongPin)).hold).toMatchObject({ cause: 'pin_rejected' });
  });
});
