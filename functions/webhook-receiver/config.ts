import { z } from 'zod';
import { ConfigError, parseEnv } from '../../shared/config.ts';

const KIB = 1024;
const MIB = 1024 * KIB;

const wholeNumber = (min: number, max: number) =>
  z.coerce.number().int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);
const required = z.string({ error: 'is required' }).min(1, 'is required');

/**
 * The webhook receiver's environment, parsed once at module load. The error names each bad variable and never
 * prints a value.
 */
export const receiverConfigSchema = z.object({
  /** Secrets Manager id of the Meta app secret (plain, or JSON `{"appSecret": ...}`): the signature key. */
  APP_SECRET_ID: required,
  /** Secrets Manager id of the handshake's verify token (plain, or JSON `{"verifyToken": ...}`). */
  VERIFY_TOKEN_SECRET_ID: required,
  /** The bus the events go to. */
  EVENT_BUS_NAME: required,
  /** The change log table (partition key `changeId` S, TTL attribute `expiresAt`). */
  WEBHOOK_CHANGES_TABLE_NAME: required,
  /**
   * Larger bodies are refused with 413 before they are hashed. Meta documents bodies of up to 3 MB; a refused genuine
   * body is redelivered for 7 days and then lost, so the default leaves room above that. Lambda's 6 MB request
   * payload is the ceiling.
   */
  MAX_WEBHOOK_BYTES: wholeNumber(64 * KIB, 6 * MIB).default(4 * MIB),
  SECRET_CACHE_SECONDS: wholeNumber(0, 3600).default(300),
  /**
   * A claim older than this belongs to a delivery that died between claiming and publishing, and is taken over.
   * Must exceed the function's timeout, or a slow live delivery could be overtaken (a duplicate, never a loss).
   */
  CLAIM_TIMEOUT_SECONDS: wholeNumber(5, 900).default(60),
  /** How long a change's marker is kept. Meta redelivers for 7 days, so at least 8. */
  CHANGE_RECORD_DAYS: wholeNumber(8, 365).default(8),
  /** How long a delivery waits for a concurrent duplicate to finish publishing before answering 500 (Meta redelivers). */
  IN_PROGRESS_WAIT_MS: wholeNumber(0, 10_000).default(1_000),
});

export type ReceiverConfig = z.output<typeof receiverConfigSchema>;

/** Reads and validates the receiver's environment; throws naming every bad variable. */
export function loadReceiverConfig(env: Record<string, string | undefined>): ReceiverConfig {
  const config = parseEnv(receiverConfigSchema, env);
  if (config.IN_PROGRESS_WAIT_MS >= config.CLAIM_TIMEOUT_SECONDS * 1000) {
    throw new ConfigError('invalid configuration: IN_PROGRESS_WAIT_MS must be below CLAIM_TIMEOUT_SECONDS');
  }
  return config;
}
