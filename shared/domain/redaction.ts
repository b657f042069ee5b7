/**
 * Redaction by shape, not by a key list: whatever a producer, Meta or an older worker puts in a body or an
 * envelope, a PIN or token must not survive into a dead letter. Three rules apply on every path (JSON or not):
 * - a key that looks secret (see `isSecretKey`) has its value replaced by `[REDACTED]`, at any depth;
 * - text is scanned for token shapes (`[token redacted]`) and standalone 6-digit runs (`[6 digits redacted]`);
 * - a JSON number of exactly 6 digits is replaced too, whatever its key.
 * Values under allow-listed keys (ids, timestamps) are never touched.
 */

/** How much of an invalid body the dead letter keeps as evidence. */
export const RAW_BODY_KEEP_CHARS = 4096;

const REDACTED = '[REDACTED]';
const TOKEN_REDACTED = '[token redacted]';
const DIGITS_REDACTED = '[6 digits redacted]';

/** Fragments of a normalised key (lower case, no `_` or `-`) that mark its value as secret. */
const SECRET_KEY_PARTS = [
  'pin',
  'token',
  'secret',
  'password',
  'passwd',
  'authorization',
  'credential',
  'otp',
  'apikey',
  'bearer',
  'privatekey',
  'backup',
] as const;

/**
 * A key whose value is never touched: an exact key name, a pattern tested on the key, or a test on the key and
 * the value (e.g. "an ISO timestamp under a key ending in At").
 */
export type RedactionAllowRule = string | RegExp | ((key: string, value: unknown) => boolean);

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?$/;

/** An ISO-8601 timestamp under a key ending in `At` or `Until` (`deadLetteredAt`, `blockedUntil`, `expires_at`). */
const timestampUnderTimeKey = (key: string, value: unknown): boolean =>
  /(?:At|Until|_at|_until)$/.test(key) && typeof value === 'string' && ISO_TIMESTAMP.test(value);

/** Counters and codes a dead letter needs as numbers (a 6-digit byte count or Meta code is not a PIN). */
const ENVELOPE_NUMBER_KEYS: ReadonlySet<string> = new Set([
  'code',
  'subcode',
  'httpStatus',
  'rawBodyBytes',
  'durationMs',
  'receiveCount',
  'redriveGeneration',
  'used',
  'limit',
  'windowHours',
]);

/** For an invalid job's raw body: the number's id and timestamps survive; everything else is scanned. */
const RAW_BODY_ALLOW: readonly RedactionAllowRule[] = ['phoneNumberId', timestampUnderTimeKey];

/**
 * For a final pass over dead-letter envelopes: ids a person or the redrive needs (the job's idempotency key is
 * what a redrive reuses), secret *version* ids, timestamps, and the envelope's numeric codes and counters.
 */
export const DEAD_LETTER_ALLOW: readonly RedactionAllowRule[] = [
  'phoneNumberId',
  'businessAccountId',
  'jobKey',
  'idempotencyKey',
  'fbtraceId',
  'sourceMessageId',
  'secretVersion',
  'tokenVersion',
  'pinVersion',
  // An enum (dead-letter-when-missing | provision-if-missing): named like a secret, never one.
  'pinPolicy',
  timestampUnderTimeKey,
  (key, value) => typeof value === 'number' && ENVELOPE_NUMBER_KEYS.has(key),
];

/** Whether a key names a secret: case-insensitive substring match on the key without `_` and `-`. */
export function isSecretKey(key: string): boolean {
  const normalised = key.toLowerCase().replace(/[_-]/g, '');
  return SECRET_KEY_PARTS.some((part) => normalised.includes(part));
}

function isAllowed(key: string, value: unknown, allow: readonly RedactionAllowRule[]): boolean {
  return allow.some((rule) =>
    typeof rule === 'string' ? rule === key : rule instanceof RegExp ? rule.test(key) : rule(key, value),
  );
}

