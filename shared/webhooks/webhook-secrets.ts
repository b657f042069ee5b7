import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Clock } from '../clock.ts';

/** A secret's value, and whether it was read from Secrets Manager just now (so a mismatch is not a stale cache). */
export interface WebhookSecret {
  value: string;
  fresh: boolean;
}

/** The receiver's two secrets. Reads reject when Secrets Manager fails or the secret is missing or empty. */
export interface WebhookSecrets {
  /** The Meta app secret that keys `X-Hub-Signature-256`. */
  appSecret(options?: { fresh?: boolean }): Promise<WebhookSecret>;
  /** The token Meta sends back in the subscription handshake. */
  verifyToken(options?: { fresh?: boolean }): Promise<WebhookSecret>;
}

/** A secret exists but holds nothing usable (the message never contains the value). */
class WebhookSecretError extends Error {
  override readonly name = 'WebhookSecretError';
}

export interface WebhookSecretsOptions {
  appSecretId: string;
  verifyTokenSecretId: string;
  /** How long a value is reused before it is read again. */
  maxAgeMs: number;
  clock: Clock;
}

/**
 * A value read this recently counts as fresh: a `fresh` read within this interval reuses it. Without it, every
 * request with a wrong signature would cost a Secrets Manager call, which anyone on the internet could trigger.
 */
const REREAD_MIN_INTERVAL_MS = 10_000;

/** Keys a JSON secret may hold the value under; a plain string secret is the value itself. */
const APP_SECRET_KEYS = ['appSecret', 'app_secret', 'secret'];
const VERIFY_TOKEN_KEYS = ['verifyToken', 'verify_token', 'token'];

/**
 * Secrets Manager adapter with a per-container cache (`maxAgeMs`); concurrent reads of one secret share one request,
 * and a failed read is not cached.
 */
export class SecretsManagerWebhookSecrets implements WebhookSecrets {
  readonly #client: SecretsManagerClient;
  readonly #options: WebhookSecretsOptions;
  readonly #cache = new Map<string, { readAt: number; value: Promise<string> }>();

  constructor(client: SecretsManagerClient, options: WebhookSecretsOptions) {
    this.#client = client;
    this.#options = options;
  }

  appSecret(options: { fresh?: boolean } = {}): Promise<WebhookSecret> {
    return this.#read(this.#options.appSecretId, APP_SECRET_KEYS, options.fresh ?? false);
  }

  verifyToken(options: { fresh?: boolean } = {}): Promise<WebhookSecret> {
    return this.#read(this.#options.verifyTokenSecretId, VERIFY_TOKEN_KEYS, options.fresh ?? false);
  }

  async #read(secretId: string, keys: string[], fresh: boolean): Promise<WebhookSecret> {
    const now = this.#options.clock.now();
    const freshWindow = Math.min(REREAD_MIN_INTERVAL_MS, this.#options.maxAgeMs);
    const cached = this.#cache.get(secretId);
    const age = cached ? now - cached.readAt : Number.POSITIVE_INFINITY;
    if (cached && (age < freshWindow || (!fresh && age < this.#options.maxAgeMs))) {
      return { value: await cached.value, fresh: age < freshWindow };
    }
    const value = this.#fetch(secretId, keys);
    this.#cache.set(secretId, { readAt: now, value });
    value.catch(() => {
      if (this.#cache.get(secretId)?.value === value) this.#cache.delete(secretId);
    });
    return { value: await value, fresh: true };
  }

  async #fetch(secretId: string, keys: string[]): Promise<string> {
    const output = await this.#client.send(new GetSecretValueCommand({ SecretId: secretId }));
    const value = secretValue(output.SecretString ?? '', keys);
    if (value === undefined) throw new WebhookSecretError(`the secret ${secretId} must be a non-empty string, or JSON with "${keys[0]}"`);
    return value;
  }
}

/** The value of a plain secret, or of the first known key of a JSON one. */
function secretValue(raw: string, keys: string[]): string | undefined {
  const text = raw.trim();
  if (!text.startsWith('{')) return text === '' ? undefined : text;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const value = keys.map((key) => parsed[key]).find((candidate) => typeof candidate === 'string' && candidate !== '');
  return value as string | undefined;
}
