import type { Clock } from '../../../shared/clock.ts';
import { STAGE } from '../../../shared/pins/pin-secret.ts';
import type { PinSecretInfo, PinSecretValue, PinVault } from '../../../shared/pins/vault.ts';
import type { SecretLookup, SecretStore, TokenReadOptions } from '../../../shared/secrets/port.ts';
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

/** One stored token version: whose token (a business's own, or the default), and its value's digest. */
export interface TokenVersion {
  /** The business whose own token this is (TOKEN_SECRET_PREFIX + id); undefined for the default token. */
  scope: string | undefined;
  version: string;
  digest: string;
  /** The model's global order when it was stored. */
  seq: number;
}

/** What every container's view shares: Secrets Manager itself. */
interface Backend {
  /** The AWSCURRENT version of each secret: `token`, `token:<waba>`, `pin:<id>`. */
  stored: Map<string, Stored>;
  pinVersions: Map<string, PinVersion[]>;
  versions: number;
  /** Every PIN value stored, by version id (GetSecretValue by VersionId). */
  pinValues: Map<string, { phoneNumberId: string; value: string; createdAt: number }>;
  /** The version labelled AWSPENDING, per number (a rotation's new PIN). */
  pending: Map<string, string>;
  /** The version labelled AWSPREVIOUS, per number. */
  previous: Map<string, string>;
  /** Versions a rotation moved AWSCURRENT to (AWSPENDING may stay on them, as Secrets Manager allows). */
  finished: Set<string>;
  tokenVersions: TokenVersion[];
}

/** The model's PIN secret names: the worker's PIN_SECRET_PREFIX (see modelConfig). */
export const MODEL_PIN_PREFIX = 'model/pin/';
const arnOf = (name: string) => `arn:aws:secretsmanager:eu-west-1:000000000000:secret:${name}-Model1`;

