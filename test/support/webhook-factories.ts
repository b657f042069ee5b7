import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReceiverRequest } from '../../functions/webhook-receiver/receiver.ts';
import { signBody } from '../../shared/webhooks/signature.ts';

/** Secret values the webhook tests use; every log line captured is scanned for them. */
export const APP_SECRET = 'meta-app-secret-never-logged-5d1c';
export const VERIFY_TOKEN = 'verify-token-never-logged-93ab';

/** A raw Meta body from test/fixtures/webhooks. */
export function webhookFixture(name: string): Buffer {
  return readFileSync(join(import.meta.dirname, '..', 'fixtures', 'webhooks', name));
}

/** A POST as Meta sends it: the raw body signed with the app secret (or `secret`). */
export function signedPost(body: Buffer | string, secret = APP_SECRET): ReceiverRequest {
  const rawBody = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(rawBody, secret) }, rawBody, query: {} };
}

/** Meta's subscription handshake. */
export function handshake(query: Record<string, string>): ReceiverRequest {
  return { method: 'GET', headers: {}, rawBody: Buffer.alloc(0), query };
}
