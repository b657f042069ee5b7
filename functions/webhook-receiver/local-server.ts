import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Receiver, ReceiverRequest } from './receiver.ts';

/** A receiver served over HTTP on this machine. */
export interface WebhookServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  stop(): Promise<void>;
}

/**
 * Serves the receiver on 127.0.0.1 with node:http, for the local run (a tunnel can point Meta at it) and the tests.
 * `port` 0 or absent takes a free one. The body is read as raw bytes, and no further than one byte past the
 * receiver's limit, which is enough for its 413.
 */
export async function startWebhookServer(receiver: Receiver, options: { port?: number } = {}): Promise<WebhookServer> {
  const server = createServer((incoming, outgoing) => {
    readRequest(incoming, receiver.maxBodyBytes + 1)
      .then((request) => receiver.handle(request))
      .then((response) => outgoing.writeHead(response.status, response.headers).end(response.body))
      .catch(() => outgoing.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('internal error'));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

async function readRequest(incoming: IncomingMessage, limit: number): Promise<ReceiverRequest> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming as AsyncIterable<Buffer>) {
    if (size >= limit) continue; // drain the rest without keeping it
    chunks.push(chunk);
    size += chunk.length;
  }
  const url = new URL(incoming.url ?? '/', 'http://127.0.0.1');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  return {
    method: incoming.method ?? 'GET',
    headers,
    rawBody: Buffer.concat(chunks),
    query: Object.fromEntries(url.searchParams),
  };
}
