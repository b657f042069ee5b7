import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../shared/clock.ts';
import { HttpGraphClient } from '../../shared/graph/http-graph-client.ts';
import type { CodeMethod, GraphCallResult } from '../../shared/graph/port.ts';
import { simulatorDigest, startGraphSimulator, type GraphSimulator, type GraphSimulatorOptions } from '../../tools/graph-simulator.ts';

const TOKEN = 'EAAG-lifecycle-test-token';
const OLD_PIN = '024680';
const NEW_PIN = '135791';
const BACKUP = { data: 'encrypted-backup-blob', password: 'backup-passw0rd-9931' };

/** The client under test, and plain HTTP for the shapes the client cannot send (a numeric PIN, a body that is not JSON). */
function clientFor(sim: GraphSimulator, timeoutMs = 2_000) {
  const client = new HttpGraphClient({ baseUrl: sim.baseUrl, version: 'v25.0', timeoutMs });
  const raw = async (path: string, body: string) => {
    const response = await fetch(`${sim.baseUrl}/v25.0/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body,
    });
    return { status: response.status, json: (await response.json()) as { error?: { code?: number; message?: string } } };
  };
  return { client, raw };
}

const errorCode = (result: GraphCallResult) => (result.kind === 'graph_error' ? result.error.code : result.kind);

describe('Graph simulator: number lifecycle through HttpGraphClient', () => {
  // Time never moves here: every `at` in the call log is 0, so a six-digit run in the log can only be a leaked secret.
  const clock = new ManualClock(0);
  let sim: GraphSimulator;
  let client: HttpGraphClient;
  let raw: ReturnType<typeof clientFor>['raw'];
  const start = async (options: GraphSimulatorOptions = {}) => {
    sim = await startGraphSimulator({ tokens: [TOKEN], now: () => clock.now(), ...options });
    ({ client, raw } = clientFor(sim));
  };
  beforeEach(() => start());
  afterEach(() => sim.stop());

  describe('two-step PIN (POST /{id})', () => {
    it('changes the PIN: a register with the new PIN succeeds, with the old one 133005', async () => {
      // Prepare
      sim.addNumber('101', { pin: OLD_PIN });

      // Act
      const set = await client.setPin('101', NEW_PIN, TOKEN);
      const withOld = await client.register({ phoneNumberId: '101', pin: OLD_PIN }, TOKEN);
      const withNew = await client.register({ phoneNumberId: '101', pin: NEW_PIN }, TOKEN);

      // Assess
      expect(set).toMatchObject({ kind: 'success', httpStatus: 200 });
      expect(errorCode(withOld)).toBe(133005);
      expect(withNew.kind).toBe('success');
      const setPins = sim.calls.filter((call) => call.operation === 'set_pin');
      expect(setPins).toEqual([
        expect.objectContaining({ method: 'POST', phoneNumberId: '101', pinType: 'string', pinUsed: simulatorDigest(NEW_PIN), body: { pin: simulatorDigest(NEW_PIN) }, answeredWith: 'pin set' }),
      ]);
      // Setting a PIN is not a register: it spends nothing of the 10-per-72-hour window.
      expect(sim.limitedCalls('101').map((call) => call.answeredWith)).toEqual(['error 133005', 'registered']);
    });

    it('turns two-step verification on for a number without a PIN', async () => {
      // Prepare
      sim.addNumber('102');
      const before = await client.readState('102', TOKEN);

      // Act
      const set = await client.setPin('102', NEW_PIN, TOKEN);

      // Assess
      expect(set.kind).toBe('success');
      expect(before).toMatchObject({ kind: 'known', state: { isPinEnabled: false } });
      expect(await client.readState('102', TOKEN)).toMatchObject({ kind: 'known', state: { isPinEnabled: true } });
    });

    it('takes the PIN only as a 6-digit string (100 otherwise), and keeps the old one', async () => {
      // Prepare
      sim.addNumber('103', { pin: OLD_PIN });

      // Act
      const answers = [
        await raw('103', JSON.stringify({ pin: 135791 })),
        await raw('103', JSON.stringify({ pin: '13579' })),
        await raw('103', JSON.stringify({ pin: '13579a' })),
        await raw('103', JSON.stringify({})),
        await raw('103', `{"pin":"${NEW_PIN}"`), // cut off: not JSON
      ];

      // Assess
      expect(answers.map((answer) => [answer.status, answer.json.error?.code])).toEqual(Array(5).fill([400, 100]));
      expect(sim.number('103')!.pin).toBe(OLD_PIN);
      expect(sim.calls.map((call) => call.pinType)).toEqual(['number', 'string', 'string', undefined, undefined]);
    });

    it('with pinChangeNeedsNothing false, refuses to change a set PIN (133005) but accepts the same one or a first one', async () => {
      // Prepare
      sim.addNumber('104', { pin: OLD_PIN, pinChangeNeedsNothing: false });
      sim.addNumber('105', { pinChangeNeedsNothing: false });

      // Act
      const change = await client.setPin('104', NEW_PIN, TOKEN);
      const same = await client.setPin('104', OLD_PIN, TOKEN);
      const first = await client.setPin('105', NEW_PIN, TOKEN);

      // Assess
      expect(errorCode(change)).toBe(133005);
      expect(same.kind).toBe('success');
      expect(first.kind).toBe('success');
      expect(sim.number('104')!.pin).toBe(OLD_PIN);
      expect(sim.number('105')!.pin).toBe(NEW_PIN);
    });
  });

  describe('verification code (request_code, verify_code)', () => {
    it('request_code, the code the owner receives, verify_code: the state read shows VERIFIED and register works', async () => {
      // Prepare
      sim.addNumber('201', { codeVerificationStatus: 'EXPIRED' });
      const refused = await client.register({ phoneNumberId: '201', pin: NEW_PIN }, TOKEN);

      // Act
      const requested = await client.requestCode('201', 'SMS', 'en_US', TOKEN);
      const code = sim.verificationCode('201');
      const before = await client.readState('201', TOKEN);
      const verified = await client.verifyCode('201', code!, TOKEN);
      const after = await client.readState('201', TOKEN);
      const registered = await client.register({ phoneNumberId: '201', pin: NEW_PIN }, TOKEN);

      // Assess
      expect(errorCode(refused)).toBe(133006);
      expect(requested).toMatchObject({ kind: 'success', httpStatus: 200 });
      expect(code).toMatch(/^\d{6}$/);
      expect(before).toMatchObject({ kind: 'known', state: { codeVerificationStatus: 'EXPIRED' } });
      expect(verified.kind).toBe('success');
      expect(after).toMatchObject({ kind: 'known', state: { codeVerificationStatus: 'VERIFIED' } });
      expect(registered.kind).toBe('success');
      expect(sim.verificationCode('201')).toBeUndefined(); // used
      expect(sim.calls.map((call) => `${call.operation}:${call.answeredWith}`)).toEqual([
        'register:error 133006',
        'request_code:code sent (SMS)',
        'read_state:state',
        'verify_code:verified',
        'read_state:state',
        'register:registered',
      ]);
    });

    it('answers a wrong code with 136025, naming neither code, and keeps the right one usable', async () => {
      // Prepare
      sim.addNumber('202', { codeVerificationStatus: 'NOT_VERIFIED' });
      await client.requestCode('202', 'VOICE', 'pt_BR', TOKEN);
      const code = sim.verificationCode('202')!;
      const wrong = code === '000000' ? '999999' : '000000';

      // Act
      const refused = await client.verifyCode('202', wrong, TOKEN);
      const state = await client.readState('202', TOKEN);
      const right = await client.verifyCode('202', code, TOKEN);

      // Assess
      expect(refused).toMatchObject({ kind: 'graph_error', httpStatus: 400, error: { code: 136025, message: '(#136025) Verify code error' } });
      expect(JSON.stringify(refused)).not.toContain(wrong);
      expect(JSON.stringify(refused)).not.toContain(code);
      expect(state).toMatchObject({ kind: 'known', state: { codeVerificationStatus: 'NOT_VERIFIED' } });
      expect(right.kind).toBe('success');
    });

    it('answers 136025 when no code was requested, and when the code was already used', async () => {
      // Prepare
      sim.addNumber('203', { codeVerificationStatus: 'EXPIRED' });

      // Act
      const unrequested = await client.verifyCode('203', '123456', TOKEN);
      await client.requestCode('203', 'SMS', 'en_US', TOKEN);
      const code = sim.verificationCode('203')!;
      const first = await client.verifyCode('203', code, TOKEN);
      const again = await client.verifyCode('203', code, TOKEN);

      // Assess
      expect(unrequested).toMatchObject({ kind: 'graph_error', error: { code: 136025, details: 'No verification code was requested for this number.' } });
      expect(first.kind).toBe('success');
      expect(errorCode(again)).toBe(136025);
    });

    it('refuses a code method other than SMS or VOICE, a missing language, and a code that is not digits (100)', async () => {
      // Prepare
      sim.addNumber('204', { codeVerificationStatus: 'EXPIRED' });

      // Act
      const email = await client.requestCode('204', 'EMAIL' as CodeMethod, 'en_US', TOKEN);
      const noLanguage = await client.requestCode('204', 'SMS', '', TOKEN);
      const letters = await client.verifyCode('204', '12ab56', TOKEN);

      // Assess
      expect([email, noLanguage, letters].map(errorCode)).toEqual([100, 100, 100]);
      expect(sim.verificationCode('204')).toBeUndefined();
    });

    it('serves injectLifecycle faults one per lifecycle request (136024, a throttle, applied then 5xx), apart from register faults', async () => {
      // Prepare
      sim.addNumber('205', { codeVerificationStatus: 'EXPIRED' });
      const usage = JSON.stringify({ '205': [{ type: 'whatsapp_business_management', estimated_time_to_regain_access: 27 }] });
      sim.injectLifecycle(
        '205',
        { type: 'graph_error', code: 136024 },
        { type: 'graph_error', code: 80008, httpStatus: 429, headers: { 'X-Business-Use-Case-Usage': usage } },
        { type: 'apply_then_http500' },
      );
      sim.inject('205', { type: 'graph_error', code: 131000 });

      // Act
      const refused = await client.requestCode('205', 'SMS', 'en_US', TOKEN);
      const throttled = await client.requestCode('205', 'SMS', 'en_US', TOKEN);
      const unanswered = await client.requestCode('205', 'SMS', 'en_US', TOKEN);
      const code = sim.verificationCode('205');
      const verified = await client.verifyCode('205', code!, TOKEN);
      const register = await client.register({ phoneNumberId: '205', pin: NEW_PIN }, TOKEN);

      // Assess
      expect(refused).toMatchObject({ kind: 'graph_error', error: { code: 136024, message: '(#136024) Request code error' } });
      expect(throttled).toMatchObject({ kind: 'graph_error', httpStatus: 429, error: { code: 80008 }, regainAfterSeconds: 1620 });
      expect(unanswered).toMatchObject({ kind: 'no_answer', why: 'server_error', httpStatus: 502 });
      expect(code).toMatch(/^\d{6}$/); // applied before the 5xx: the SMS went out
      expect(verified.kind).toBe('success');
      expect(errorCode(register)).toBe(131000); // the register queue was untouched by the lifecycle requests
      expect(sim.calls.map((call) => call.answeredWith)).toEqual([
        'error 136024',
        'error 80008',
        'applied (code sent (SMS)), then http 500',
        'verified',
        'error 131000',
      ]);
    });
  });

  describe('migration from the On-Premises API (register with backup)', () => {
    it('moves an On-Premises number to CLOUD_API + CONNECTED with the right PIN and backup password', async () => {
      // Prepare
      sim.addNumber('301', { platformType: 'ON_PREMISE', pin: OLD_PIN, backupPassword: BACKUP.password });
      const before = await client.readState('301', TOKEN);

      // Act
      const migrated = await client.register({ phoneNumberId: '301', pin: OLD_PIN, backup: BACKUP }, TOKEN);

      // Assess
      expect(before).toMatchObject({ kind: 'known', state: { platformType: 'ON_PREMISE', status: 'CONNECTED', isPinEnabled: true } });
      expect(migrated).toMatchObject({ kind: 'success', httpStatus: 200 });
      expect(await client.readState('301', TOKEN)).toMatchObject({ kind: 'known', state: { platformType: 'CLOUD_API', status: 'CONNECTED' } });
      expect(sim.number('301')).toMatchObject({ registered: true, backupPasswordDigest: simulatorDigest(BACKUP.password) });
      expect(sim.limitedCalls('301')).toEqual([
        expect.objectContaining({
          body: { messaging_product: 'whatsapp', pin: simulatorDigest(OLD_PIN), backup: { data: BACKUP.data, password: simulatorDigest(BACKUP.password) } },
          answeredWith: 'migrated to CLOUD_API',
        }),
      ]);
    });

    it('answers a wrong backup password with 100 and changes nothing; the right one then migrates', async () => {
      // Prepare
      sim.addNumber('302', { platformType: 'ON_PREMISE', pin: OLD_PIN, backupPassword: BACKUP.password });

      // Act
      const wrong = await client.register({ phoneNumberId: '302', pin: OLD_PIN, backup: { ...BACKUP, password: 'not-the-password' } }, TOKEN);
      const state = await client.readState('302', TOKEN);
      const right = await client.register({ phoneNumberId: '302', pin: OLD_PIN, backup: BACKUP }, TOKEN);

      // Assess
      expect(wrong).toMatchObject({ kind: 'graph_error', error: { code: 100 } });
      expect(JSON.stringify(wrong)).not.toContain('not-the-password');
      expect(state).toMatchObject({ kind: 'known', state: { platformType: 'ON_PREMISE', status: 'CONNECTED' } });
      expect(right.kind).toBe('success');
      expect(sim.limitedCalls('302')).toHaveLength(2); // both are registers: both count
    });

    it('answers a wrong PIN with 133005 and leaves On-Prem down (DISCONNECTED); the right PIN then migrates', async () => {
      // Prepare
      sim.addNumber('303', { platformType: 'ON_PREMISE', pin: OLD_PIN, backupPassword: BACKUP.password });

      // Act
      const wrongPin = await client.register({ phoneNumberId: '303', pin: NEW_PIN, backup: BACKUP }, TOKEN);
      const down = await client.readState('303', TOKEN);
      const right = await client.register({ phoneNumberId: '303', pin: OLD_PIN, backup: BACKUP }, TOKEN);

      // Assess
      expect(errorCode(wrongPin)).toBe(133005);
      expect(down).toMatchObject({ kind: 'known', state: { platformType: 'ON_PREMISE', status: 'DISCONNECTED' } });
      expect(right.kind).toBe('success');
      expect(await client.readState('303', TOKEN)).toMatchObject({ kind: 'known', state: { platformType: 'CLOUD_API', status: 'CONNECTED' } });
    });

    it('takes the PIN sent as the PIN when two-step verification was off', async () => {
      // Prepare
      sim.addNumber('304', { platformType: 'ON_PREMISE', backupPassword: BACKUP.password });

      // Act
      const migrated = await client.register({ phoneNumberId: '304', pin: NEW_PIN, backup: BACKUP }, TOKEN);

      // Assess
      expect(migrated.kind).toBe('success');
      expect(await client.readState('304', TOKEN)).toMatchObject({ kind: 'known', state: { platformType: 'CLOUD_API', isPinEnabled: true } });
      expect(sim.number('304')!.pin).toBe(NEW_PIN);
    });

    it('refuses (100) a register without backup for an On-Premises number, and a backup for any other number', async () => {
      // Prepare
      sim.addNumber('305', { platformType: 'ON_PREMISE', pin: OLD_PIN, backupPassword: BACKUP.password });
      sim.addNumber('306', { pin: OLD_PIN });

      // Act
      const noBackup = await client.register({ phoneNumberId: '305', pin: OLD_PIN }, TOKEN);
      const notOnPremise = await client.register({ phoneNumberId: '306', pin: OLD_PIN, backup: BACKUP }, TOKEN);

      // Assess
      expect([noBackup, notOnPremise].map(errorCode)).toEqual([100, 100]);
      expect(sim.number('305')).toMatchObject({ platformType: 'ON_PREMISE', registered: false });
      expect(sim.number('306')!.registered).toBe(false);
    });

    it('takes migrationLatencyMs longer, reading ON_PREMISE + DISCONNECTED meanwhile, and finishes for a caller that gave up', async () => {
      // Prepare
      await sim.stop();
      await start({ migrationLatencyMs: 600 });
      sim.addNumber('307', { platformType: 'ON_PREMISE', pin: OLD_PIN, backupPassword: BACKUP.password });
      sim.addNumber('308', { platformType: 'ON_PREMISE', pin: OLD_PIN, backupPassword: BACKUP.password });
      const impatient = clientFor(sim, 100).client;

      // Act
      const pending = client.register({ phoneNumberId: '307', pin: OLD_PIN, backup: BACKUP }, TOKEN);
      await vi.waitFor(() => expect(sim.number('307')!.onPremiseDown).toBe(true));
      const during = await client.readState('307', TOKEN);
      const migrated = await pending;
      const gaveUp = await impatient.register({ phoneNumberId: '308', pin: OLD_PIN, backup: BACKUP }, TOKEN);

      // Assess
      expect(during).toMatchObject({ kind: 'known', state: { platformType: 'ON_PREMISE', status: 'DISCONNECTED' } });
      expect(migrated.kind).toBe('success');
      expect(gaveUp).toMatchObject({ kind: 'no_answer', why: 'timeout' });
      await vi.waitFor(async () => expect(await client.readState('308', TOKEN)).toMatchObject({ state: { platformType: 'CLOUD_API', status: 'CONNECTED' } }), {
        timeout: 3_000,
      });
    });
  });

  it('keeps no raw PIN, verification code, backup password or token in the call log', async () => {
    // Prepare
    sim.addNumber('401', { pin: OLD_PIN, codeVerificationStatus: 'EXPIRED' });
    sim.addNumber('402', { platformType: 'ON_PREMISE', pin: OLD_PIN, backupPassword: BACKUP.password });

    // Act
    await client.setPin('401', NEW_PIN, TOKEN);
    await client.requestCode('401', 'SMS', 'en_US', TOKEN);
    const code = sim.verificationCode('401')!;
    await client.verifyCode('401', code === '000000' ? '999999' : '000000', TOKEN);
    await raw('401/verify_code', JSON.stringify({ code })); // the code in a body instead of the query
    await client.verifyCode('401', code, TOKEN);
    await client.register({ phoneNumberId: '401', pin: NEW_PIN }, TOKEN);
    await client.register({ phoneNumberId: '402', pin: OLD_PIN, backup: { ...BACKUP, password: 'wrong-backup-passw0rd' } }, TOKEN);
    await client.register({ phoneNumberId: '402', pin: OLD_PIN, backup: BACKUP }, TOKEN);

    // Assess
    const log = JSON.stringify(sim.calls);
    for (const secret of [OLD_PIN, NEW_PIN, code, BACKUP.password, 'wrong-backup-passw0rd', TOKEN]) expect(log).not.toContain(secret);
    // Ids are three digits and every `at` is 0: outside digests and Meta's codes, six digits in a row would be a PIN or a code.
    expect(log.replace(/sha256:[0-9a-f]{12}|error \d+/g, '')).not.toMatch(/\d{6}/);
    expect(sim.calls.map((call) => `${call.operation}:${call.answeredWith}`)).toEqual([
      'set_pin:pin set',
      'request_code:code sent (SMS)',
      'verify_code:error 136025',
      'verify_code:error 100',
      'verify_code:verified',
      'register:registered',
      'register:error 100',
      'register:migrated to CLOUD_API',
    ]);
    expect(sim.calls[3]!.body).toEqual({ code: simulatorDigest(code) });
  });
});
