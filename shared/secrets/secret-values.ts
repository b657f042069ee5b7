/** A secret's value as parsed, before the store adds its version. */
export type ParsedSecret = { kind: 'found'; value: string } | { kind: 'malformed'; problem: string };

const PIN_PATTERN = /^\d{6}$/;

/**
 * Reads a PIN secret: a plain 6-digit string, or JSON `{"pin": "012345"}`.
 * The plain form is checked first: `JSON.parse("012345")` would be the number 12345 and lose the zero.
 */
export function parsePinSecret(raw: string): ParsedSecret {
  const text = raw.trim();
  if (PIN_PATTERN.test(text)) return { kind: 'found', value: text };
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { kind: 'malformed', problem: 'the PIN secret starts with "{" but is not valid JSON' };
    }
    const pin = (parsed as { pin?: unknown }).pin;
    if (typeof pin === 'string' && PIN_PATTERN.test(pin)) return { kind: 'found', value: pin };
    if (typeof pin === 'number') {
      return { kind: 'malformed', problem: 'the PIN secret holds "pin" as a JSON number; store it as a string, e.g. {"pin":"012345"}' };
    }
    return { kind: 'malformed', problem: 'the PIN secret JSON needs a "pin" field of exactly 6 digits as a string' };
  }
  return { kind: 'malformed', problem: 'the PIN secret must be exactly 6 digits, or JSON {"pin":"<6 digits>"}' };
}

/** Reads the token secret: the token itself, or JSON with `accessToken`, `access_token` or `token`. */
export function parseTokenSecret(raw: string): ParsedSecret {
  const text = raw.trim();
  if (text === '') return { kind: 'malformed', problem: 'the token secret is empty' };
  if (!text.startsWith('{')) {
    return /\s/.test(text) ? { kind: 'malformed', problem: 'the token secret contains white space' } : { kind: 'found', value: text };
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { kind: 'malformed', problem: 'the token secret starts with "{" but is not valid JSON' };
  }
  const token = parsed.accessToken ?? parsed.access_token ?? parsed.token;
  return typeof token === 'string' && token.length > 0
    ? { kind: 'found', value: token }
    : { kind: 'malformed', problem: 'the token secret JSON needs an "accessToken" string' };
}

/**
 * Reads an On-Premises backup secret: JSON `{"data": "<backup>", "password": "<its password>"}`. The value the store
 * returns is that JSON, re-serialised with just those two fields; the worker parses it again only to send it.
 */
export function parseBackupSecret(raw: string): ParsedSecret {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { kind: 'malformed', problem: 'the backup secret must be JSON {"data": "...", "password": "..."}' };
  }
  const { data, password } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { data?: unknown; password?: unknown };
  if (typeof data !== 'string' || data.length === 0 || typeof password !== 'string' || password.length === 0) {
    return { kind: 'malformed', problem: 'the backup secret JSON needs non-empty "data" and "password" strings' };
  }
  return { kind: 'found', value: JSON.stringify({ data, password }) };
}

/** The backup a migration sends, from the store's value (parsePinSecret's counterpart for backups). */
export function backupOf(value: string): { data: string; password: string } {
  return JSON.parse(value) as { data: string; password: string };
}
