import type { Node } from 'constructs';

/**
 * Deployment settings, read from CDK context (`cdk.json` defaults, overridden with `-c key=value`).
 * Validated once, when the app is built, so a typo fails `cdk synth` instead of a cold start.
 */
export interface RegistrarConfig {
  /** Short name of the deployment (`dev`, `prod`); part of the stack name. */
  readonly stage: string;
  readonly graphApiVersion: string;
  readonly graphApiBaseUrl: string;
  /** Name of the Secrets Manager secret holding the system-user token, `{stage}` filled in. Never created by the stack. */
  readonly tokenSecretName: string;
  /** PIN secrets are named `<pinSecretPrefix><phoneNumberId>`; `{stage}` filled in, ends in `/`. Never created by the stack. */
  readonly pinSecretPrefix: string;
  /**
   * A business's own Graph token (Solution Partners) is the secret `<tokenSecretPrefix><wabaId>`, used instead of the
   * token secret when it exists; `{stage}` filled in, ends in `/`. Never created by the stack.
   */
  readonly tokenSecretPrefix: string;
  /** A number's On-Premises backup (migrations) is the secret `<backupSecretPrefix><phoneNumberId>`; `{stage}` filled in, ends in `/`. Never created by the stack. */
  readonly backupSecretPrefix: string;
  /** Name of the secret holding the Meta app secret (the webhook signature key), `{stage}` filled in. Never created by the stack. */
  readonly appSecretName: string;
  /** Name of the secret holding the webhook subscription's verify token, `{stage}` filled in. Never created by the stack. */
  readonly verifyTokenSecretName: string;
  /** Subscribed to the alarm topic when set. */
  readonly alarmEmail: string | undefined;
  /** Upper bound on concurrent worker invocations fed by the job queue. */
  readonly maxConcurrency: number;
  readonly attemptLimit: number;
  readonly attemptBudgetShared: boolean;
  /** Deploys the scheduled DLQ redrive (rate 15 minutes). */
  readonly scheduledRedrive: boolean;
  /** Reserved concurrency of the public webhook receiver; 0 reserves none. */
  readonly webhookConcurrency: number;
  /**
   * Days between automatic PIN rotations that `wa-registrar pin rotate` attaches to a PIN secret (Secrets Manager's
   * AutomaticallyAfterDays); 0, the default, attaches none. The stack does not own the PIN secrets, so it cannot
   * schedule them itself: it deploys the rotation function and outputs this value for the CLI.
   */
  readonly pinRotationDays: number;
}

/** Every context key the app reads, in the order the docs list them. */
export const CONTEXT_KEYS = [
  'stage',
  'graphApiVersion',
  'graphApiBaseUrl',
  'tokenSecretName',
  'pinSecretPrefix',
  'tokenSecretPrefix',
  'backupSecretPrefix',
  'appSecretName',
  'verifyTokenSecretName',
  'alarmEmail',
  'maxConcurrency',
  'attemptLimit',
  'attemptBudgetShared',
  'scheduledRedrive',
  'webhookConcurrency',
  'pinRotationDays',
] as const satisfies readonly (keyof RegistrarConfig)[];

/** Written in a secret name, stands for the stage: each stage reads its own token and PINs by default. */
const STAGE_PLACEHOLDER = '{stage}';

/**
 * Defaults when a key is in neither `cdk.json` nor `-c`; `cdk.json` repeats them so they are visible.
 * The secret names are per stage: two stages in one account never share a token or a PIN (nor a budget: each
 * stage has its own ledger table).
 */
export const CONTEXT_DEFAULTS = {
  stage: 'dev',
  graphApiVersion: 'v25.0',
  graphApiBaseUrl: 'https://graph.facebook.com',
  tokenSecretName: `wa-registrar/${STAGE_PLACEHOLDER}/graph-token`,
  pinSecretPrefix: `wa-registrar/${STAGE_PLACEHOLDER}/pin/`,
  tokenSecretPrefix: `wa-registrar/${STAGE_PLACEHOLDER}/token/`,
  backupSecretPrefix: `wa-registrar/${STAGE_PLACEHOLDER}/backup/`,
  appSecretName: `wa-registrar/${STAGE_PLACEHOLDER}/meta-app-secret`,
  verifyTokenSecretName: `wa-registrar/${STAGE_PLACEHOLDER}/webhook-verify-token`,
  alarmEmail: '',
  maxConcurrency: 10,
  attemptLimit: 10,
  attemptBudgetShared: true,
  scheduledRedrive: true,
  webhookConcurrency: 10,
  pinRotationDays: 0,
} as const satisfies Record<(typeof CONTEXT_KEYS)[number], string | number | boolean>;

/** Thrown for bad context. The message names every bad key and how to fix it. */
export class ContextError extends Error {
  override readonly name = 'ContextError';
}

