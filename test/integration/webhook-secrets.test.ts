import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock.ts';
import { SecretsManagerWebhookSecrets } from '../../shared/webhooks/webhook-secrets.ts';

const client = new SecretsManagerClient();

async function secretsWith(appSecret: string, verifyToken: string, maxAgeMs = 300_000) {
  const prefix = `ws-${randomUUID().slice(0, 8)}`;
  await client.send(new CreateSecretCommand({ Name: `${prefix}/app`, SecretString: appSecret }));
  await client.send(new CreateSecretCommand({ Name: `${prefix}/verify`, SecretString: verifyToken }));
  const clock = new ManualClock();
  const secrets = new SecretsManagerWebhookSecrets(client, { appSecretId: `${prefix}/app`, verifyTokenSecretId: `${prefix}/verify`, maxAgeMs, clock });
  const store = (value: string) => client.send(new PutSecretValueCommand({ SecretId: `${prefix}/app`, SecretString: value }));
  return { secrets, clock, store, prefix };
}

describe('the webhook secrets on Secrets Manager', () => {
  it('caches for SECRET_CACHE_SECONDS, and re-reads on request at most once per 10 seconds', async () => {
    // Prepare
    const { secrets, clock, store } = await secretsWith('v1', 'token');
    // Act / Assess
    expect(await secrets.appSecret()).toEqual({ value: 'v1', fresh: true });
    await store('v2');
    // Read moments ago: counts as fresh, so a flood of bad signatures cannot force a read each.
    expect(await secrets.appSecret({ fresh: true })).toEqual({ value: 'v1', fresh: true });
    clock.advance(11_000);
    expect(await secrets.appSecret()).toEqual({ value: 'v1', fresh: false });
    expect(await secrets.appSecret({ fresh: true })).toEqual({ value: 'v2', fresh: true });
    await store('{"appSecret":"v3"}');
    clock.advance(300_000);
    expect(await secrets.appSecret()).toEqual({ value: 'v3', fresh: true });
  });

  it('reads JSON secrets by their key, and refuses an empty or keyless one without printing it', async () => {
    const { secrets, store } = await secretsWith('{"appSecret":""}', '{"verifyToken":"tok"}', 0);
    expect(await secrets.verifyToken()).toEqual({ value: 'tok', fresh: true });
    await expect(secrets.appSecret()).rejects.toThrow(/must be a non-empty string, or JSON with "appSecret"/);
    await store('{"other":"hidden-value"}');
    await expect(secrets.appSecret()).rejects.not.toThrow(/hidden-value/);
  });

  it('does not cache a failed read', async () => {
    const { secrets, prefix } = await secretsWith('v1', 'token');
    const missing = new SecretsManagerWebhookSecrets(client, { appSecretId: `${prefix}/nope`, verifyTokenSecretId: `${prefix}/verify`, maxAgeMs: 300_000, clock: new ManualClock() });
    await expect(missing.appSecret()).rejects.toThrow();
    await client.send(new CreateSecretCommand({ Name: `${prefix}/nope`, SecretString: 'late' }));
    expect(await missing.appSecret()).toEqual({ value: 'late', fresh: true });
    expect((await secrets.appSecret()).value).toBe('v1');
  });
});
