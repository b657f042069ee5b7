/** A secret read: found with a usable value, absent, or present but unusable (the problem says why, without the value). */
export type SecretLookup = { kind: 'found'; value: string } | { kind: 'missing' } | { kind: 'malformed'; problem: string };

/** Where the Graph token and each number's two-step PIN live. Values never leave the worker except to Graph. */
export interface SecretStore {
  accessToken(): Promise<SecretLookup>;
  /** The number's 6-digit PIN, as a string so a leading zero survives. */
  pin(phoneNumberId: string): Promise<SecretLookup>;
}
