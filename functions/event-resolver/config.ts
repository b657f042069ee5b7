import { z } from 'zod';
import { parseEnv, workerConfigSchema } from '../../shared/config.ts';

const wholeNumber = (min: number, max: number) =>
  z.coerce.number().int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

/**
 * The event resolver's environment, parsed once at module load. The Graph settings, the ledger, the job queue and the
 * token are the worker's own variables with the worker's rules (the token goes only to https or this machine).
 */
const eventResolverConfigSchema = workerConfigSchema
  .pick({
    GRAPH_API_BASE_URL: true,
    GRAPH_API_VERSION: true,
    GRAPH_TIMEOUT_MS: true,
    LEDGER_TABLE_NAME: true,
    JOB_QUEUE_URL: true,
    TOKEN_SECRET_ID: true,
    TOKEN_SECRET_PREFIX: true,
    SECRET_CACHE_SECONDS: true,
  })
  .extend({
    /** Where events no retry can resolve go (an unknown number, a malformed event); also the buffer queue's DLQ. */
    EVENTS_DEAD_LETTER_QUEUE_URL: z.url({ error: 'is required (an SQS queue URL)' }),
    /** Days after a name approval by which the number must be registered again (Meta: 14). */
    NAME_DEADLINE_DAYS: wholeNumber(1, 30).default(14),
    /** A business's number list is read from Graph at most once per this many minutes (reads spend the WABA's budget). */
    LIST_REFRESH_MINUTES: wholeNumber(0, 24 * 60).default(5),
  });

export type EventResolverConfig = z.output<typeof eventResolverConfigSchema>;

/** Reads and validates the environment; throws naming every bad variable, never a value. */
export function loadEventResolverConfig(env: Record<string, string | undefined>): EventResolverConfig {
  return parseEnv(eventResolverConfigSchema, env);
}
