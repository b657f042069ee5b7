import type { Clock } from '../../../shared/clock.ts';
import type { SecretLookup, SecretStore } from '../../../shared/secrets/port.ts';
import { simulatorDigest } from '../../../tools/graph-simulator.ts';

type Stored = { kind: 'value'; value: string; version: string; createdAt: number } | { kind: 'malformed'; version: string };

/** One stored PIN version, as the invariants see it: the value's digest (never the value), when and in which order. */
export interface PinVersion {
  version: string;
  digest: string;
  /** Secrets Manager's CreatedDate: the model clock when it was stored. */
  createdAt: number;
  /** The model's global order (Records.nextSeq) when it was stored. */
  seq: number;
}

/** What every container's view shares: Secrets Manager itself. */
interface Backend {
  stored: Map<string, Stored>;
  pinVersions: Map<string, PinVersion[]>;
  versions: number;
}

/**
 * Secrets Manager plus one container's cache, in memory. Each store is a new version (a new version id, created at the
 * model clock's time), as PutSecretValue makes one. Cached values are served for `maxAgeMs` unless the caller asks for
 * `fresh`, so an operator's new PIN is not seen at once: exactly the window in which a stale PIN could be sent again.
 * `otherContainer()` is another Lambda's view (the event resolver's): same secrets, its own cache.
 */
export class ModelSecretStore implements SecretStore {
  readonly #clock: Clock;
  readonly #maxAgeMs: number;
  readonly #seq: () => number;
  readonly #backend: Backend;
  readonly #cache = new Map<string, { value: string; version: string; createdAt: number; at: number }>();

  constructor(clock: Clock, options: { maxAgeMs?: number; seq?: () => number } = {}, backend?: Backend) {
    this.#clock = clock;
    this.#maxAgeMs = options.maxAgeMs ?? 300_000;
    this.#seq = options.seq ?? (() => 0);
    this.#backend = backend ?? { stored: new Map(), pinVersions: new Map(), versions: 0 };
  }

  /** The same Secrets Manager seen from another container (its own cache). */
  otherContainer(): ModelSecretStore {
    return new ModelSecretStore(this.#clock, { maxAgeMs: this.#maxAgeMs, seq: this.#seq }, this.#backend);
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
    const version = this.#put(`pin:${phoneNumberId}`, value);
    const versions = this.#backend.pinVersions.get(phoneNumberId) ?? [];
    versions.push({ version, digest: simulatorDigest(value), createdAt: this.#clock.now(), seq: this.#seq() });
    this.#backend.pinVersions.set(phoneNumberId, versions);
    return version;
  }

  /** Stores something that is not a 6-digit PIN (e.g. `{"pin":12345}`): the store reports it as malformed. */
  storeMalformedPin(phoneNumberId: string): string {
    const version = this.#nextVersion();
    this.#backend.stored.set(`pin:${phoneNumberId}`, { kind: 'malformed', version });
    return version;
  }

  deletePin(phoneNumberId: string): void {
    this.#backend.stored.delete(`pin:${phoneNumberId}`);
  }

  /** Whether a usable PIN is stored now. */
  hasPin(phoneNumberId: string): boolean {
    return this.#backend.stored.get(`pin:${phoneNumberId}`)?.kind === 'value';
  }

  /** Every usable PIN version ever stored for the number, oldest first. */
  pinVersions(phoneNumberId: string): readonly PinVersion[] {
    return this.#backend.pinVersions.get(phoneNumberId) ?? [];
  }

  /** The value stored now (not what a cache may still hold). */
  currentToken(): string | undefined {
    const stored = this.#backend.stored.get('token');
    return stored?.kind === 'value' ? stored.value : undefined;
  }

  #put(key: string, value: string): string {
    const version = this.#nextVersion();
    this.#backend.stored.set(key, { kind: 'value', value, version, createdAt: this.#clock.now() });
    return version;
  }

  #nextVersion(): string {
    this.#backend.versions += 1;
    return `ver-${this.#backend.versions}`;
  }

  #lookup(key: string, options: { fresh?: boolean }): SecretLookup {
    const now = this.#clock.now();
    const cached = this.#cache.get(key);
    if (!options.fresh && cached && now - cached.at < this.#maxAgeMs) {
      return { kind: 'found', value: cached.value, version: cached.version, fresh: false, createdAt: cached.createdAt };
    }
    const stored = this.#backend.stored.get(key);
    if (!stored) {
      this.#cache.delete(key);
      return { kind: 'missing' };
    }
    if (stored.kind === 'malformed') {
      this.#cache.delete(key);
      return { kind: 'malformed', problem: 'the secret is not a 6-digit string (nor {"pin":"dddddd"})' };
    }
    // Only found values are cached, as in the production store.
    this.#cache.set(key, { value: stored.value, version: stored.version, createdAt: stored.createdAt, at: now });
    return { kind: 'found', value: stored.value, version: stored.version, fresh: true, createdAt: stored.createdAt };
  }
}
