import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** How a webhook body's `X-Hub-Signature-256` compared with the app secret. */
export type SignatureCheck = 'valid' | 'missing' | 'malformed' | 'mismatch';

const PREFIX = 'sha256=';
const DIGEST_BYTES = 32;
const HEX = /^[0-9a-fA-F]+$/;

/**
 * Checks Meta's `X-Hub-Signature-256` (`sha256=` + hex HMAC-SHA256 of the raw body, keyed with the app secret) over
 * the body's bytes exactly as delivered, never over re-serialised JSON. The length is checked before
 * `timingSafeEqual`, which throws on unequal lengths. Meta signs Unicode escaped (`\u00e4`): when the raw bytes do
 * not match and the body has non-ASCII characters, the escaped form of its text is tried as well.
 */
export function verifySignature(rawBody: Buffer, header: string | undefined, appSecret: string): SignatureCheck {
  if (header === undefined || header === '') return 'missing';
  if (!header.startsWith(PREFIX)) return 'malformed';
  const hex = header.slice(PREFIX.length);
  if (!HEX.test(hex) || hex.length !== DIGEST_BYTES * 2) return 'malformed';
  const given = Buffer.from(hex, 'hex');
  if (matches(given, rawBody, appSecret)) return 'valid';
  if (hasNonAscii(rawBody) && matches(given, Buffer.from(escapeNonAscii(rawBody.toString('utf8')), 'utf8'), appSecret)) return 'valid';
  return 'mismatch';
}

/** Compares two secrets in constant time, whatever their lengths (both are hashed to 32 bytes first). */
export function secretsEqual(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The header value Meta would send for these bytes: for tests, the local run and the benchmark. */
export function signBody(body: Buffer | string, appSecret: string): string {
  return `${PREFIX}${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

/**
 * The text with every non-ASCII UTF-16 code unit written as a lowercase `\uXXXX` escape, as Meta (and PHP's
 * json_encode) serialise it; characters outside the BMP become two escapes (a surrogate pair), as in JSON.
 */
export function escapeNonAscii(text: string): string {
  return text.replace(/[^\x00-\x7f]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function matches(given: Buffer, body: Buffer, appSecret: string): boolean {
  const expected = createHmac('sha256', appSecret).update(body).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function hasNonAscii(body: Buffer): boolean {
  for (const byte of body) if (byte > 0x7f) return true;
  return false;
}
