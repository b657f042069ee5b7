import { z } from 'zod';
import { isLoopbackUrl } from './loopback.ts';

/** The token travels to this URL: https, or plain http to this machine only (the local run and the tests). */
function isHttpsOrLoopback(raw: string): boolean {
  return raw.startsWith('https://') || (raw.startsWith('http://') && isLoopbackUrl(raw));
}

const booleanFromEnv = z
  .enum(['true', 'false'], { error: 'must be "true" or "false"' })
  .transform((value) => value === 'true');

const positiveInt = (min: number, max: number) =>
  z.coerce.number().int(`must be a whole number`).min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

/**
 * The worker's environment. Parsed once at module load; a bad value fails the cold start
 * with a message naming every bad variable (values are never printed: some are secret names).
 */
export const workerConfigSchema = z.object({
  GRAPH_API_BASE_URL: z
    .url({ error: 'must be an http(s) URL' })
    .refine(isHttpsOrLoopback, 'must be https (plain http only for a loopback address: the token travels in its headers)')
    .default('https://graph.facebook.com'),
  GRAPH_API_VERSION: z
    .string()
    .regex(/^v\d+\.\d+$/, 'must look like v25.0')
    .default('v25.0'),
  GRAPH_TIMEOUT_MS: positiveInt(1000, 120_000).default(30_000),
  LEDGER_TABLE_NAME: z.string({ error: 'is required' }).min(1, 'is required'),
  /** The job queue itself: the worker sets a failed job's retry delay on it. */
  JOB_QUEUE_URL: z.url({ error: 'is required (an SQS queue URL)' }),
  DEAD_LETTER_QUEUE_URL: z.url({ error: 'is required (an SQS queue URL)' }),
  TOKEN_SECRET_ID: z.string({ error: 'is required' }).min(1, 'is required'),
  PIN_SECRET_PREFIX: z.string({ error: 'is required' }).min(1, 'is required'),
  /** Solution Partners: a business's own token is the secret TOKEN_SECRET_PREFIX + its WABA id, when it exists. */
  TOKEN_SECRET_PREFIX: z.string().min(1).optional(),
  /** Migrations: a number's On-Premises backup is the secret BACKUP_SECRET_PREFIX + phoneNumberId. */
  BACKUP_SECRET_PREFIX: z.string().min(1).optional(),
  ATTEMPT_LIMIT: positiveInt(1, 10).default(10),
  ATTEMPT_WINDOW_HOURS: positiveInt(1, 24 * 14).default(72),
  ATTEMPT_BUDGET_SHARED: booleanFromEnv.default(true),
  /** Added to the window in every budget check, eligibleAt and status: a slot frees this much later than the bare window says. */
  WINDOW_MARGIN_MINUTES: positiveInt(0, 24 * 60).default(15),
  /** Requests with an unknown or transient outcome one job may make before it is dead-lettered (Meta: 1-2 more tries). */
  TRANSIENT_ATTEMPTS_PER_JOB: positiveInt(1, 10).default(3),
  /** How long a PIN lockout (133008/133009) holds when Meta's details give no readable time. */
  PIN_LOCK_HOURS: positiveInt(1, 24 * 14).default(24),
  /** The Lambda's timeout (the stack sets it): a request is started only with room to finish it. */
  WORKER_TIMEOUT_SECONDS: positiveInt(10, 900).default(180),
  /** The job queue's maxReceiveCount (the stack sets it): MAX_DELIVERIES must stay below it. */
  JOB_QUEUE_MAX_RECEIVES: positiveInt(2, 1000).default(10),
  /** Block length after a 133016; Meta documents 72 h. */
  BLOCK_HOURS: positiveInt(1, 24 * 14).default(72),
  SECRET_CACHE_SECONDS: positiveInt(0, 3600).default(300),
  /** Deliveries whose state read failed before the job is dead-lettered (nothing is sent on an unknown state). */
  MAX_DELIVERIES: positiveInt(1, 50).default(6),
  /** How long a worker owns a job it started; a crashed worker's job is taken over after this. */
  JOB_LEASE_SECONDS: positiveInt(30, 43_200).default(900),
  /** How long a finished job's idempotency record is kept. */
  JOB_RECORD_DAYS: positiveInt(1, 365).default(14),
});

/** Each AWS SDK call may take this long (request timeout) this many times (maxAttempts): see aws-clients.ts. */
const AWS_CALL_WORST_MS = 5_000 * 3;
/** AWS calls around one request: the reservation, then reading and writing the answer (with one conflict). */
const AWS_CALLS_PER_REQUEST = 5;

/**
 * The longest one request can hold a job: its reservation, the Graph call at its timeout, and recording the answer.
 * The worker starts a request only with this much time left, and a lease must outlast it.
 */
export function worstCaseRequestMs(config: Pick<WorkerConfig, 'GRAPH_TIMEOUT_MS'>): number {
  return config.GRAPH_TIMEOUT_MS + AWS_CALLS_PER_REQUEST * AWS_CALL_WORST_MS;
}

/** Settings that are valid alone but not together. Each message names the variables. */
function crossCheck(config: WorkerConfig): string[] {
  const problems: string[] = [];
  const worst = worstCaseRequestMs(config);
  if (config.BLOCK_HOURS < config.ATTEMPT_WINDOW_HOURS) problems.push('BLOCK_HOURS must be at least ATTEMPT_WINDOW_HOURS (a 133016 blocks for the whole window)');
  if (config.JOB_LEASE_SECONDS * 1000 <= worst) problems.push(`JOB_LEASE_SECONDS must exceed the worst-case request (${Math.ceil(worst / 1000)} s with GRAPH_TIMEOUT_MS)`);
  if (config.WORKER_TIMEOUT_SECONDS * 1000 <= worst) problems.push(`WORKER_TIMEOUT_SECONDS must exceed the worst-case request (${Math.ceil(worst / 1000)} s with GRAPH_TIMEOUT_MS)`);
  const prefixes = [['PIN_SECRET_PREFIX', config.PIN_SECRET_PREFIX], ['TOKEN_SECRET_PREFIX', config.TOKEN_SECRET_PREFIX], ['BACKUP_SECRET_PREFIX', config.BACKUP_SECRET_PREFIX]] as const;
  for (const [name, prefix] of prefixes) {
    for (const [other, otherPrefix] of prefixes) {
      if (name !== other && prefix !== undefined && otherPrefix !== undefined && otherPrefix.startsWith(prefix)) {
        problems.push(`${other} must not start with ${name}: a number's secret could be read as another kind of secret`);
      }
    }
  }
  if (config.MAX_DELIVERIES >= config.JOB_QUEUE_MAX_RECEIVES) problems.push('MAX_DELIVERIES must be below JOB_QUEUE_MAX_RECEIVES, so the worker dead-letters before SQS moves a job without its envelope');
  return problems;
}

export type WorkerConfig = z.output<typeof workerConfigSchema>;

/** Thrown when the environment is invalid. Lists variable names and problems, never values. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parses an environment with a zod schema. Empty strings count as unset, so `FOO=` falls back to the
 * default or fails as missing. The error names every bad variable and never prints a value.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}

/** Reads and validates the worker's environment. */
export function loadConfig(env: Record<string, string | undefined>): WorkerConfig {
  const config = parseEnv(workerConfigSchema, env);
  const problems = crossCheck(config);
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return config;
}
