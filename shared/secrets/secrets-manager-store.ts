import { GetSecretValueCommand, ResourceNotFoundException, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Clock } from '../clock.ts';
import type { SecretLookup, SecretStore } from './port.ts';
import { parsePinSecret, parseTokenSecret } from './secret-values.ts';

export interface SecretsManagerStoreOptions {
  tokenSecretId: string;
  pinSecretPrefix: string;
  /** How long a value is reused before it is read again (so a rotated PIN or token is picked up). */
  maxAgeMs: number;
  clock: Clock;
}

interface CacheEntry {
  expiresAt: number;
  value: Promise<SecretLookup>;
}

/**
 * Secrets Manager adapter with a per-container cache. Concurrent reads of one secret share a single
 * request, so a batch reads each secret once. Only found values are cached: a PIN stored after a
 * `missing` verdict is seen by the next job.
 */
export class SecretsManagerStore implements SecretStore {
  readonly #client: SecretsManagerClient;
  readonly #options: SecretsManagerStoreOptions;
  readonly #cache = new Map<string, CacheEntry>();

  constructor(client: SecretsManagerClient, options: SecretsManagerStoreOptions) {
    this.#client = client;
    this.#options = options;
  }

  accessToken(): Promise<SecretLookup> {
    return this.#read(this.#options.tokenSecretId, parseTokenSecret);
  }

  pin(phoneNumberId: string): Promise<SecretLookup> {
    return this.#read(`${this.#options.pinSecretPrefix}${phoneNumberId}`, parsePinSecret);
  }

  #read(secretId: string, parse: (raw: string) => SecretLookup): Promise<SecretLookup> {
    const now = this.#options.clock.now();
    const cached = this.#cache.get(secretId);
    if (cached && cached.expiresAt > now) return cached.value;
    const value = this.#fetch(secretId, parse);
    this.#cache.set(secretId, { expiresAt: now + this.#options.maxAgeMs, value });
    // Forget anything but a usable value once it settles, and forget failures at once.
    value.then(
      (lookup) => {
        if (lookup.kind !== 'found' && this.#cache.get(secretId)?.value === value) this.#cache.delete(secretId);
      },
      () => {
        if (this.#cache.get(secretId)?.value === value) this.#cache.delete(secretId);
      },
    );
    return value;
  }

  async #fetch(secretId: string, parse: (raw: string) => SecretLookup): Promise<SecretLookup> {
    try {
      const output = await this.#client.send(new GetSecretValueCommand({ SecretId: secretId }));
      if (output.SecretString === undefined) return { kind: 'malformed', problem: 'the secret has no string value' };
      return parse(output.SecretString);
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return { kind: 'missing' };
      throw error;
    }
  }
}
