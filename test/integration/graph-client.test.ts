import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpGraphClient } from '../../shared/graph/http-graph-client.ts';
import { simulatorDigest, startGraphSimulator, type GraphSimulator } from '../../tools/graph-simulator.ts';

const TOKEN = 'EAAG-client-test-token';

describe('HttpGraphClient over HTTP', () => {
  let sim: GraphSimulator;
  let client: HttpGraphClient;
  beforeAll(async () => {
    sim = await startGraphSimulator({ tokens: [TOKEN] });
    client = new HttpGraphClient({ baseUrl: `${sim.baseUrl}/`, version: 'v25.0', timeoutMs: 300 });
  });
  afterAll(() => sim.stop());

  it('registers, with the version in the path and the PIN as a string', async () => {
    sim.addNumber('100', { pin: '000123' });
    const result = await client.register({ phoneNumberId: '100', pin: '000123' }, TOKEN);
    expect(result).toMatchObject({ kind: 'success', httpStatus: 200 });
    // The simulator logs only a digest of the PIN, and the type it arrived as.
    expect(sim.calls.at(-1)).toMatchObject({
      operation: 'register',
      pinType: 'string',
      body: { messaging_product: 'whatsapp', pin: simulatorDigest('000123') },
    });
  });

  it('returns a Graph error with code, fbtrace_id and details', async () => {
    sim.addNumber('101', { pin: '111111' });
    const result = await client.register({ phoneNumberId: '101', pin: '222222' }, TOKEN);
    expect(result).toMatchObject({ kind: 'graph_error', httpStatus: 400, error: { code: 133005, fbtraceId: expect.stringMatching(/^Sim/) } });
  });

  it('reports a hang as a timeout and a dropped connection as a network failure', async () => {
    sim.addNumber('102');
    sim.inject('102', { type: 'hang' }, { type: 'drop' });
    expect(await client.deregister('102', TOKEN)).toMatchObject({ kind: 'no_answer', why: 'timeout' });
    expect(await client.deregister('102', TOKEN)).toMatchObject({ kind: 'no_answer', why: 'network' });
  });

  it('reports a 5xx without a Graph body as server_error, outcome unknown', async () => {
    sim.addNumber('103');
    sim.inject('103', { type: 'http500' });
    expect(await client.deregister('103', TOKEN)).toMatchObject({ kind: 'no_answer', why: 'server_error', httpStatus: 500 });
  });

  it('reads the regain time from X-Business-Use-Case-Usage', async () => {
    sim.addNumber('104');
    const usage = JSON.stringify({ '1': [{ type: 'whatsapp_business_management', estimated_time_to_regain_access: 27 }] });
    sim.inject('104', { type: 'graph_error', code: 80008, headers: { 'X-Business-Use-Case-Usage': usage } });
    expect(await client.deregister('104', TOKEN)).toMatchObject({ kind: 'graph_error', regainAfterSeconds: 1620 });
  });

  it('reads state, and a failed read is unknown, never "not registered"', async () => {
    sim.addNumber('105', { registered: true });
    expect(await client.readState('105', TOKEN)).toEqual({
      kind: 'known',
      state: {
        status: 'CONNECTED',
        platformType: 'CLOUD_API',
        codeVerificationStatus: 'VERIFIED',
        nameStatus: 'APPROVED',
        newNameStatus: 'NONE',
        isPinEnabled: false,
        displayPhoneNumber: '15550000105',
      },
    });
    expect(await client.readState('105', 'wrong-token')).toMatchObject({ kind: 'unknown', code: 190, httpStatus: 401 });
  });

  it('asks for every pre-flight field and maps them', async () => {
    // Prepare
    sim.addNumber('106', { pin: '123456', nameStatus: 'AVAILABLE_WITHOUT_REVIEW', newNameStatus: 'PENDING_REVIEW', displayPhoneNumber: '15550783881' });

    // Act
    const result = await client.readState('106', TOKEN);

    // Assess: the simulator answers only the fields asked for, so these prove the request named them
    expect(result).toEqual({
      kind: 'known',
      state: {
        status: 'DISCONNECTED',
        platformType: 'NOT_APPLICABLE',
        codeVerificationStatus: 'VERIFIED',
        nameStatus: 'AVAILABLE_WITHOUT_REVIEW',
        newNameStatus: 'PENDING_REVIEW',
        isPinEnabled: true,
        displayPhoneNumber: '15550783881',
      },
    });
  });

  it('leaves fields Meta did not send absent, never defaulted', async () => {
    sim.addNumber('107', { pin: '123456' });
    sim.injectRead('107', { type: 'missing_fields', fields: ['is_pin_enabled', 'new_name_status', 'status'] });

    const result = await client.readState('107', TOKEN);

    expect(result).toEqual({
      kind: 'known',
      state: { platformType: 'NOT_APPLICABLE', codeVerificationStatus: 'VERIFIED', nameStatus: 'APPROVED', displayPhoneNumber: '15550000107' },
    });
  });

  it('carries the regain time, HTTP status and fbtrace_id of a throttled read', async () => {
    sim.addNumber('108');
    const usage = JSON.stringify({ '108': [{ type: 'whatsapp_business_management', estimated_time_to_regain_access: 27 }] });
    sim.injectRead('108', { type: 'graph_error', code: 80008, httpStatus: 429, headers: { 'X-Business-Use-Case-Usage': usage } });

    const result = await client.readState('108', TOKEN);

    expect(result).toMatchObject({ kind: 'unknown', code: 80008, httpStatus: 429, regainAfterSeconds: 1620, fbtraceId: expect.stringMatching(/^Sim/) });
  });

  it('reports read faults as unknown and never rejects', async () => {
    sim.addNumber('109', { registered: true });
    sim.injectRead('109', { type: 'http500' }, { type: 'hang' }, { type: 'drop' }, { type: 'partial_body' });

    const results = [];
    for (let read = 0; read < 4; read += 1) results.push(await client.readState('109', TOKEN));

    expect(results).toMatchObject([
      { kind: 'unknown', httpStatus: 500 },
      { kind: 'unknown', why: 'state read timed out' },
      { kind: 'unknown', why: 'state read failed to connect' },
      { kind: 'unknown', httpStatus: 200, why: expect.stringMatching(/body/) },
    ]);
    // The fifth read has no fault left.
    expect(await client.readState('109', TOKEN)).toMatchObject({ kind: 'known', state: { status: 'CONNECTED' } });
  });

  it('reads the wait of a PIN lockout (133008) from the details, relative to its clock', async () => {
    // Prepare: the simulator locks the number after three wrong PINs in an hour
    const now = Date.UTC(2026, 10, 25, 12, 0, 0);
    const locking = await startGraphSimulator({ tokens: [TOKEN], now: () => now });
    try {
      const clocked = new HttpGraphClient({ baseUrl: locking.baseUrl, version: 'v25.0', timeoutMs: 1000, now: () => now });
      locking.addNumber('110', { pin: '111111' });
      for (let guess = 0; guess < 3; guess += 1) await clocked.register({ phoneNumberId: '110', pin: '222222' }, TOKEN);

      // Act
      const result = await clocked.register({ phoneNumberId: '110', pin: '111111' }, TOKEN);

      // Assess
      expect(result).toMatchObject({ kind: 'graph_error', error: { code: 133008, retryAfterSeconds: 12 * 3600 } });
    } finally {
      await locking.stop();
    }
  });
});

