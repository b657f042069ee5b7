import { GetSecretValueCommand, ResourceNotFoundException, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Clock } from '../clock.ts';
import type { SecretLookup, SecretReadOptions, SecretStore } from './port.ts';
import { parsePinSecret, parseTokenSecret, type ParsedSecret } from './secret-values.ts';

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
 * request, so a batch reads each secret once. Only found values are cached (a PIN stored after a `missing`
 * verdict is seen by the next job), values Meta refused are evicted, and a `fresh` read skips the cache.
 */
export class SecretsManagerStore implements SecretStore {
  readonly #client: SecretsManagerClient;
  readonly #options: SecretsManagerStoreOptions;
  readonly #cache = new Map<string, CacheEntry>();

  constructor(client: SecretsManagerClient, options: SecretsManagerStoreOptions) {
    this.#client = client;
    this.#options = options;
  }

  accessToken(options: SecretReadOptions = {}): Promise<SecretLookup> {
    return this.#read(this.#options.tokenSecretId, parseTokenSecret, options);
  }

  pin(phoneNumberId: string, options: SecretReadOptions = {}): Promise<SecretLookup> {
    return this.#read(this.#pinSecretId(phoneNumberId), parsePinSecret, options);
  }

  evict(target: { token?: boolean; pinOf?: string }): void {
    if (target.token) this.#cache.delete(this.#options.tokenSecretId);
    if (target.pinOf !== undefined) this.#cache.delete(this.#pinSecretId(target.pinOf));
  }

  #pinSecretId(phoneNumberId: string): string {
    return `${this.#options.pinSecretPrefix}${phoneNumberId}`;
  }

  async #read(secretId: string, parse: (raw: string) => ParsedSecret, options: SecretReadOptions): Promise<SecretLookup> {
    const now = this.#options.clock.now();
    const cached = this.#cache.get(secretId);
    if (!options.fresh && cached && cached.expiresAt > now) {
      const lookup = await cached.value;
      return lookup.kind === 'found' ? { ...lookup, fresh: false } : lookup;
    }
    const value = this.#fetch(secretId, parse);
    this.#cache.set(secretId, { expiresAt: now + this.#options.maxAgeMs, value });
    // Forget anything but a usable value once it settles, and forget failures at once.
    const forget = () => {
      if (this.#cache.get(secretId)?.value === value) this.#cache.delete(secretId);
    };
    value.then((lookup) => lookup.kind !== 'found' && forget(), forget);
    return value;
  }

  async #fetch(secretId: string, parse: (raw: string) => ParsedSecret): Promise<SecretLookup> {
    try {
      const output = await this.#client.send(new GetSecretValueCommand({ SecretId: secretId }));
      if (output.SecretString === undefined) return { kind: 'malformed', problem: 'the secret has no string value' };
      const parsed = parse(output.SecretString);
      if (parsed.kind !== 'found') return parsed;
      const createdAt = output.CreatedDate?.getTime();
      return { ...parsed, version: output.VersionId ?? 'unversioned', fresh: true, ...(createdAt === undefined ? {} : { createdAt }) };
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return { kind: 'missing' };
      throw error;
    }
  }
}
