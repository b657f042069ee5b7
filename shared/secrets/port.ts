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
    }
  | { kind: 'missing' }
  | { kind: 'malformed'; problem: string };

export interface SecretReadOptions {
  /** Skip the cache: a hold or gate names the cached version, and a newer one may have been stored. */
  fresh?: boolean;
}

/** Where the Graph token and each number's two-step PIN live. Values never leave the worker except to Graph. */
export interface SecretStore {
  accessToken(options?: SecretReadOptions): Promise<SecretLookup>;
  /** The number's 6-digit PIN, as a string so a leading zero survives. */
  pin(phoneNumberId: string, options?: SecretReadOptions): Promise<SecretLookup>;
  /** Forgets cached values Meta refused (133005/133008/133009 for a PIN, 190/0 for the token). */
  evict(target: { token?: boolean; pinOf?: string }): void;
}