describe('HttpGraphClient against odd answers', () => {
  let server: Server;
  let client: HttpGraphClient;
  let answer: { status: number; body: string; headers?: Record<string, string>; cutAfter?: number; thenHang?: boolean } = { status: 200, body: '' };
  beforeAll(async () => {
    server = createServer((request, response) => {
      if (answer.cutAfter !== undefined) {
        // Promise the whole body, send part of it, then drop the connection.
        response.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(answer.body)) });
        const hang = answer.thenHang === true;
        response.write(answer.body.slice(0, answer.cutAfter), () => (hang ? undefined : request.socket.destroy()));
        return;
      }
      response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      response.end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new HttpGraphClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, version: 'v25.0', timeoutMs: 1000 });
  });
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );

  it('never follows a redirect: the token stays with the configured origin', async () => {
    // Prepare: a second server that would record any request reaching it.
    const seen: string[] = [];
    const elsewhere = createServer((request, response) => {
      seen.push(request.headers.authorization ?? '');
      response.end('{"success":true}');
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    const target = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/v25.0/1/register`;
    answer = { status: 307, body: '', headers: { location: target } };
    try {
      // Act
      const result = await client.register({ phoneNumberId: '1', pin: '481516' }, TOKEN);
      const read = await client.readState('1', TOKEN);
      // Assess: no usable answer (outcome unknown), and nothing reached the other server.
      expect(result).toMatchObject({ kind: 'no_answer' });
      expect(read).toMatchObject({ kind: 'unknown' });
      expect(seen).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => elsewhere.close(() => resolve()));
    }
  });

  it('accepts {"success":"true"}', async () => {
    answer = { status: 200, body: '{"success":"true"}' };
    expect(await client.deregister('1', TOKEN)).toMatchObject({ kind: 'success' });
  });

  it('takes error_data as a string and scrubs the PIN and token from Meta\'s text', async () => {
    answer = {
      status: 400,
      body: JSON.stringify({ error: { code: 133005, message: 'PIN 481516 rejected for EAAG-client-test-token', error_data: 'pin 481516 wrong', fbtrace_id: 'F1' } }),
    };
    const result = await client.register({ phoneNumberId: '1', pin: '481516' }, TOKEN);
    expect(result).toMatchObject({ kind: 'graph_error', error: { code: 133005, details: 'pin [REDACTED] wrong' } });
    expect(JSON.stringify(result)).not.toMatch(/481516|EAAG-client-test-token/);
  });

  it('treats a 200 without success as unreadable, outcome unknown', async () => {
    answer = { status: 200, body: '{"ok":1}' };
    expect(await client.deregister('1', TOKEN)).toMatchObject({ kind: 'no_answer', why: 'unreadable_response' });
  });

  it('parses codes sent as digit strings', async () => {
    answer = { status: 400, body: JSON.stringify({ error: { code: '133005', error_subcode: '2494010', message: 'PIN does not match', fbtrace_id: 'F2' } }) };

    const result = await client.register({ phoneNumberId: '1', pin: '481516' }, TOKEN);

    expect(result).toMatchObject({ kind: 'graph_error', error: { code: 133005, subcode: 2494010, fbtraceId: 'F2' } });
  });

  it('parses a digit-string code on a state read too', async () => {
    answer = { status: 401, body: JSON.stringify({ error: { code: '190', message: 'expired', fbtrace_id: 'F3' } }) };

    expect(await client.readState('1', TOKEN)).toEqual({ kind: 'unknown', why: 'state read answered HTTP 401', code: 190, fbtraceId: 'F3', httpStatus: 401 });
  });

  it.each([
    ['a word', 'oops'],
    ['a decimal', '133005.5'],
    ['an object', { value: 133005 }],
    ['null', null],
  ])('takes a code that is %s for no Graph error', async (_name, code) => {
    answer = { status: 400, body: JSON.stringify({ error: { code, message: 'odd' } }) };

    const result = await client.register({ phoneNumberId: '1', pin: '481516' }, TOKEN);

    expect(result).toMatchObject({ kind: 'no_answer', why: 'unreadable_response', httpStatus: 400 });
  });

  it('drops a subcode that is not a number but keeps the error', async () => {
    answer = { status: 400, body: JSON.stringify({ error: { code: 100, error_subcode: 'n/a' } }) };

    const result = await client.register({ phoneNumberId: '1', pin: '481516' }, TOKEN);

    expect(result).toMatchObject({ kind: 'graph_error', error: { code: 100 } });
    expect((result as { error: object }).error).not.toHaveProperty('subcode');
  });

  it('a state read whose body is cut off mid-read is unknown, with the HTTP status', async () => {
    // Prepare: headers promise a whole state, half of it arrives, then the socket is destroyed
    const body = JSON.stringify({ id: '1', status: 'CONNECTED', platform_type: 'CLOUD_API', code_verification_status: 'VERIFIED' });
    answer = { status: 200, body, cutAfter: 20 };

    // Act
    const result = await client.readState('1', TOKEN);

    // Assess
    expect(result).toEqual({ kind: 'unknown', why: 'state read lost the HTTP 200 body', httpStatus: 200 });
  });

  it('a state read whose body stalls mid-read times out as unknown', async () => {
    answer = { status: 200, body: JSON.stringify({ id: '1', status: 'CONNECTED' }), cutAfter: 10, thenHang: true };

    const result = await client.readState('1', TOKEN);

    expect(result).toEqual({ kind: 'unknown', why: 'state read timed out reading the HTTP 200 body', httpStatus: 200 });
  });

  it('a 200 state read that is not JSON is unknown', async () => {
    answer = { status: 200, body: '<html>maintenance</html>' };

    expect(await client.readState('1', TOKEN)).toMatchObject({ kind: 'unknown', httpStatus: 200 });
  });

  it('a throttled state read carries the regain time', async () => {
    const usage = JSON.stringify({ '1': [{ type: 'whatsapp_business_management', estimated_time_to_regain_access: 15 }] });
    answer = { status: 400, body: JSON.stringify({ error: { code: 4, message: 'Application request limit reached' } }), headers: { 'X-Business-Use-Case-Usage': usage } };

    expect(await client.readState('1', TOKEN)).toMatchObject({ kind: 'unknown', code: 4, httpStatus: 400, regainAfterSeconds: 900 });
  });

  it('fills retryAfterSeconds for PIN lockouts only, from the details', async () => {
    const details = { messaging_product: 'whatsapp', details: 'Too many PIN attempts. Try again in 12 hours' };
    for (const code of [133008, 133009]) {
      answer = { status: 400, body: JSON.stringify({ error: { code, error_data: details } }) };
      expect(await client.register({ phoneNumberId: '1', pin: '481516' }, TOKEN)).toMatchObject({ kind: 'graph_error', error: { code, retryAfterSeconds: 43_200 } });
    }
    answer = { status: 400, body: JSON.stringify({ error: { code: 133016, error_data: { details: 'Limit reached; retry after 72 hours.' } } }) };
    const blocked = await client.register({ phoneNumberId: '1', pin: '481516' }, TOKEN);
    expect((blocked as { error: object }).error).not.toHaveProperty('retryAfterSeconds');
    answer = { status: 400, body: JSON.stringify({ error: { code: 133008, error_data: 'Too many PIN attempts.' } }) };
    const vague = await client.register({ phoneNumberId: '1', pin: '481516' }, TOKEN);
    expect((vague as { error: object }).error).not.toHaveProperty('retryAfterSeconds');
  });
});
