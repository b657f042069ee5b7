import { z } from 'zod';
import { parseEnv } from '../../shared/config.ts';

/** The deadline watch's environment; a bad value fails the cold start naming the variable. */
const deadlineWatchConfigSchema = z.object({
  LEDGER_TABLE_NAME: z.string({ error: 'is required' }).min(1, 'is required'),
  /** A deadline closer than this (and not met) raises NameDeadlineAtRisk. Meta's advice: alert by day 12 of 14. */
  DEADLINE_WARN_DAYS: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(13, 'must be at most 13').default(3),
});

export type DeadlineWatchConfig = z.output<typeof deadlineWatchConfigSchema>;

export const loadDeadlineWatchConfig = (env: Record<string, string | undefined>): DeadlineWatchConfig => parseEnv(deadlineWatchConfigSchema, env);
