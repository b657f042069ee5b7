import { DescribeSecretCommand, GetSecretValueCommand, ResourceNotFoundException } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { isTrivialPin } from '../../shared/pins/generate-pin.ts';
import { simulatorDigest } from '../../tools/graph-simulator.ts';
import { usePinWorld } from '../support/pin-helpers.ts';

describe('wa-registrar pin provision (against moto and the simulator)', () => {
  const w = usePinWorld();

  it('stores a valid, non-trivial PIN without printing it; the worker\'s first register sends it to Graph as a JSON string', async () => {
    // Prepare: a number with two-step verification off, and no PIN secret
    w.h.simulator.addNumber('2001');
    // Act
    const run = await w.cli(['pin', 'provision', '2001']);
    await w.h.enqueue({ action: 'register', phoneNumberId: '2001', reason: 'account_creation' });
    await w.h.source.drain();
    // Assess: the secret
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const stored = await w.pinAt('2001');
    expect(stored?.pin).toMatch(/^\d{6}$/);
    expect(isTrivialPin(stored!.pin)).toBe(false);
    const raw = await w.h.clients.secretsManager.send(new GetSecretValueCommand({ SecretId: w.secretName('2001') }));
    expect(JSON.parse(raw.SecretString!)).toEqual({ pin: stored!.pin });
    // ... what was printed: where it is, that it is not shown, what comes next
    expect(run.stdout).toContain(`Stored a new PIN for number 2001 in ${w.secretName('2001')} (version ${stored!.versionId}).`);
    expect(run.stdout).toContain('The PIN is not shown (--reveal shows it, on a terminal).');
    expect(run.stdout).toContain('`wa-registrar enqueue register 2001`');
    expect(run.stdout).not.toContain(stored!.pin);
    // ... and what reached Meta: the PIN, as a string, which became the number's PIN
    const [register] = w.h.simulator.limitedCalls('2001');
    expect(register).toMatchObject({ operation: 'register', pinType: 'string', pinUsed: simulatorDigest(stored!.pin), answeredWith: 'registered' });
    expect(w.h.simulator.number('2001')).toMatchObject({ registered: true, pin: stored!.pin });
  });

  it('refuses to overwrite an existing PIN secret without --force, changing nothing; --force stores a new version and keeps the old as AWSPREVIOUS', async () => {
    // Prepare
    await w.h.storePin('2002', '730162');
    const before = await w.pinAt('2002');
    // Act
    const refused = await w.cli(['pin', 'provision', '2002']);
    const unchanged = await w.pinAt('2002');
    const forced = await w.cli(['pin', 'provision', '2002', '--force', '--json']);
    // Assess
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `wa-registrar: number 2002 already has a PIN secret (${w.secretName('2002')}); nothing changed. Its PIN may already be Meta's: to change the PIN at Meta ` +
        'and in the secret together, run `wa-registrar pin rotate 2002`; to overwrite the stored PIN anyway (it was never sent, or it is wrong), pass --force\n',
    );
    expect(unchanged).toEqual(before);
    expect(forced.code).toBe(0);
    const after = await w.pinAt('2002');
    expect(JSON.parse(forced.stdout)).toEqual({ phoneNumberId: '2002', secretName: w.secretName('2002'), versionId: after!.versionId, replaced: true, revealed: false });
    expect(after!.pin).not.toBe('730162');
    expect(await w.pinAt('2002', 'AWSPREVIOUS')).toEqual(before);
  });

  it('--reveal is a usage error without a terminal (nothing stored) and with --json; on a terminal it prints the PIN it stored', async () => {
    // Act
    const piped = await w.cli(['pin', 'provision', '2003', '--reveal']);
    const json = await w.cli(['pin', 'provision', '2003', '--reveal', '--json']);
    const missing = await w.h.clients.secretsManager.send(new DescribeSecretCommand({ SecretId: w.secretName('2003') })).catch((error: unknown) => error);
    let screen = '';
    const terminal = await w.cli(['pin', 'provision', '2003', '--reveal'], { stdout: { write: (text: string) => (screen += text), isTTY: true } });
    // Assess
    expect(piped).toEqual({ code: 2, stdout: '', stderr: 'wa-registrar: --reveal prints the PIN only when stdout is a terminal; it is not (a pipe, a file, a log)\n' });
    expect(json.code).toBe(2);
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
    expect(terminal.code).toBe(0);
    const stored = await w.pinAt('2003');
    expect(screen).toContain(`PIN: ${stored!.pin}\n`);
    // The scan after the test covers what the tests captured; the terminal's screen is meant to show it.
  });

  it('pin rotate with a stack whose rotation schedule is 0 refuses a secret with no rotation configured, and says what to pass', async () => {
    // Prepare
    await w.h.storePin('2004', '730162');
    const stack = w.h.stack;
    const describeStack = async () => ({
      Region: 'eu-west-1',
      LedgerTableName: stack.ledgerTableName,
      TokenSecretId: stack.tokenSecretId,
      PinSecretPrefix: stack.pinSecretPrefix,
      PinRotationFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:wa-registrar-dev-PinRotation',
      PinRotationDays: '0',
    });
    // Act
    const run = await w.cli(['pin', 'rotate', '2004', '--stack', 'wa-registrar-dev'], { describeStack });
    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`rotation is not configured on ${w.secretName('2004')} and pinRotationDays is 0`);
    expect(run.stderr).toContain('Pass --every-days N');
    expect(await w.pinAt('2004')).toMatchObject({ pin: '730162' });
  });
});
