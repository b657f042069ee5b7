import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import { SqsDeadLetterSink } from '../../shared/queue/sqs-queue.ts';
import type { StatusView } from '../../bin/views/status.ts';
import { closeTokenGate, createCliStack, envelope, holdNumber, hoursFrom, receiveAll, writeLedger, type CliStack } from '../support/ops-helpers.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

describe('wa-registrar hold clear and held dead-letters (against moto)', () => {
  let env: CliStack;
  let ledger: DynamoDbAttemptLedger;

  beforeEach(async () => {
    env = await createCliStack('cli-hold', NOW);
    ledger = new DynamoDbAttemptLedger(env.dynamodb, env.stack.ledgerTableName);
  });

  it('status shows the hold, what lifts it, and the app gates', async () => {
    // Prepare
    await holdNumber(ledger, '800', { cause: 'pin_rejected', since: hoursFrom(NOW, -3), code: 133005, pinVersion: 'pin-v1', detail: 'error 133005 on a register' });
    await closeTokenGate(ledger, { tokenVersion: 'tok-1', since: hoursFrom(NOW, -1), code: 190 });

    // Act
    const json = JSON.parse((await env.cli(['status', '800', '--json'])).stdout) as StatusView;
    const human = (await env.cli(['status', '800'])).stdout;

    // Assess
    expect(json.hold).toMatchObject({ cause: 'pin_rejected', since: new Date(hoursFrom(NOW, -3)).toISOString(), secretVersion: 'pin-v1', code: 133005 });
    expect(json.app.tokenGate).toMatchObject({ tokenVersion: 'tok-1', code: 190, since: new Date(hoursFrom(NOW, -1)).toISOString() });
    expect(human).toContain('HELD (pin_rejected) since 2026-11-25 09:00 UTC, code 133005, PIN version pin-v1: error 133005 on a register');
    expect(human).toContain('Lifted by a new version of the PIN secret (PIN_SECRET_PREFIX + 800), or by `wa-registrar hold clear 800`');
    expect(human).toContain('TOKEN GATE closed since 2026-11-25 11:00 UTC (code 190, token version tok-1): every job on the default token is held');
  });

  it('clears a PIN hold, says what it cleared, and keeps the number\'s spent slots', async () => {
    // Prepare
    await writeLedger(ledger, '801', [{ at: hoursFrom(NOW, -2), operation: 'register', outcome: 'rejected', code: 133005 }]);
    await holdNumber(ledger, '801', { cause: 'pin_rejected', since: hoursFrom(NOW, -2), code: 133005, pinVersion: 'pin-v1', detail: 'error 133005 on a register' });

    // Act
    const run = await env.cli(['hold', 'clear', '801']);
    const again = await env.cli(['hold', 'clear', '801']);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      'Cleared the pin_rejected hold on number 801 (since 2026-11-25 10:00 UTC, code 133005, PIN version pin-v1): error 133005 on a register.\n' +
        'Held dead-letters go back with the next scheduled redrive, or now with `wa-registrar dlq redrive --eligible`.\n',
    );
    expect(again).toEqual({ code: 0, stdout: 'Number 801 has no hold; nothing to clear.\n', stderr: '' });
    const number = await ledger.number('801');
    expect(number.hold).toBeUndefined();
    expect(number.spent).toEqual([{ at: hoursFrom(NOW, -2), operation: 'register' }]);
  });

  it('refuses a PIN lockout before its end unless --force, changing nothing', async () => {
    // Prepare
    await holdNumber(ledger, '802', { cause: 'pin_locked', since: hoursFrom(NOW, -1), until: hoursFrom(NOW, 11), code: 133008, pinVersion: 'pin-v1', detail: 'error 133008 on a register' });

    // Act
    const refused = await env.cli(['hold', 'clear', '802']);
    const stillHeld = (await ledger.number('802')).hold;
    const forced = await env.cli(['hold', 'clear', '802', '--force', '--json']);

    // Assess
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'wa-registrar: number 802 is PIN-locked by Meta until 2026-11-25 23:00 UTC (in 11h): Meta checks no PIN before then, ' +
        'so a register would only earn another lockout. Nothing changed; pass --force to clear it anyway\n',
    );
    expect(stillHeld?.cause).toBe('pin_locked');
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ cleared: true, phoneNumberId: '802', hold: { cause: 'pin_locked', until: new Date(hoursFrom(NOW, 11)).toISOString() } });
    expect((await ledger.number('802')).hold).toBeUndefined();
  });

  it('opens the token gate with --token, and says so when it is already open', async () => {
    // Prepare
    await closeTokenGate(ledger, { tokenVersion: 'tok-1', since: hoursFrom(NOW, -1), code: 190 });

    // Act
    const run = await env.cli(['hold', 'clear', '--token']);
    const again = await env.cli(['hold', 'clear', '--token']);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Cleared the token gate (code 190 since 2026-11-25 11:00 UTC, token version tok-1).');
    expect(again.stdout).toBe('The token gate is open; nothing to clear.\n');
    expect((await ledger.appGates()).tokenGate).toBeUndefined();
  });

  it('dlq redrive --eligible leaves a held dead-letter, saying why, and sends it after hold clear', async () => {
    // Prepare: a verification hold on the ledger and its dead letter.
    await holdNumber(ledger, '803', { cause: 'needs_verification', since: hoursFrom(NOW, -1), detail: 'verification EXPIRED' });
    const held = envelope({ category: 'needs_verification', phoneNumberId: '803', hold: { cause: 'needs_verification', since: new Date(hoursFrom(NOW, -1)).toISOString() } });
    await new SqsDeadLetterSink(env.sqs, env.stack.deadLetterQueueUrl).send(held);

    // Act
    const before = await env.cli(['dlq', 'redrive', '--eligible']);
    await env.cli(['hold', 'clear', '803']);
    const after = await env.cli(['dlq', 'redrive', '--eligible', '--json']);

    // Assess
    expect(before.stdout).toMatch(/^Redrove 0 dead-letter\(s\)\./);
    expect(before.stdout).toMatch(/803\s+needs_verification\s+needs_verification: still held for verification since 2026-11-25T11:00:00.000Z: verify the number, then wa-registrar hold clear 803/);
    expect(JSON.parse(after.stdout).redriven).toMatchObject([{ phoneNumberId: '803', jobKey: held.jobKey, holdLifted: 'the verification hold is cleared' }]);
    expect((await receiveAll(env.sqs, env.stack.jobQueueUrl)).map((message) => message.Attributes?.MessageGroupId)).toEqual(['803']);
  });

  it('dlq redrive --eligible sends a pin_rejected dead-letter once a new PIN version is stored (ListSecretVersionIds, no value read)', async () => {
    // Prepare
    const secrets = new SecretsManagerClient({ region: 'eu-west-1' });
    const name = `${env.stack.pinSecretPrefix}804`;
    const refused = (await secrets.send(new CreateSecretCommand({ Name: name, SecretString: '111111' }))).VersionId!;
    await holdNumber(ledger, '804', { cause: 'pin_rejected', since: hoursFrom(NOW, -1), code: 133005, pinVersion: refused, detail: 'error 133005 on a register' });
    await new SqsDeadLetterSink(env.sqs, env.stack.deadLetterQueueUrl).send(
      envelope({ category: 'pin_rejected', phoneNumberId: '804', code: 133005, hold: { cause: 'pin_rejected', since: new Date(hoursFrom(NOW, -1)).toISOString(), secretVersion: refused } }),
    );

    // Act
    const before = await env.cli(['dlq', 'redrive', '--eligible', '--dry-run']);
    const stored = (await secrets.send(new PutSecretValueCommand({ SecretId: name, SecretString: '222222' }))).VersionId!;
    const after = await env.cli(['dlq', 'redrive', '--eligible', '--json']);

    // Assess
    expect(before.stdout).toContain('pin_rejected: the refused PIN version is still current');
    expect(JSON.parse(after.stdout).redriven).toMatchObject([{ phoneNumberId: '804', holdLifted: `a new PIN version (${stored}) is stored` }]);
    // The ledger still holds the number: the worker lifts it when it sees the new version.
    expect((await ledger.number('804')).hold?.cause).toBe('pin_rejected');
  });
});
