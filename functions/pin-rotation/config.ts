import { parseEnv, workerConfigSchema } from '../../shared/config.ts';

/**
 * The PIN rotation function's environment, parsed once at module load. The worker's own variables with the worker's
 * rules: the Graph settings (the token goes only to https or this machine), the ledger, the token and the PIN secrets'
 * prefix; the window and margin only size the ledger item's lifetime, as the worker does.
 */
const pinRotationConfigSchema = workerConfigSchema.pick({
  GRAPH_API_BASE_URL: true,
  GRAPH_API_VERSION: true,
  GRAPH_TIMEOUT_MS: true,
  LEDGER_TABLE_NAME: true,
  TOKEN_SECRET_ID: true,
  PIN_SECRET_PREFIX: true,
  ATTEMPT_WINDOW_HOURS: true,
  WINDOW_MARGIN_MINUTES: true,
});

export type PinRotationConfig = ReturnType<typeof loadPinRotationConfig>;

/** Reads and validates the environment; throws naming every bad variable, never a value. */
export function loadPinRotationConfig(env: Record<string, string | undefined>) {
  return parseEnv(pinRotationConfigSchema, env);
}
