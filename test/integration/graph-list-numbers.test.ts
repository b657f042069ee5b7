import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpGraphClient } from '../../shared/graph/http-graph-client.ts';
import { startGraphSimulator, type GraphSimulator } from '../../tools/graph-simulator.ts';
import { postSignedWebhook } from '../../tools/webhook-sender.ts';

const TOKEN = 'EAAG-list-test-token';
const WABA = '102290129340398';

const FIVE = [
  { phoneNumberId: '106540352242901', displayPhoneNumber: '+1 555-078-3881' },
  { phoneNumberId: '106540352242902', displayPhoneNumber: '15550783882' },
  { phoneNumberId: '106540352242903', displayPhoneNumber: '41446681800' },
  { phoneNumberId: '106540352242904', displayPhoneNumber: '+44 20 7946 0958' },
  { phoneNumberId: '106540352242905', displayPhoneNumber: '16315555555' },
];

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

describe('listPhoneNumbers against the simulator', () => {
  let sim: GraphSimulator;
  let client: HttpGraphClient;
  beforeAll(async () => {
    sim = await startGraphSimulator({ tokens: [TOKEN] });
    sim.addBusiness(WABA, FIVE);
    client = new HttpGraphClient({ baseUrl: sim.baseUrl, version: 'v25.0', timeoutMs: 500 });
  });
  afterAll(() => sim.stop());

  it('reads every page (2 per page), with the numbers as Meta formats them', async () => {
    const before = sim.listCalls(WABA).length;
    const result = await client.listPhoneNumbers(WABA, TOKEN);
    expect(result).toEqual({
      kind: 'known',
      numbers: [
        { id: '106540352242901', displayPhoneNumber: '+1 555-078-3881' },
        { id: '106540352242902', displayPhoneNumber: '+1 555-078-3882' },
        { id: '106540352242903', displayPhoneNumber: '+41446681800' },
        { id: '106540352242904', displayPhoneNumber: '+44 20 7946 0958' },
        { id: '106540352242905', displayPhoneNumber: '+1 631-555-5555' },
      ],
    });
    expect(sim.listCalls(WABA).length - before).toBe(3);
    expect(sim.listCalls(WABA).at(-1)).toMatchObject({ method: 'GET', operation: 'list_numbers', answeredWith: 'list (1 of 5)' });
  });

  it('a refused token, an unknown business and a failing page are unknown, never an empty list', async () => {
    expect(await client.listPhoneNumbers(WABA, 'wrong-token')).toMatchObject({ kind: 'unknown', code: 190, httpStatus: 401 });
    expect(await client.listPhoneNumbers('999', TOKEN)).toMatchObject({ kind: 'unknown', code: 100, httpStatus: 400 });
    sim.injectList(WABA, { type: 'pass' }, { type: 'http500' });
    expect(await client.listPhoneNumbers(WABA, TOKEN)).toMatchObject({ kind: 'unknown', why: 'number list answered HTTP 500', httpStatus: 500 });
    sim.injectList(WABA, { type: 'hang' });
    expect(await client.listPhoneNumbers(WABA, TOKEN)).toMatchObject({ kind: 'unknown', why: 'number list timed out' });
  });
});

describe('listPhoneNumbers against odd pages', () => {
  let server: Server;
  let baseUrl: string;
  let pages: (request: IncomingMessage) => { status?: number; body: unknown };
  let client: HttpGraphClient;
  beforeAll(async () => {
    server = createServer((request, response) => {
      const page = pages(request);
      response.writeHead(page.status ?? 200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(page.body));
    });
    baseUrl = await listen(server);
    client = new HttpGraphClient({ baseUrl, version: 'v25.0', timeoutMs: 1000 });
  });
  afterAll(() => close(server));

  it('never follows paging.next to another host: the token stays with the configured origin', async () => {
    const seen: string[] = [];
    const elsewhere = createServer((request, response) => {
      seen.push(request.headers.authorization ?? '');
      response.end('{"data":[]}');
    });
    const other = await listen(elsewhere);
    pages = () => ({ body: { data: [{ id: '1', display_phone_number: '+1 555-000-0001' }], paging: { next: `${other}/v25.0/${WABA}/phone_numbers?after=x` } } });
    try {
      expect(await client.listPhoneNumbers(WABA, TOKEN)).toMatchObject({ kind: 'unknown', why: 'number list paging.next points to another host; not followed' });
      expect(seen).toEqual([]);
    } finally {
      await close(elsewhere);
    }
  });

  it('a page repeating itself, or an entry without an id, is unknown', async () => {
    pages = (request) => ({ body: { data: [], paging: { next: `${baseUrl}${request.url}` } } });
    expect(await client.listPhoneNumbers(WABA, TOKEN)).toMatchObject({ kind: 'unknown', why: 'number list paging.next repeats a page' });
    pages = () => ({ body: { data: [{ display_phone_number: '+1 555-000-0001' }] } });
    expect(await client.listPhoneNumbers(WABA, TOKEN)).toMatchObject({ kind: 'unknown', why: 'number list answered a page without readable numbers', httpStatus: 200 });
  });

  it('asks for the id and display number only, with the token in the header', async () => {
    const asked: Array<{ url: string; authorization: string | undefined }> = [];
    pages = (request) => {
      asked.push({ url: request.url ?? '', authorization: request.headers.authorization });
      return { body: { data: [{ id: '7', display_phone_number: '+1 555-000-0007' }], paging: { cursors: { before: 'a', after: 'b' } } } };
    };
    expect(await client.listPhoneNumbers(WABA, TOKEN)).toEqual({ kind: 'known', numbers: [{ id: '7', displayPhoneNumber: '+1 555-000-0007' }] });
    expect(asked).toEqual([{ url: `/v25.0/${WABA}/phone_numbers?fields=id,display_phone_number&limit=100`, authorization: `Bearer ${TOKEN}` }]);
  });
});

describe('postSignedWebhook', () => {
  it('signs the raw bytes it sends with the app secret (X-Hub-Signature-256)', async () => {
    const received: Array<{ signature: string | undefined; bytes: Buffer }> = [];
    const server = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      received.push({ signature: request.headers['x-hub-signature-256'] as string | undefined, bytes: Buffer.concat(chunks) });
      response.end('ok');
    });
    const url = await listen(server);
    try {
      const body = '{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{"name":"Zürich"}}]}]}';
      expect(await postSignedWebhook(url, body, 'app-secret')).toEqual({ status: 200, text: 'ok' });
      await postSignedWebhook(url, { object: 'whatsapp_business_account' }, 'app-secret');
      for (const { signature, bytes } of received) {
        expect(signature).toBe(`sha256=${createHmac('sha256', 'app-secret').update(bytes).digest('hex')}`);
      }
      expect(received[0]!.bytes.toString('utf8')).toBe(body);
    } finally {
      await close(server);
    }
  });
});
