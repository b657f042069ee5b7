import type { Clock } from '../../../shared/clock.ts';
import type { SecretLookup, SecretStore } from '../../../shared/secrets/port.ts';

type Stored = { kind: 'value'; value: string; version: string } | { kind: 'malformed'; version: string };

/**
 * Secrets Manager plus the worker's per-container cache, in memory. Each store is a new version (a new version id),
 * as PutSecretValue makes one. Cached values are served for `maxAgeMs` unless the caller asks for `fresh`, so an
 * operator's new PIN is not seen at once: exactly the window in which a stale PIN could be sent again.
 */
export class ModelSecretStore implements SecretStore {
  readonly #clock: Clock;
  readonly #maxAgeMs: number;
  readonly #stored = new Map<string, Stored>();
  readonly #cache = new Map<string, { value: string; version: string; at: number }>();
  #versions = 0;

  constructor(clock: Clock, options: { maxAgeMs?: number } = {}) {
    this.#clock = clock;
    this.#maxAgeMs = options.maxAgeMs ?? 300_000;
  }

  accessToken(options: { fresh?: boolean } = {}): Promise<SecretLookup> {
    return Promise.resolve(this.#lookup('token', options));
  }

  pin(phoneNumberId: string, options: { fresh?: boolean } = {}): Promise<SecretLookup> {
    return Promise.resolve(this.#lookup(`pin:${phoneNumberId}`, options));
  }

  evict(target: { token?: boolean; pinOf?: string }): void {
    if (target.token) this.#cache.delete('token');
    if (target.pinOf !== undefined) this.#cache.delete(`pin:${target.pinOf}`);
  }

  // Operator actions (not part of the port).

  /** Stores a new token version; returns its version id. */
  storeToken(value: string): string {
    return this.#put('token', value);
  }

  storePin(phoneNumberId: string, value: string): string {
    return this.#put(`pin:${phoneNumberId}`, value);
  }

  /** Stores something that is not a 6-digit PIN (e.g. `{"pin":12345}`): the store reports it as malformed. */
  storeMalformedPin(phoneNumberId: string): string {
    const version = this.#nextVersion();
    this.#stored.set(`pin:${phoneNumberId}`, { kind: 'malformed', version });
    return version;
  }

  deletePin(phoneNumberId: string): void {
    this.#stored.delete(`pin:${phoneNumberId}`);
  }

  /** Whether a usable PIN is stored now. */
  hasPin(phoneNumberId: string): boolean {
    return this.#stored.get(`pin:${phoneNumberId}`)?.kind === 'value';
  }

  /** The value stored now (not what a cache may still hold). */
  currentToken(): string | undefined {
    const stored = this.#stored.get('token');
    return stored?.kind === 'value' ? stored.value : undefined;
  }

  #put(key: string, value: string): string {
    const version = this.#nextVersion();
    this.#stored.set(key, { kind: 'value', value, version });
    return version;
  }

  #nextVersion(): string {
    this.#versions += 1;
    return `ver-${this.#versions}`;
  }

  #lookup(key: string, options: { fresh?: boolean }): SecretLookup {
    const now = this.#clock.now();
    const cached = this.#cache.get(key);
    if (!options.fresh && cached && now - cached.at < this.#maxAgeMs) {
      return { kind: 'found', value: cached.value, version: cached.version, fresh: false };
    }
    const stored = this.#stored.get(key);
    if (!stored) {
      this.#cache.delete(key);
      return { kind: 'missing' };
    }
    if (stored.kind === 'malformed') {
      this.#cache.delete(key);
      return { kind: 'malformed', problem: 'the secret is not a 6-digit string (nor {"pin":"dddddd"})' };
    }
    // Only found values are cached, as in the production store.
    this.#cache.set(key, { value: stored.value, version: stored.version, at: now });
    return { kind: 'found', value: stored.value, version: stored.version, fresh: true };
  }
}
