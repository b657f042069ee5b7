/**
 * Field names whose value is a secret: a PIN, the Graph token, a credential. The one list for everything that
 * finds a secret by its name: the job schema (a job carrying one is refused), the logger's replacer and the
 * CLI's output backstop. A name matches whole, in any case, with or without `_`/`-` between its words
 * (`accessToken`, `access_token`, `ACCESS-TOKEN`).
 */
const SECRET_FIELD_NAMES = ['pin', 'token', 'accessToken', 'authorization', 'password', 'secret', 'secretString'] as const;

const normalise = (name: string) => name.toLowerCase().replace(/[_-]/g, '');
const NORMALISED: ReadonlySet<string> = new Set(SECRET_FIELD_NAMES.map(normalise));

/** Whether a field name is one of {@link SECRET_FIELD_NAMES}. */
export function isSecretFieldName(name: string): boolean {
  return NORMALISED.has(normalise(name));
}

/**
 * A regular-expression alternation of the names, for finding `name=value` or `"name": value` in text; use it
 * with the `i` flag. `accessToken` becomes `access[_-]?token`.
 */
export const SECRET_FIELD_PATTERN = SECRET_FIELD_NAMES.map((name) => name.replace(/([a-z])([A-Z])/g, '$1[_-]?$2').toLowerCase()).join('|');
