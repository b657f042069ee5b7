import { z } from 'zod';

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
  GRAPH_API_BASE_URL: z.url({ error: 'must be an http(s) URL' }).default('https://graph.facebook.com'),
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
  ATTEMPT_LIMIT: positiveInt(1, 10).default(10),
  ATTEMPT_WINDOW_HOURS: positiveInt(1, 24 * 14).default(72),
  ATTEMPT_BUDGET_SHARED: booleanFromEnv.default(true),
  /** Block length after a 133016; Meta documents 72 h. */
  BLOCK_HOURS: positiveInt(1, 24 * 14).default(72),
  SECRET_CACHE_SECONDS: positiveInt(0, 3600).default(300),
  /** Transient failures retried this many deliveries before the job is dead-lettered with its history. */
  MAX_DELIVERIES: positiveInt(1, 50).default(6),
  /** How long a worker owns a job it started; a crashed worker's job is taken over after this. */
  JOB_LEASE_SECONDS: positiveInt(30, 43_200).default(900),
  /** How long a finished job's idempotency record is kept. */
  JOB_RECORD_DAYS: positiveInt(1, 365).default(14),
});

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
  return parseEnv(workerConfigSchema, env);
}
