import { createHmac } from 'node:crypto';

/**
 * POSTs a webhook body the way Meta does: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw bytes>`, keyed
 * with the app secret. The bytes sent are the bytes signed: a string is sent as its UTF-8, an object as its JSON.
 * For tests and the local run; standalone on purpose (no import from the receiver it exercises).
 */
export async function postSignedWebhook(
  url: string,
  body: string | Uint8Array | object,
  appSecret: string,
  options: { headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string }> {
  const bytes = Buffer.from(body instanceof Uint8Array ? body : typeof body === 'string' ? body : JSON.stringify(body));
  const signature = `sha256=${createHmac('sha256', appSecret).update(bytes).digest('hex')}`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature, ...options.headers },
    body: bytes,
    redirect: 'manual',
  });
  return { status: response.status, text: await response.text() };
}