// Secrets Manager allows these characters in a name; `*` and `?` would turn our IAM ARN pattern into a wider wildcard.
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]+$/;

type Reader<T> = (raw: unknown) => T;

const text =
  (pattern: RegExp, rule: string, maxLength = 512): Reader<string> =>
  (raw) => {
    if (typeof raw !== 'string') throw new Error(`must be a string (${rule})`);
    if (raw.length > maxLength) throw new Error(`must be at most ${maxLength} characters`);
    if (!pattern.test(raw)) throw new Error(`must be ${rule}`);
    return raw;
  };

const integer =
  (min: number, max: number): Reader<number> =>
  (raw) => {
    // `-c maxConcurrency=20` arrives as a string, cdk.json gives a number.
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isInteger(value)) throw new Error(`must be a whole number from ${min} to ${max}`);
    if (value < min || value > max) throw new Error(`must be from ${min} to ${max} (got ${value})`);
    return value;
  };

const boolean: Reader<boolean> = (raw) => {
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new Error('must be true or false');
};

const httpsUrl: Reader<string> = (raw) => {
  if (typeof raw !== 'string') throw new Error('must be an https URL');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('must be an https URL');
  }
  if (url.protocol !== 'https:') throw new Error('must be an https URL (the token travels in its headers)');
  if (url.pathname !== '/' || url.search || url.hash) throw new Error('must be a bare origin such as https://graph.facebook.com (the version is graphApiVersion)');
  return url.origin;
};

/**
 * A secrets' prefix (the PIN secrets, the businesses' own tokens, the backups). A role granted on a prefix may use every
 * secret whose name starts with it, so it must name a folder of its own: it ends in `/` (`wa-registrar/prod/pin` would
 * also match `wa-registrar/prod/pins-old/…`), and it is at least 5 characters (`x/` and 3 more), so `/`, `a/` or `pin/`
 * never grant a whole account's or application's secrets. `example` shows the folder in the error.
 */
const PREFIX_MIN_LENGTH = 5;
const secretPrefix =
  (what: string, example: string): Reader<string> =>
  (raw) => {
    const value = text(SECRET_NAME, 'a Secrets Manager name prefix (letters, digits and /_+=.@-)', 400)(raw);
    if (!value.endsWith('/')) throw new Error(`must end in "/" (a folder of ${what}, such as ${example}; got ${JSON.stringify(value)})`);
    if (value.startsWith('/') || value.includes('//')) throw new Error(`must not start with "/" or contain "//" (got ${JSON.stringify(value)})`);
    if (value.length < PREFIX_MIN_LENGTH) {
      throw new Error(`must be at least ${PREFIX_MIN_LENGTH} characters, such as ${example}: a shorter prefix grants other secrets too (got ${JSON.stringify(value)})`);
    }
    return value;
  };

const optionalEmail: Reader<string | undefined> = (raw) => {
  if (raw === undefined || raw === '' || raw === false) return undefined;
  if (typeof raw !== 'string' || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(raw)) throw new Error('must be an e-mail address, or empty for none');
  return raw;
};

const readers: { [K in keyof RegistrarConfig]: Reader<RegistrarConfig[K]> } = {
  stage: text(/^[a-z][a-z0-9-]*$/, 'lower-case letters, digits and hyphens, starting with a letter', 20),
  graphApiVersion: text(/^v\d+\.\d+$/, 'a Graph API version such as v25.0', 10),
  graphApiBaseUrl: httpsUrl,
  tokenSecretName: text(SECRET_NAME, 'a Secrets Manager secret name (letters, digits and /_+=.@-)'),
  pinSecretPrefix: secretPrefix('PIN secrets', 'wa-registrar/prod/pin/'),
  tokenSecretPrefix: secretPrefix("businesses' own tokens", 'wa-registrar/prod/token/'),
  backupSecretPrefix: secretPrefix('On-Premises backups', 'wa-registrar/prod/backup/'),
  appSecretName: text(SECRET_NAME, 'a Secrets Manager secret name (letters, digits and /_+=.@-)'),
  verifyTokenSecretName: text(SECRET_NAME, 'a Secrets Manager secret name (letters, digits and /_+=.@-)'),
  alarmEmail: optionalEmail,
  // Lambda's SQS event source accepts a MaximumConcurrency from 2 to 1000.
  maxConcurrency: integer(2, 1000),
  // Meta allows 10 requests per number per window; a lower limit keeps slots for people acting by hand.
  attemptLimit: integer(1, 10),
  attemptBudgetShared: boolean,
  scheduledRedrive: boolean,
  // Meta's registration webhooks come a few a day; the cap keeps a flood of forged requests from taking the account's
  // concurrency. 0 reserves none (an account whose concurrency limit is too low to reserve any).
  webhookConcurrency: integer(0, 100),
  // Secrets Manager's AutomaticallyAfterDays is 1 to 1000; 0 schedules no rotation.
  pinRotationDays: integer(0, 1000),
};

