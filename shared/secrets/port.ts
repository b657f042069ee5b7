/**
 * A secret read: found with a usable value and its Secrets Manager version, absent, or present but unusable
 * (the problem says why, without the value). `fresh` is true when the value was read from Secrets Manager for
 * this call rather than taken from the cache.
 */
export type SecretLookup =
  | {
      kind: 'found';
      value: string;
      version: string;
      fresh: boolean;
      /** When this version was stored (Secrets Manager's CreatedDate): a PIN changed elsewhere is stale before it. */
      createdAt?: number;
      /** Tokens only: the business whose own token this is (TOKEN_SECRET_PREFIX + id); absent for the default token. */
      scope?: string;
    }
  | { kind: 'missing' }
  | { kind: 'malformed'; problem: string };

export interface SecretReadOptions {
  /** Skip the cache: a hold or gate names the cached version, and a newer one may have been stored. */
  fresh?: boolean;
}

/** Which token: a business's own (TOKEN_SECRET_PREFIX + id, when it exists), else the default (TOKEN_SECRET_ID). */
export interface TokenReadOptions extends SecretReadOptions {
  businessAccountId?: string;
}

/** Where the Graph token and each number's two-step PIN live. Values never leave the worker except to Graph. */
export interface SecretStore {
  accessToken(options?: TokenReadOptions): Promise<SecretLookup>;
  /** The number's 6-digit PIN, as a string so a leading zero survives. */
  pin(phoneNumberId: string, options?: SecretReadOptions): Promise<SecretLookup>;
  /** Forgets cached values Meta refused (133005/133008/133009 for a PIN, 190/0 for a token: `true` the default, or a business's). */
  evict(target: { token?: boolean | string; pinOf?: string }): void;
}

/** The number's other secrets the worker needs for some jobs: a migration's backup, a PIN it provisions. */
export interface NumberSecrets {
  /** The On-Premises backup (JSON `{"data": "…", "password": "…"}` as its value), from BACKUP_SECRET_PREFIX + id. */
  backup(phoneNumberId: string): Promise<SecretLookup>;
  /** Stores `pin` as the number's PIN secret only if it has none; `exists` when one is there (read it instead). */
  createPin(phoneNumberId: string, pin: string): Promise<SecretLookup | { kind: 'exists' }>;
}
