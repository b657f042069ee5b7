import { CreateSecretCommand, GetSecretValueCommand, ResourceExistsException, ResourceNotFoundException, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Clock } from '../clock.ts';
import type { NumberSecrets, SecretLookup, SecretReadOptions, SecretStore, TokenReadOptions } from './port.ts';
import { parseBackupSecret, parsePinSecret, parseTokenSecret, type ParsedSecret } from './secret-values.ts';

export interface SecretsManagerStoreOptions {
  tokenSecretId: string;
  pinSecretPrefix: string;
  /** A business's own token is the secret prefix + its WABA id, when that secret exists (Solution Partners). */
  tokenSecretPrefix?: string;
  /** A migration's backup is the secret prefix + phone number id. */
  backupSecretPrefix?: string;
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
export class SecretsManagerStore implements SecretStore, NumberSecrets {
  readonly #client: SecretsManagerClient;
  readonly #options: SecretsManagerStoreOptions;
  readonly #cache = new Map<string, CacheEntry>();
  /** Businesses seen without a token of their own, until when: they use the default token without asking again. */
  readonly #noOwnToken = new Map<string, number>();

  constructor(client: SecretsManagerClient, options: SecretsManagerStoreOptions) {
    this.#client = client;
    this.#options = options;
  }

  async accessToken(options: TokenReadOptions = {}): Promise<SecretLookup> {
    const { businessAccountId: business } = options;
    const prefix = this.#options.tokenSecretPrefix;
    if (prefix !== undefined && business !== undefined && (options.fresh || (this.#noOwnToken.get(business) ?? 0) <= this.#options.clock.now())) {
      const own = await this.#read(`${prefix}${business}`, parseTokenSecret, options);
      if (own.kind !== 'missing') return own.kind === 'found' ? { ...own, scope: business } : own;
      this.#noOwnToken.set(business, this.#options.clock.now() + this.#options.maxAgeMs);
    }
    return this.#read(this.#options.tokenSecretId, parseTokenSecret, options);
  }

  backup(phoneNumberId: string): Promise<SecretLookup> {
    const prefix = this.#options.backupSecretPrefix;
    if (prefix === undefined) return Promise.resolve({ kind: 'malformed', problem: 'BACKUP_SECRET_PREFIX is not configured, so no backup can be read' });
    // Read for each migration, never cached: the backup is large and used once.
    return this.#fetch(`${prefix}${phoneNumberId}`, parseBackupSecret);
  }

  async createPin(phoneNumberId: string, pin: string): Promise<SecretLookup | { kind: 'exists' }> {
    const name = this.#pinSecretId(phoneNumberId);
    try {
      await this.#client.send(new CreateSecretCommand({ Name: name, SecretString: pin, Description: 'Two-step PIN provisioned by wa-registrar' }));
    } catch (error) {
      if (error instanceof ResourceExistsException) return { kind: 'exists' };
      throw error;
    }
    this.#cache.delete(name);
    return this.pin(phoneNumberId, { fresh: true });
  }

  pin(phoneNumberId: string, options: SecretReadOptions = {}): Promise<SecretLookup> {
    return this.#read(this.#pinSecretId(phoneNumberId), parsePinSecret, options);
  }

  evict(target: { token?: boolean | string; pinOf?: string }): void {
    if (target.token === true) this.#cache.delete(this.#options.tokenSecretId);
    if (typeof target.token === 'string' && this.#options.tokenSecretPrefix !== undefined) this.#cache.delete(`${this.#options.tokenSecretPrefix}${target.token}`);
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
