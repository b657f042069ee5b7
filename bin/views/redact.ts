import { isSecretFieldName, SECRET_FIELD_PATTERN } from '../../shared/secret-fields.ts';

/**
 * A backstop for anything the CLI prints from a queue or the ledger: dead-letter envelopes never hold a PIN or
 * token by design, but output must stay secret-free even if a producer or an older worker got that wrong.
 * The names come from the one list of secret field names (shared/secret-fields.ts).
 */
const SECRET_IN_TEXT = new RegExp(String.raw`("(?:${SECRET_FIELD_PATTERN})"\s*:\s*)("(?:[^"\\]|\\.)*"|\d+)`, 'gi');
const SECRET_IN_QUERY = new RegExp(String.raw`\b(${SECRET_FIELD_PATTERN})=([^&\s"]+)`, 'gi');
const BEARER = /\bBearer\s+[A-Za-z0-9._~+/=-]+/g;

const REDACTED = '[REDACTED]';

/** Deep copy with secret-looking fields replaced, and secrets inside string values masked. */
export function redactSecrets<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (key, inner: unknown) => {
    if (key !== '' && isSecretFieldName(key)) return REDACTED;
    return typeof inner === 'string' ? redactText(inner) : inner;
  })) as T;
}

/** Masks `"pin":"…"`, `pin=…` and bearer tokens inside free text (raw bodies, error messages). */
export function redactText(text: string): string {
  return text
    .replace(SECRET_IN_TEXT, (_match, prefix: string) => `${prefix}"${REDACTED}"`)
    .replace(SECRET_IN_QUERY, (_match, name: string) => `${name}=${REDACTED}`)
    .replace(BEARER, `Bearer ${REDACTED}`);
}
