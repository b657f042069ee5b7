import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { provisionPin, startRotation } from '../../bin/ops/pins.ts';
import { STAGE } from '../../shared/pins/pin-secret.ts';
import { parsePinSecret } from '../../shared/secrets/secret-values.ts';
import { InMemoryPinVault } from '../support/in-memory-pin-vault.ts';

const NAME = 'wa-test/pin/4001';
const LAMBDA = 'arn:aws:lambda:eu-west-1:123456789012:function:pin-rotation';

/**
 * Secrets Manager's RotateSecret as far as `pin rotate` uses it: moto cannot invoke a rotation function, so the call's
 * input is what is checked here (the integration tests run the function's steps themselves).
 */
function recordingClient(): { client: SecretsManagerClient; inputs: unknown[] } {
  const inputs: unknown[] = [];
  const client = { send: async (command: { input: unknown }) => (inputs.push(command.input), { VersionId: 'v-started' }) } as unknown as SecretsManagerClient;
  return { client, inputs };
}

describe('pin provision (the use case)', () => {
  it('--force refuses while a rotation is half-way, changing nothing', async () => {
    // Prepare
    const vault = new InMemoryPinVault();
    vault.seed(NAME, '{"pin":"730162"}');
    vault.startRotation(NAME, 'v-pending');
    await vault.putPending(NAME, 'v-pending', '{"pin":"048213"}');
    // Act
    const error = await provisionPin(vault, NAME, '4001', { force: true }).then(() => undefined, (caught: unknown) => caught as Error);
    // Assess
    expect(error?.message).toContain('a rotation of wa-test/pin/4001 is not finished (version v-pending is AWSPENDING');
    expect(vault.calls).not.toContain('putCurrent');
  });

  it('--force on a number with no secret yet creates it', async () => {
    // Prepare
    const vault = new InMemoryPinVault();
    // Act
    const stored = await provisionPin(vault, NAME, '4001', { force: true });
    // Assess
    expect(stored.replaced).toBe(false);
    expect(parsePinSecret(vault.valueAt(NAME, STAGE.current)!.value!)).toEqual({ kind: 'found', value: stored.pin });
  });
});

describe('pin rotate through Secrets Manager (RotateSecret)', () => {
  it('with a schedule of N days, attaches the function and the schedule and rotates now', async () => {
    // Prepare
    const vault = new InMemoryPinVault();
    vault.seed(NAME, '{"pin":"730162"}');
    const { client, inputs } = recordingClient();
    // Act
    const started = await startRotation(client, vault, { secretName: NAME, phoneNumberId: '4001', lambdaArn: LAMBDA, days: 30 });
    // Assess
    expect(started).toEqual({ versionId: 'v-started', configured: true, lambdaArn: LAMBDA, days: 30 });
    expect(inputs).toEqual([
      { SecretId: expect.stringContaining(`:secret:${NAME}-`), RotationLambdaARN: LAMBDA, RotationRules: { AutomaticallyAfterDays: 30 }, RotateImmediately: true },
    ]);
  });

  it('with no schedule, rotates a secret whose rotation is configured with its own settings, and refuses one without', async () => {
    // Prepare
    const vault = new InMemoryPinVault();
    vault.seed(NAME, '{"pin":"730162"}', { rotationEnabled: true });
    vault.seed('wa-test/pin/4002', '{"pin":"730162"}');
    const { client, inputs } = recordingClient();
    // Act
    const started = await startRotation(client, vault, { secretName: NAME, phoneNumberId: '4001', lambdaArn: LAMBDA, days: 0 });
    const refused = await startRotation(client, vault, { secretName: 'wa-test/pin/4002', phoneNumberId: '4002', lambdaArn: LAMBDA, days: 0 }).then(() => undefined, (error: unknown) => error as Error);
    const missing = await startRotation(client, vault, { secretName: 'wa-test/pin/4003', phoneNumberId: '4003', lambdaArn: LAMBDA, days: 30 }).then(() => undefined, (error: unknown) => error as Error);
    // Assess
    expect(started.configured).toBe(false);
    expect(inputs).toEqual([{ SecretId: expect.stringContaining(`:secret:${NAME}-`), RotateImmediately: true }]);
    expect(refused?.message).toContain('rotation is not configured on wa-test/pin/4002 and pinRotationDays is 0');
    expect(missing?.message).toContain('number 4003 has no PIN secret');
  });
});
