/** How much of an invalid body the dead letter keeps as evidence. */
export const RAW_BODY_KEEP_CHARS = 4096;

const SECRET_KEYS = /^(pin|token|access_?token|accesstoken|authorization|password)$/i;

/**
 * An invalid job's body made safe to keep: values of secret-looking fields are replaced, any other
 * standalone 6-digit run in non-JSON text is masked (it could be a PIN), and long bodies are cut.
 */
export function redactedRawBody(body: string): { text: string; bytes: number } {
  const bytes = Buffer.byteLength(body, 'utf8');
  let text: string;
  try {
    text = JSON.stringify(JSON.parse(body), (key, value: unknown) => (SECRET_KEYS.test(key) ? '[REDACTED]' : value));
  } catch {
    text = body.replace(/(?<!\d)\d{6}(?!\d)/g, '[6 digits redacted]');
  }
  if (text.length > RAW_BODY_KEEP_CHARS) text = `${text.slice(0, RAW_BODY_KEEP_CHARS)}… [truncated; ${bytes} bytes in all]`;
  return { text, bytes };
}
