import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { fromFunctionUrlEvent } from '../../functions/webhook-receiver/function-url.ts';
import { escapeNonAscii, secretsEqual, signBody, verifySignature } from '../../shared/webhooks/signature.ts';

const SECRET = 'app-secret-for-signature-tests';
const body = Buffer.from('{"object":"whatsapp_business_account","entry":[]}');
const fixture = (name: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'webhooks', name));

describe('verifySignature', () => {
  it('accepts sha256= and the hex HMAC-SHA256 of the raw bytes, in either hex case', () => {
    // Prepare
    const header = signBody(body, SECRET);
    // Act / Assess
    expect(verifySignature(body, header, SECRET)).toBe('valid');
    expect(verifySignature(body, `sha256=${header.slice(7).toUpperCase()}`, SECRET)).toBe('valid');
  });

  it.each([
    ['another key', signBody(body, 'other-secret'), 'mismatch'],
    ['another body', signBody(Buffer.from('{}'), SECRET), 'mismatch'],
    ['no header', undefined, 'missing'],
    ['an empty header', '', 'missing'],
    ['the sha1 prefix', `sha1=${createHmac('sha1', SECRET).update(body).digest('hex')}`, 'malformed'],
    ['no prefix', createHmac('sha256', SECRET).update(body).digest('hex'), 'malformed'],
    ['a short digest', signBody(body, SECRET).slice(0, -2), 'malformed'],
    ['a long digest', `${signBody(body, SECRET)}00`, 'malformed'],
    ['non-hex characters', `sha256=${'z'.repeat(64)}`, 'malformed'],
  ] as const)('refuses %s', (_case, header, expected) => {
    expect(verifySignature(body, header, SECRET)).toBe(expected);
  });

  it('checks a body with non-ASCII characters and \\/ escapes over its raw bytes', () => {
    // Prepare
    const raw = fixture('name-approved-non-ascii.json');
    expect(raw.toString('utf8')).toContain('\\/');
    expect(raw.toString('utf8')).toContain('ü');
    // Act / Assess
    expect(verifySignature(raw, signBody(raw, SECRET), SECRET)).toBe('valid');
    // Re-serialised JSON drops the \/ escape and is never what is checked.
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))));
    expect(verifySignature(raw, signBody(reserialised, SECRET), SECRET)).toBe('mismatch');
  });

  it('falls back to the escaped-unicode form Meta signs when the raw bytes do not match', () => {
    // Prepare: delivered with UTF-8 characters, signed over \uXXXX escapes (a surrogate pair for the emoji).
    const raw = fixture('name-approved-non-ascii.json');
    const escaped = escapeNonAscii(raw.toString('utf8'));
    expect(escaped).toContain('M\\u00fcller');
    expect(escaped).toContain('\\ud83e\\udd68');
    expect(escaped).toContain('\\/');
    // Act / Assess
    expect(verifySignature(raw, signBody(escaped, SECRET), SECRET)).toBe('valid');
    expect(verifySignature(raw, signBody(escaped, 'other-secret'), SECRET)).toBe('mismatch');
  });

  it('does not try the escaped form for a pure-ASCII body', () => {
    expect(escapeNonAscii(body.toString('utf8'))).toBe(body.toString('utf8'));
  });
});

describe('the Function URL transport', () => {
  it('decodes a base64 body to the bytes Meta signed', () => {
    // Prepare
    const raw = fixture('name-approved-non-ascii.json');
    const event = {
      requestContext: { http: { method: 'POST' } },
      headers: { 'x-hub-signature-256': signBody(raw, SECRET) },
      body: raw.toString('base64'),
      isBase64Encoded: true,
    } as unknown as LambdaFunctionURLEvent;
    // Act
    const request = fromFunctionUrlEvent(event);
    // Assess
    expect(request.rawBody.equals(raw)).toBe(true);
    expect(verifySignature(request.rawBody, request.headers['x-hub-signature-256'], SECRET)).toBe('valid');
    expect(verifySignature(Buffer.from(event.body!), request.headers['x-hub-signature-256'], SECRET)).toBe('mismatch');
  });

  it('takes a text body as UTF-8', () => {
    const raw = fixture('name-approved-non-ascii.json');
    const event = { requestContext: { http: { method: 'POST' } }, headers: {}, body: raw.toString('utf8'), isBase64Encoded: false } as unknown as LambdaFunctionURLEvent;
    expect(fromFunctionUrlEvent(event).rawBody.equals(raw)).toBe(true);
  });
});

describe('secretsEqual', () => {
  it('compares in constant time whatever the lengths', () => {
    expect(secretsEqual('verify-me', 'verify-me')).toBe(true);
    expect(secretsEqual('verify-me', 'verify-me-not')).toBe(false);
    expect(secretsEqual('', 'verify-me')).toBe(false);
  });
});
