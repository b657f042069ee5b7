/**
 * PIN secrets as Secrets Manager keeps them: the name of a number's secret, the number a secret belongs to, the
 * staging labels of a rotation, and the value's shape (what `parsePinSecret` in shared/secrets/secret-values.ts reads).
 */

/** Secrets Manager's staging labels: the value in use, the one a rotation is bringing in, the one it replaced. */
export const STAGE = { current: 'AWSCURRENT', pending: 'AWSPENDING', previous: 'AWSPREVIOUS' } as const;

/** The secret holding number `phoneNumberId`'s PIN: PIN_SECRET_PREFIX + the id, as the worker reads it. */
export function pinSecretName(pinSecretPrefix: string, phoneNumberId: string): string {
  return `${pinSecretPrefix}${phoneNumberId}`;
}

/**
 * The phone number id a PIN secret belongs to: its name without PIN_SECRET_PREFIX, which must leave 1-20 digits.
 * Undefined for any other secret (the rotation refuses to touch it).
 */
export function phoneNumberIdOfSecret(pinSecretPrefix: string, secretName: string): string | undefined {
  if (!secretName.startsWith(pinSecretPrefix)) return undefined;
  const id = secretName.slice(pinSecretPrefix.length);
  return /^\d{1,20}$/.test(id) ? id : undefined;
}

/**
 * The value to store for `pin`, in the shape of the value it replaces: a plain 6-digit value stays plain, a JSON
 * object keeps its other fields with `pin` replaced; with nothing to follow, JSON `{"pin":"012345"}`. Either way the
 * PIN is a JSON string, never a number, so `parsePinSecret` reads it back with its leading zeros.
 */
export function formatPinSecret(pin: string, previous?: string): string {
  const text = previous?.trim();
  if (text !== undefined && /^\d{6}$/.test(text)) return pin;
  if (text?.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return JSON.stringify({ ...(parsed as Record<string, unknown>), pin });
    } catch {
      // Not JSON after all: write the standard shape.
    }
  }
  return JSON.stringify({ pin });
}
