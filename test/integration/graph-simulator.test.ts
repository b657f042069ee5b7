import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HOUR_MS, ManualClock, MINUTE_MS } from '../../shared/clock.ts';
import { simulatorDigest, startGraphSimulator, type GraphSimulator, type GraphSimulatorOptions } from '../../tools/graph-simulator.ts';

const TOKEN = 'EAAG-simulator-test-token-1';
const PIN = '024680';
const ALL_FIELDS = 'status,platform_type,code_verification_status,name_status,new_name_status,new_display_name,verified_name,is_pin_enabled,display_phone_number';

/** Plain HTTP against the simulator, as Graph would be called (no client under test here). */
function graph(sim: GraphSimulator, token = TOKEN) {
  const headers = { authorization: `Bearer ${token}` };
  const post = async (path: string, body?: unknown, raw?: string) => {
    const response = await fetch(`${sim.baseUrl}/v25.0/${path}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, json: (await response.json()) as Record<string, any> };
  };
  return {
    register: (id: string, pin: unknown = PIN) => post(`${id}/register`, { messaging_product: 'whatsapp', pin }),
    deregister: (id: string) => post(`${id}/deregister`),
    postRaw: (path: string, raw: string) => post(path, undefined, raw),
    read: (id: string, fields: string | undefined = ALL_FIELDS, signal?: AbortSignal) =>
      fetch(`${sim.baseUrl}/v25.0/${id}${fields === undefined ? '' : `?fields=${fields}`}`, { headers, ...(signal ? { signal } : {}) }),
  };
}

describe('Graph simulator', () => {
  let clock: ManualClock;
  let sim: GraphSimulator;
  /** Replaces this test's simulator with one built with other options. */
  const start = async (options: GraphSimulatorOptions) => {
    await sim.stop();
    sim = await startGraphSimulator({ tokens: [TOKEN], now: () => clock.now(), ...options });
    return sim;
  };
  beforeEach(async () => {
    clock = new ManualClock();
    sim = await startGraphSimulator({ tokens: [TOKEN], now: () => clock.now() });
  });
  afterEach(() => sim.stop());

  describe('state reads', () => {
    it('answers every pre-flight field, derived from the number', async () => {
      // Prepare
      sim.addNumber('106540352242922', { pin: PIN, registered: true, nameStatus: 'PENDING_REVIEW' });
      sim.addNumber('200');

      // Act
      const registered = await (await graph(sim).read('106540352242922')).json();
      const fresh = await (await graph(sim).read('200')).json();

      // Assess
      expect(registered).toEqual({
        id: '106540352242922',
        status: 'CONNECTED',
        platform_type: 'CLOUD_API',
        code_verification_status: 'VERIFIED',
        name_status: 'PENDING_REVIEW',
        new_name_status: 'NONE',
        is_pin_enabled: true,
        display_phone_number: '15552242922',
      });
      expect(fresh).toMatchObject({ status: 'DISCONNECTED', platform_type: 'NOT_APPLICABLE', is_pin_enabled: false, display_phone_number: '15550000200' });
    });

    it('answers only the fields asked for, like Graph, and all of them when none are named', async () => {
      sim.addNumber('201', { newNameStatus: 'APPROVED', displayPhoneNumber: '15550783881' });

      expect(await (await graph(sim).read('201', 'status,new_name_status')).json()).toEqual({ id: '201', status: 'DISCONNECTED', new_name_status: 'APPROVED' });
      expect(Object.keys(await (await graph(sim).read('201', undefined)).json())).toHaveLength(8);
    });

    it('consumes read faults one per read, in order, and leaves requests alone', async () => {
      // Prepare
      sim.addNumber('202', { registered: true });
      const usage = JSON.stringify({ '202': [{ type: 'whatsapp_business_management', estimated_time_to_regain_access: 27 }] });
      sim.injectRead(
        '202',
        { type: 'http500' },
        { type: 'graph_error', code: 80008, httpStatus: 429, headers: { 'X-Business-Use-Case-Usage': usage } },
        { type: 'missing_fields', fields: ['is_pin_enabled', 'status'] },
        { type: 'pass' },
        { type: 'drop' },
      );

      // Act
      const serverError = await graph(sim).read('202');
      const throttled = await graph(sim).read('202');
      const partial = await graph(sim).read('202');
      const passed = await graph(sim).read('202');
      const dropped = await graph(sim).read('202').then(
        () => 'answered',
        (error: Error) => error.name,
      );
      const deregister = await graph(sim).deregister('202');
      const after = await graph(sim).read('202');

      // Assess
      expect(serverError.status).toBe(500);
      expect(await serverError.text()).not.toMatch(/^\{/);
      expect(throttled.status).toBe(429);
      expect(throttled.headers.get('x-business-use-case-usage')).toBe(usage);
      expect(await throttled.json()).toMatchObject({ error: { code: 80008, fbtrace_id: expect.stringMatching(/^Sim/) } });
      const partialState = await partial.json();
      expect(partialState).not.toHaveProperty('is_pin_enabled');
      expect(partialState).not.toHaveProperty('status');
      expect(partialState).toMatchObject({ platform_type: 'CLOUD_API' });
      expect(await passed.json()).toMatchObject({ status: 'CONNECTED', is_pin_enabled: false });
      expect(dropped).toBe('TypeError');
      expect(deregister.json).toEqual({ success: true });
      expect(await after.json()).toMatchObject({ status: 'DISCONNECTED' });
      expect(sim.calls.map((call) => call.answeredWith)).toEqual([
        'http 500',
        'error 80008',
        'state (without is_pin_enabled, status)',
        'state',
        'dropped',
        'deregistered',
        'state',
      ]);
    });

    it('can hang a read, or cut its body off after the headers', async () => {
      sim.addNumber('203');
      sim.injectRead('203', { type: 'hang' }, { type: 'partial_body' });

      const hung = await graph(sim).read('203', ALL_FIELDS, AbortSignal.timeout(200)).then(
        () => 'answered',
        (error: Error) => error.name,
      );
      const cut = await graph(sim).read('203');
      const body = await cut.text().then(
        () => 'read',
        (error: Error) => error.name,
      );

      expect(hung).toBe('TimeoutError');
      expect(cut.status).toBe(200);
      expect(body).toBe('TypeError');
    });

    it('refuses injectRead for an unknown number', () => {
      expect(() => sim.injectRead('nope', { type: 'http500' })).toThrow(/addNumber first/);
    });
  });

  describe('an unfinished deregistration (133000)', () => {
    it('answers 133000 to register, counting the request, until a deregister finishes it', async () => {
      // Prepare
      sim.addNumber('300', { pin: PIN, deregistrationIncomplete: true });

      // Act
      const first = await graph(sim).register('300');
      const repair = await graph(sim).deregister('300');
      const second = await graph(sim).register('300');

      // Assess
      expect(first.json).toMatchObject({ error: { code: 133000 } });
      expect(repair.json).toEqual({ success: true });
      expect(second.json).toEqual({ success: true });
      expect(sim.number('300')).toMatchObject({ registered: true, deregistrationIncomplete: false });
      expect(sim.number('300')!.requestTimes).toHaveLength(3);
    });

    it('stays broken when stuck: deregister succeeds, register keeps answering 133000', async () => {
      sim.addNumber('301', { pin: PIN, deregistrationIncomplete: true, stuck133000: true });

      const answers = [];
      for (const step of ['register', 'deregister', 'register', 'deregister', 'register'] as const) {
        answers.push((await graph(sim)[step]('301')).json);
      }

      expect(answers.map((json) => json.error?.code ?? 'ok')).toEqual([133000, 'ok', 133000, 'ok', 133000]);
    });

    it('still meets the window first: the request over the limit is 133016, not 133000', async () => {
      await start({ limit: 2 });
      sim.addNumber('302', { pin: PIN, deregistrationIncomplete: true });

      const codes = [];
      for (let request = 0; request < 3; request += 1) codes.push((await graph(sim).register('302')).json.error?.code);

      expect(codes).toEqual([133000, 133000, 133016]);
    });
  });

  describe('PIN lockout (133008)', () => {
    it('answers 133008 with the hours left while pinLockedUntil is ahead, even for the right PIN', async () => {
      // Prepare
      sim.addNumber('400', { pin: PIN, pinLockedUntil: clock.now() + 5 * HOUR_MS + 30 * MINUTE_MS });

      // Act
      const locked = await graph(sim).register('400');
      clock.advance(5 * HOUR_MS);
      const almost = await graph(sim).register('400');
      clock.advance(30 * MINUTE_MS);
      const open = await graph(sim).register('400');

      // Assess
      expect(locked.status).toBe(400);
      expect(locked.json.error).toMatchObject({ code: 133008, error_data: { details: 'Too many PIN attempts. Try again in 6 hours' } });
      expect(almost.json.error).toMatchObject({ code: 133008, error_data: { details: 'Too many PIN attempts. Try again in 1 hour' } });
      expect(open.json).toEqual({ success: true });
    });

    it('locks for 12 hours after the third wrong PIN within an hour', async () => {
      // Prepare
      sim.addNumber('401', { pin: PIN });

      // Act
      const wrong = [];
      for (let guess = 0; guess < 3; guess += 1) {
        wrong.push((await graph(sim).register('401', '999999')).json.error.code);
        clock.advance(10 * MINUTE_MS);
      }
      const right = await graph(sim).register('401');

      // Assess
      expect(wrong).toEqual([133005, 133005, 133005]);
      expect(right.json.error).toMatchObject({ code: 133008, error_data: { details: 'Too many PIN attempts. Try again in 12 hours' } });
      expect(sim.number('401')!.pinLockedUntil).toBe(clock.now() - 10 * MINUTE_MS + 12 * HOUR_MS);
    });

    it('does not lock when the wrong PINs are more than an hour apart', async () => {
      sim.addNumber('402', { pin: PIN });

      for (let guess = 0; guess < 3; guess += 1) {
        await graph(sim).register('402', '999999');
        clock.advance(31 * MINUTE_MS);
      }

      expect(sim.number('402')!.pinLockedUntil).toBeUndefined();
      expect((await graph(sim).register('402')).json).toEqual({ success: true });
    });

    it('takes the guess limit and lock length as options', async () => {
      await start({ pinGuessLimit: 1, pinLockMs: 2 * HOUR_MS });
      sim.addNumber('403', { pin: PIN });

      await graph(sim).register('403', '999999');
      const locked = await graph(sim).register('403');
      clock.advance(2 * HOUR_MS);
      const open = await graph(sim).register('403');

      expect(locked.json.error).toMatchObject({ code: 133008, error_data: { details: 'Too many PIN attempts. Try again in 2 hours' } });
      expect(open.json).toEqual({ success: true });
    });

    it('does not count a scripted 133005 fault as a guess', async () => {
      await start({ pinGuessLimit: 1 });
      sim.addNumber('404', { pin: PIN });
      sim.inject('404', { type: 'graph_error', code: 133005 });

      await graph(sim).register('404');

      expect((await graph(sim).register('404')).json).toEqual({ success: true });
    });
  });

  describe('tokens', () => {
    it('setTokens revokes the old token and accepts the new one', async () => {
      // Prepare
      sim.addNumber('500', { registered: true });
      const replacement = 'EAAG-simulator-test-token-2';

      // Act
      const before = await graph(sim).read('500');
      sim.setTokens([replacement]);
      const revoked = await graph(sim).read('500');
      const renewed = await graph(sim, replacement).read('500');

      // Assess
      expect(before.status).toBe(200);
      expect(revoked.status).toBe(401);
      expect(await revoked.json()).toMatchObject({ error: { code: 190 } });
      expect(renewed.status).toBe(200);
      const [first, second, third] = sim.calls;
      expect(first!.tokenUsed).toBe(second!.tokenUsed);
      expect(third!.tokenUsed).not.toBe(first!.tokenUsed);
    });
  });

  describe('the call log holds no secret', () => {
    it('keeps digests of the PIN and token, and the PIN type', async () => {
      // Prepare
      sim.addNumber('600', { pin: PIN });

      // Act
      await graph(sim).register('600');
      await graph(sim).register('600', 24680);
      await graph(sim).postRaw('600', `{"pin":"${PIN}"`); // Not JSON: a cut-off set-PIN body

      // Assess: sha256("024680") computed here, not by the simulator
      const expected = `sha256:${createHash('sha256').update(PIN).digest('hex').slice(0, 12)}`;
      expect(simulatorDigest(PIN)).toBe(expected);
      const [right, numeric, raw] = sim.calls;
      expect(right).toMatchObject({ pinType: 'string', pinUsed: expected, body: { messaging_product: 'whatsapp', pin: expected } });
      expect(right!.tokenUsed).toMatch(/^sha256:[0-9a-f]{12}$/);
      expect(numeric).toMatchObject({ pinType: 'number', answeredWith: 'error 100' });
      expect(raw!.body).toMatch(/^\[non-JSON body, \d+ bytes\]$/);
      expect(JSON.stringify(sim.calls)).not.toContain(PIN);
      expect(JSON.stringify(sim.calls)).not.toContain(TOKEN);
    });

    it('replaces a migration backup password too', async () => {
      sim.addNumber('601');

      await fetch(`${sim.baseUrl}/v25.0/601/register`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messaging_product: 'whatsapp', pin: PIN, backup: { data: 'blob', password: 'hunter2-backup' } }),
      });

      expect(sim.calls[0]!.body).toMatchObject({ backup: { data: 'blob', password: simulatorDigest('hunter2-backup') } });
      expect(JSON.stringify(sim.calls)).not.toContain('hunter2-backup');
    });
  });

  it('keeps the existing request faults and the 72-hour window', async () => {
    await start({ limit: 3 });
    sim.addNumber('700', { pin: PIN });
    sim.inject('700', { type: 'apply_then_http500' });

    const applied = await graph(sim).register('700').catch(() => undefined);
    await graph(sim).deregister('700');
    await graph(sim).register('700');
    const fourth = await graph(sim).register('700');

    expect(applied).toBeUndefined(); // A 502 with an HTML body does not parse as JSON.
    expect(sim.limitedCalls('700').map((call) => call.answeredWith)).toEqual(['applied (registered), then http 500', 'deregistered', 'registered', 'error 133016']);
    expect(fourth.json.error).toMatchObject({ code: 133016 });
  });
});
