import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpGraphClient } from '../../shared/graph/http-graph-client.ts';
import { startGraphSimulator, type GraphSimulator } from '../../tools/graph-simulator.ts';

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
    expect(sim.calls.at(-1)).toMatchObject({ operation: 'register', body: { messaging_product: 'whatsapp', pin: '000123' } });
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
      state: { status: 'CONNECTED', platformType: 'CLOUD_API', codeVerificationStatus: 'VERIFIED', nameStatus: 'APPROVED' },
    });
    expect(await client.readState('105', 'wrong-token')).toMatchObject({ kind: 'unknown', code: 190 });
  });
});

describe('HttpGraphClient against odd answers', () => {
  let server: Server;
  let client: HttpGraphClient;
  let answer: { status: number; body: string } = { status: 200, body: '' };
  beforeAll(async () => {
    server = createServer((_request, response) => {
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new HttpGraphClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, version: 'v25.0', timeoutMs: 1000 });
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

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
});
