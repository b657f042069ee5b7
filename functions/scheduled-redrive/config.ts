import { z } from 'zod';

/**
 * The scheduled redrive's environment, parsed once at module load. The error names each bad variable
 * and never prints a value.
 */
export const scheduledRedriveConfigSchema = z.object({
  JOB_QUEUE_URL: z.url({ error: 'is required (an SQS queue URL)' }),
  DEAD_LETTER_QUEUE_URL: z.url({ error: 'is required (an SQS queue URL)' }),
  /** Long-poll wait per DLQ receive: SQS short polls can miss messages. Tests against moto set 0. */
  DLQ_SCAN_WAIT_SECONDS: z.coerce.number().int().min(0).max(20).default(1),
});

export type ScheduledRedriveConfig = z.output<typeof scheduledRedriveConfigSchema>;

/** Reads and validates the environment; throws naming every bad variable. */
export function loadScheduledRedriveConfig(env: Record<string, string | undefined>): ScheduledRedriveConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = scheduledRedriveConfigSchema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
  throw new Error(`invalid configuration: ${problems.join('; ')}`);
}
