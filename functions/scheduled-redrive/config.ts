import { z } from 'zod';
import { parseEnv } from '../../shared/config.ts';

/**
 * The scheduled redrive's environment, parsed once at module load. The error names each bad variable
 * and never prints a value.
 */
const scheduledRedriveConfigSchema = z.object({
  JOB_QUEUE_URL: z.url({ error: 'is required (an SQS queue URL)' }),
  DEAD_LETTER_QUEUE_URL: z.url({ error: 'is required (an SQS queue URL)' }),
  /** The attempt ledger: held dead letters go back once their hold or gate is gone from it. */
  LEDGER_TABLE_NAME: z.string({ error: 'is required' }).min(1, 'is required'),
  /** The token secret: a token_rejected dead letter goes back once a new version is current (ListSecretVersionIds only). */
  TOKEN_SECRET_ID: z.string({ error: 'is required' }).min(1, 'is required'),
  /** PIN secrets are PIN_SECRET_PREFIX + phoneNumberId: a PIN hold lifts once a new version is current. */
  PIN_SECRET_PREFIX: z.string({ error: 'is required' }).min(1, 'is required'),
  /** A business's own token is TOKEN_SECRET_PREFIX + its WABA id: its gate lifts once a new version is current. */
  TOKEN_SECRET_PREFIX: z.string().min(1).optional(),
  /** Long-poll wait per DLQ receive: SQS short polls can miss messages. Tests against moto set 0. */
  DLQ_SCAN_WAIT_SECONDS: z.coerce.number().int().min(0).max(20).default(1),
});

export type ScheduledRedriveConfig = z.output<typeof scheduledRedriveConfigSchema>;

/** Reads and validates the environment; throws naming every bad variable. */
export function loadScheduledRedriveConfig(env: Record<string, string | undefined>): ScheduledRedriveConfig {
  return parseEnv(scheduledRedriveConfigSchema, env);
}