/** Context keys whose value may name the stage as `{stage}`. */
const PER_STAGE_KEYS: readonly string[] = [
  'tokenSecretName',
  'pinSecretPrefix',
  'tokenSecretPrefix',
  'backupSecretPrefix',
  'appSecretName',
  'verifyTokenSecretName',
] satisfies (keyof RegistrarConfig)[];

/** The secrets named one by one: each role may read only its own, so no two may share a name or sit under a prefix. */
const SINGLE_SECRET_KEYS = ['tokenSecretName', 'appSecretName', 'verifyTokenSecretName'] as const satisfies readonly (keyof RegistrarConfig)[];

/** The secrets granted by prefix, and whose grant each is (for the error). */
const PREFIX_KEYS = { pinSecretPrefix: 'PIN', tokenSecretPrefix: 'business-token', backupSecretPrefix: 'backup' } as const satisfies Partial<Record<keyof RegistrarConfig, string>>;

/**
 * Reads and validates the app's context. Throws a {@link ContextError} naming every bad key.
 * Unset keys take {@link CONTEXT_DEFAULTS}; `{stage}` in a secret name is replaced by the stage.
 */
export function readConfig(node: Node): RegistrarConfig {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  const rawStage: unknown = node.tryGetContext('stage') ?? CONTEXT_DEFAULTS.stage;
  for (const key of CONTEXT_KEYS) {
    let raw: unknown = node.tryGetContext(key) ?? CONTEXT_DEFAULTS[key];
    if (PER_STAGE_KEYS.includes(key) && typeof raw === 'string' && typeof rawStage === 'string') raw = raw.replaceAll(STAGE_PLACEHOLDER, rawStage);
    try {
      config[key] = readers[key](raw);
    } catch (error) {
      problems.push(`${key} ${(error as Error).message}`);
    }
  }
  problems.push(...overlaps(config as Partial<RegistrarConfig>));
  if (problems.length > 0) {
    throw new ContextError(`invalid CDK context (set with -c key=value or in cdk.json): ${problems.join('; ')}`);
  }
  return config as unknown as RegistrarConfig;
}

/**
 * A grant on a prefix covers every name under it, so the secret names and prefixes must keep apart: no name or prefix
 * may start with a prefix (that grant would cover it: the PIN rotation, which may write PIN secrets, would reach the
 * business tokens under a PIN prefix), no prefix may start with a secret name (a folder of its own), and no two names may
 * be the same (each role reads its own secrets by exact name).
 */
function overlaps(valid: Partial<RegistrarConfig>): string[] {
  const problems: string[] = [];
  const prefixes = (Object.keys(PREFIX_KEYS) as (keyof typeof PREFIX_KEYS)[]).flatMap((key) => (typeof valid[key] === 'string' ? [[key, valid[key]] as const] : []));
  const names = SINGLE_SECRET_KEYS.flatMap((key) => (typeof valid[key] === 'string' ? [[key, valid[key]] as const] : []));
  for (const [key, name] of names) {
    for (const [prefixKey, prefix] of prefixes) {
      if (name.startsWith(prefix)) problems.push(`${key} must not start with ${prefixKey} (${JSON.stringify(prefix)}): the ${PREFIX_KEYS[prefixKey]} grant would cover it`);
    }
  }
  prefixes.forEach(([key, prefix], index) => {
    for (const [otherKey, other] of prefixes.slice(0, index)) {
      if (prefix === other) problems.push(`${key} must differ from ${otherKey} (both are ${JSON.stringify(prefix)})`);
      else if (prefix.startsWith(other)) problems.push(`${key} must not start with ${otherKey} (${JSON.stringify(other)}): the ${PREFIX_KEYS[otherKey]} grant would cover its secrets`);
      else if (other.startsWith(prefix)) problems.push(`${otherKey} must not start with ${key} (${JSON.stringify(prefix)}): the ${PREFIX_KEYS[key]} grant would cover its secrets`);
    }
    for (const [nameKey, name] of names) {
      if (prefix.startsWith(name)) problems.push(`${key} must not start with ${nameKey} (${JSON.stringify(name)}): a prefix names a folder of its own, apart from the secrets named one by one`);
    }
  });
  const seen = new Map<string, string>();
  for (const [key, name] of names) {
    // The worker reads the token and the receiver the webhook secrets: a shared name would give one the other's.
    const other = seen.get(name);
    if (other) problems.push(`${key} must differ from ${other} (both are ${JSON.stringify(name)})`);
    seen.set(name, key);
  }
  return problems;
}