/** A Meta/OAuth token: `EAA…`, `Bearer …`, or a long run of token characters with both letters and digits. */
const BEARER = /\bBearer\s+(?!\[(?:REDACTED|token redacted|6 digits redacted)\])[^\s"'<>,;&]+/gi;
const META_TOKEN = /\bEAA[A-Za-z0-9_\-.+/]{8,}={0,2}/g;
const TOKEN_RUN = /[A-Za-z0-9_\-.+/]{24,}={0,2}/g;
// Meta names its own codes as `(#133005)`: a digit run right after `(#` is a code, not a PIN.
const SIX_DIGITS = /(?<!\d|\(#)\d{6}(?!\d)/g;
const MARKER = String.raw`\[(?:REDACTED|token redacted|6 digits redacted)\]`;
const IS_MARKER = new RegExp(`^(?:${MARKER})$`);
/** The rest of a bare secret value after a `:` or `=` (`password=ab:cd`, a token's `==` padding). */
const BARE_TAIL = /[^\s&,;"'{}[\]()<>\\]*/y;

/**
 * `key=value`, `key: value`, `"key":"value"`, `'key': 'value'` and `\"key\":\"value\"` fragments. A quoted value
 * may be cut off by the end of the text (a truncated JSON body). Groups: 1 key quote, 2 key, 3 separator, 4 value.
 */
const KEY_VALUE_SOURCE =
  // The key is bounded so a long run of letters costs little at each position.
  String.raw`(\\?["']?)([A-Za-z_][\w.\-]{0,63})\1(\s*[:=]\s*)(` +
  [
    MARKER,
    String.raw`"(?:[^"\\]|\\.)*(?:"|$)`,
    String.raw`'(?:[^'\\]|\\.)*(?:'|$)`,
    String.raw`\\"(?:[^\\]|\\(?!"))*(?:\\"|$)`,
    String.raw`(?:Bearer|Basic)\s+(?:${MARKER}|[^\s&,;"'{}\[\]()<>\\]+)`,
    // A bare value ends at `=` or `:`, so `note: pin=1234` is two fragments (a secret's value is then extended).
    String.raw`[^\s&,;=:"'{}\[\]()<>\\]+`,
  ].join('|') +
  ')';

/** Masks token shapes and 6-digit runs in free text. */
function scanText(text: string): string {
  return text
    .replace(BEARER, `Bearer ${TOKEN_REDACTED}`)
    .replace(META_TOKEN, TOKEN_REDACTED)
    .replace(TOKEN_RUN, (run) => (/[A-Za-z]/.test(run) && /\d/.test(run) ? TOKEN_REDACTED : run))
    .replace(SIX_DIGITS, DIGITS_REDACTED);
}

/** The value of a key-value fragment without its quotes. */
function unquoted(value: string): string {
  return value.replace(/^\\?["']|\\?["']$/g, '');
}

/**
 * Free text made safe: token shapes and 6-digit runs are masked, and values in `key=value`-like fragments with a
 * secret-looking key are replaced. Values of allow-listed keys are left exactly as they are.
 */
export function redactText(text: string, allow: readonly RedactionAllowRule[] = RAW_BODY_ALLOW): string {
  // Pass 1: scan everything except the values of allow-listed keys.
  let scanned = '';
  let from = 0;
  for (const match of text.matchAll(new RegExp(KEY_VALUE_SOURCE, 'g'))) {
    const [whole, , key, , value] = match as unknown as [string, string, string, string, string];
    if (!isAllowed(key, unquoted(value), allow)) continue;
    const valueStart = match.index + whole.length - value.length;
    scanned += scanText(text.slice(from, valueStart)) + value;
    from = valueStart + value.length;
  }
  scanned += scanText(text.slice(from));
  // Pass 2: secret-looking keys lose their value (a value already masked by pass 1 keeps its more specific marker).
  return redactKeyValues(scanned, allow);
}

/**
 * Replaces the values of secret-looking keys. A harmless key's value is read again for fragments of its own
 * (`q="token=abc"`), by moving the search back to where the value starts: one left-to-right pass, no recursion.
 */
function redactKeyValues(text: string, allow: readonly RedactionAllowRule[]): string {
  const pattern = new RegExp(KEY_VALUE_SOURCE, 'g');
  let out = '';
  let from = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const [whole, quote, key, separator, value] = match as unknown as [string, string, string, string, string];
    const valueStart = match.index + whole.length - value.length;
    if (isAllowed(key, unquoted(value), allow) || IS_MARKER.test(unquoted(value))) continue;
    if (!isSecretKey(key)) {
      pattern.lastIndex = valueStart;
      continue;
    }
    const open = /^\\?["']/.exec(value)?.[0] ?? '';
    const close = open !== '' && value.length > open.length && value.endsWith(open.at(-1)!) ? open : '';
    out += `${text.slice(from, match.index)}${quote}${key}${quote}${separator}${open}${REDACTED}${close}`;
    if (open === '' && !/^(?:Bearer|Basic)\s/.test(value)) {
      BARE_TAIL.lastIndex = pattern.lastIndex;
      BARE_TAIL.exec(text);
      pattern.lastIndex = BARE_TAIL.lastIndex;
    }
    from = pattern.lastIndex;
  }
  return out + text.slice(from);
}

/** Nesting beyond this is not evidence anyone needs, and must not overflow the stack. */
const MAX_DEPTH = 64;

/**
 * A copy of a JSON-able value with the redaction rules applied at every depth (objects and arrays): secret-looking
 * keys lose their value (booleans and null stay: they cannot hold a secret), strings are scanned as text, and
 * 6-digit integers are masked. Values under allow-listed keys are never touched.
 */
export function redactDeep(value: unknown, allow: readonly RedactionAllowRule[] = DEAD_LETTER_ALLOW): unknown {
  return redactValue(value, allow, 0, new WeakSet());
}

function redactValue(value: unknown, allow: readonly RedactionAllowRule[], depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactText(value, allow);
  if (typeof value === 'number') return isSixDigitInteger(value) ? DIGITS_REDACTED : value;
  if (typeof value !== 'object' || value === null) return value;
  const json = (value as { toJSON?: unknown }).toJSON;
  if (typeof json === 'function') return redactValue(json.call(value), allow, depth, seen);
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[nested too deep; redacted]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => redactValue(item, allow, depth + 1, seen));
    // fromEntries defines own properties, so a `__proto__` key stays a plain key.
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => {
        if (isAllowed(key, inner, allow)) return [key, inner];
        if (isSecretKey(key) && inner !== null && typeof inner !== 'boolean' && inner !== undefined) return [key, REDACTED];
        return [key, redactValue(inner, allow, depth + 1, seen)];
      }),
    );
  } finally {
    seen.delete(value);
  }
}

function isSixDigitInteger(value: number): boolean {
  return Number.isInteger(value) && Math.abs(value) >= 100_000 && Math.abs(value) <= 999_999;
}

/**
 * An invalid job's body made safe to keep: JSON is redacted value by value and re-serialised; any other text is
 * scanned as text (including `key=value` and cut-off JSON fragments). Redaction happens before long bodies are cut.
 */
export function redactedRawBody(body: string): { text: string; bytes: number } {
  const bytes = Buffer.byteLength(body, 'utf8');
  let text: string | undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    // A bare JSON number, boolean or null is read as text: re-serialising could only lose it (300 digits → null).
    if (typeof parsed === 'object' && parsed !== null) text = JSON.stringify(redactDeep(parsed, RAW_BODY_ALLOW));
    else if (typeof parsed === 'string') text = JSON.stringify(redactText(parsed, RAW_BODY_ALLOW));
  } catch {
    text = undefined;
  }
  text ??= redactText(body, RAW_BODY_ALLOW);
  if (text.length > RAW_BODY_KEEP_CHARS) text = `${text.slice(0, RAW_BODY_KEEP_CHARS)}… [truncated; ${bytes} bytes in all]`;
  return { text, bytes };
}
