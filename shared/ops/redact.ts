/**
 * A backstop for anything the CLI prints from a queue or the ledger: dead-letter envelopes never hold a PIN or
 * token by design, but output must stay secret-free even if a producer or an older worker got that wrong.
 */
const SECRET_KEYS = /^(pin|token|access_?token|accesstoken|authorization|password|secret)$/i;
const SECRET_IN_TEXT = /("(?:pin|token|access_?token|accessToken|authorization|password)"\s*:\s*)("(?:[^"\\]|\\.)*"|\d+)/gi;
const PIN_IN_QUERY = /\b(pin|access_token|token)=([^&\s"]+)/gi;
const BEARER = /\bBearer\s+[A-Za-z0-9._~+/=-]+/g;

export const REDACTED = '[REDACTED]';

/** Deep copy with secret-looking fields replaced, and secrets inside string values masked. */
export function redactSecrets<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (key, inner: unknown) => {
    if (key !== '' && SECRET_KEYS.test(key)) return REDACTED;
    return typeof inner === 'string' ? redactText(inner) : inner;
  })) as T;
}

/** Masks `"pin":"…"`, `pin=…` and bearer tokens inside free text (raw bodies, error messages). */
export function redactText(text: string): string {
  return text
    .replace(SECRET_IN_TEXT, (_match, prefix: string) => `${prefix}"${REDACTED}"`)
    .replace(PIN_IN_QUERY, (_match, name: string) => `${name}=${REDACTED}`)
    .replace(BEARER, `Bearer ${REDACTED}`);
}