/**
 * Secrets Manager plus one container's cache, in memory. Each store is a new version (a new version id, created at the
 * model clock's time), as PutSecretValue makes one. Cached values are served for `maxAgeMs` unless the caller asks for
 * `fresh`, so an operator's new PIN is not seen at once: exactly the window in which a stale PIN could be sent again.
 * `otherContainer()` is another Lambda's view (the event resolver's): same secrets, its own cache.
 *
 * Tokens: the default token, and a business's own token (TOKEN_SECRET_PREFIX + WABA id) when one is stored, as
 * SecretsManagerStore reads them (without its "no own token" negative cache: a token stored by a step is seen by the
 * next lookup). PINs: `pinVault()` is the rotation's view of the same secrets, with AWSCURRENT/AWSPENDING staging.
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
    this.#backend = backend ?? { stored: new Map(), pinVersions: new Map(), versions: 0, pinValues: new Map(), pending: new Map(), previous: new Map(), finished: new Set(), tokenVersions: [] };
  }

  /** The same Secrets Manager seen from another container (its own cache). */
  otherContainer(): ModelSecretStore {
    return new ModelSecretStore(this.#clock, { maxAgeMs: this.#maxAgeMs, seq: this.#seq }, this.#backend);
  }

  accessToken(options: TokenReadOptions = {}): Promise<SecretLookup> {
    const business = options.businessAccountId;
    if (business !== undefined) {
      const own = this.#lookup(`token:${business}`, options);
      if (own.kind !== 'missing') return Promise.resolve(own.kind === 'found' ? { ...own, scope: business } : own);
    }
    return Promise.resolve(this.#lookup('token', options));
  }

  pin(phoneNumberId: string, options: { fresh?: boolean } = {}): Promise<SecretLookup> {
    return Promise.resolve(this.#lookup(`pin:${phoneNumberId}`, options));
  }

  evict(target: { token?: boolean | string; pinOf?: string }): void {
    if (target.token === true) this.#cache.delete('token');
    if (typeof target.token === 'string') this.#cache.delete(`token:${target.token}`);
    if (target.pinOf !== undefined) this.#cache.delete(`pin:${target.pinOf}`);
  }

  // Operator actions (not part of the port).

  /** Stores a new version of the default token, or of `businessAccountId`'s own token; returns its version id. */
  storeToken(value: string, businessAccountId?: string): string {
    const version = this.#put(businessAccountId === undefined ? 'token' : `token:${businessAccountId}`, value);
    this.#backend.tokenVersions.push({ scope: businessAccountId, version, digest: simulatorDigest(value), seq: this.#seq() });
    return version;
  }

  storePin(phoneNumberId: string, value: string): string {
    const key = `pin:${phoneNumberId}`;
    const before = this.#backend.stored.get(key);
    const version = this.#put(key, value);
    if (before) this.#backend.previous.set(phoneNumberId, before.version);
    this.#addPinVersion(phoneNumberId, version, value);
    return version;
  }

  /** Stores something that is not a 6-digit PIN (e.g. `{"pin":12345}`): the store reports it as malformed. */
  storeMalformedPin(phoneNumberId: string): string {
    const version = this.#nextVersion();
    this.#backend.stored.set(`pin:${phoneNumberId}`, { kind: 'malformed', version });
    return version;
  }

  /** Deletes the PIN secret, every version with it. */
  deletePin(phoneNumberId: string): void {
    this.#backend.stored.delete(`pin:${phoneNumberId}`);
    this.#backend.pending.delete(phoneNumberId);
    this.#backend.previous.delete(phoneNumberId);
  }

  /** Whether a usable PIN is stored now. */
  hasPin(phoneNumberId: string): boolean {
    return this.#backend.stored.get(`pin:${phoneNumberId}`)?.kind === 'value';
  }

  /** Every usable PIN version ever stored for the number, oldest first. */
  pinVersions(phoneNumberId: string): readonly PinVersion[] {
    return this.#backend.pinVersions.get(phoneNumberId) ?? [];
  }

  /**
   * Digests of the PINs labelled AWSCURRENT and AWSPENDING now (with their versions), for the invariants. A version
   * that was made AWSCURRENT by a rotation is not pending any more, whatever label it still carries.
   */
  pinStages(phoneNumberId: string): { current?: { version: string; digest: string }; pending?: { version: string; digest: string } } {
    const stored = this.#backend.stored.get(`pin:${phoneNumberId}`);
    const pendingVersion = this.#backend.pending.get(phoneNumberId);
    const pending = pendingVersion === undefined || this.#backend.finished.has(pendingVersion) ? undefined : this.#backend.pinValues.get(pendingVersion);
    return {
      ...(stored?.kind === 'value' ? { current: { version: stored.version, digest: simulatorDigest(stored.value) } } : {}),
      ...(pending && pendingVersion !== undefined ? { pending: { version: pendingVersion, digest: simulatorDigest(pending.value) } } : {}),
    };
  }

  /** The value stored now (not what a cache may still hold): the default token, or a business's own. */
  currentToken(businessAccountId?: string): string | undefined {
    const stored = this.#backend.stored.get(businessAccountId === undefined ? 'token' : `token:${businessAccountId}`);
    return stored?.kind === 'value' ? stored.value : undefined;
  }

  /** The AWSCURRENT version id of a token secret (the default's, or a business's own), when it has one. */
  currentTokenVersion(businessAccountId?: string): string | undefined {
    return this.#backend.stored.get(businessAccountId === undefined ? 'token' : `token:${businessAccountId}`)?.version;
  }

  /** The AWSCURRENT version of the number's PIN secret and when it was stored (metadata only). */
  currentPinVersion(phoneNumberId: string): { version: string; createdAt?: number } | undefined {
    const stored = this.#backend.stored.get(`pin:${phoneNumberId}`);
    if (!stored) return undefined;
    return stored.kind === 'value' ? { version: stored.version, createdAt: stored.createdAt } : { version: stored.version };
  }

  /** Which token (whose, which version) a digest is, if the model ever stored it. */
  tokenOf(digest: string | undefined): TokenVersion | undefined {
    return this.#backend.tokenVersions.find((version) => version.digest === digest);
  }

  /** Every token version stored for `scope` (a business's own, or the default: undefined). */
  tokenVersions(scope: string | undefined): readonly TokenVersion[] {
    return this.#backend.tokenVersions.filter((version) => version.scope === scope);
  }

  /**
   * The PIN secrets as the rotation sees them (the PinVault port over the same Secrets Manager): versions with their
   * AWSCURRENT, AWSPENDING and AWSPREVIOUS labels, values by version id, and the label moves of the rotation contract.
   * As in Secrets Manager, moving AWSCURRENT leaves AWSPENDING on the new current version.
   */
  pinVault(): PinVault {
    const backend = this.#backend;
    const idOf = (secretId: string): string | undefined => {
      const name = secretId.startsWith('arn:') ? secretId.replace(/^arn:aws:secretsmanager:[^:]+:\d+:secret:/, '').replace(/-Model1$/, '') : secretId;
      return name.startsWith(MODEL_PIN_PREFIX) ? name.slice(MODEL_PIN_PREFIX.length) : undefined;
    };
    const existing = (secretId: string): { id: string; stored: Stored } => {
      const id = idOf(secretId);
      const stored = id === undefined ? undefined : backend.stored.get(`pin:${id}`);
      if (id === undefined || !stored) throw new Error(`ResourceNotFoundException: ${secretId}`);
      return { id, stored };
    };
    return {
      describe: async (secretId: string): Promise<PinSecretInfo | undefined> => {
        const id = idOf(secretId);
        const stored = id === undefined ? undefined : backend.stored.get(`pin:${id}`);
        if (id === undefined || !stored) return undefined;
        const stages: Record<string, string[]> = {};
        const label = (version: string | undefined, stage: string) => {
          if (version !== undefined) stages[version] = [...(stages[version] ?? []), stage];
        };
        label(stored.version, STAGE.current);
        label(backend.pending.get(id), STAGE.pending);
        label(backend.previous.get(id), STAGE.previous);
        const name = `${MODEL_PIN_PREFIX}${id}`;
        return { arn: arnOf(name), name, rotationEnabled: true, stages };
      },
      read: async (secretId: string, versionId?: string): Promise<PinSecretValue | undefined> => {
        const { stored } = existing(secretId);
        if (versionId === undefined || versionId === stored.version) {
          // A malformed current value reads as what it is: not a 6-digit PIN.
          return { versionId: stored.version, value: stored.kind === 'value' ? stored.value : '{"pin":12345}' };
        }
        const value = backend.pinValues.get(versionId);
        return value === undefined ? undefined : { versionId, value: value.value };
      },
      create: async (name: string): Promise<string> => {
        throw new Error(`the model's rotation never creates a secret (${name})`);
      },
      putCurrent: async (secretId: string, value: string): Promise<string> => this.storePin(existing(secretId).id, value),
      putPending: async (secretId: string, versionId: string, value: string): Promise<void> => {
        const { id } = existing(secretId);
        const known = backend.pinValues.get(versionId);
        if (known !== undefined && known.value !== value) throw new Error(`ResourceExistsException: version ${versionId} holds another value`);
        if (known === undefined) {
          backend.pinValues.set(versionId, { phoneNumberId: id, value, createdAt: this.#clock.now() });
          this.#addPinVersion(id, versionId, value);
        }
        backend.pending.set(id, versionId);
      },
      moveCurrent: async (secretId: string, toVersionId: string, fromVersionId: string): Promise<void> => {
        const { id, stored } = existing(secretId);
        if (stored.version !== fromVersionId) throw new Error(`InvalidParameterException: AWSCURRENT is not on ${fromVersionId}`);
        const next = backend.pinValues.get(toVersionId);
        if (!next) throw new Error(`InvalidParameterException: no version ${toVersionId}`);
        backend.stored.set(`pin:${id}`, { kind: 'value', value: next.value, version: toVersionId, createdAt: next.createdAt });
        backend.previous.set(id, fromVersionId);
        backend.finished.add(toVersionId);
      },
      dropPending: async (secretId: string, versionId: string): Promise<void> => {
        const { id } = existing(secretId);
        if (backend.pending.get(id) !== versionId) throw new Error(`InvalidParameterException: AWSPENDING is not on ${versionId}`);
        backend.pending.delete(id);
      },
    };
  }

  #addPinVersion(phoneNumberId: string, version: string, value: string): void {
    const versions = this.#backend.pinVersions.get(phoneNumberId) ?? [];
    versions.push({ version, digest: simulatorDigest(value), createdAt: this.#clock.now(), seq: this.#seq() });
    this.#backend.pinVersions.set(phoneNumberId, versions);
  }

  #put(key: string, value: string): string {
    const version = this.#nextVersion();
    const createdAt = this.#clock.now();
    this.#backend.stored.set(key, { kind: 'value', value, version, createdAt });
    if (key.startsWith('pin:')) this.#backend.pinValues.set(version, { phoneNumberId: key.slice(4), value, createdAt });
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
