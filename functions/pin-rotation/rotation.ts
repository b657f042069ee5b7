import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import { createAwsClients, type AwsClients } from '../../shared/aws-clients.ts';
import { HOUR_MS, MINUTE_MS, systemClock, type Clock } from '../../shared/clock.ts';
import { HttpGraphClient } from '../../shared/graph/http-graph-client.ts';
import type { GraphClient } from '../../shared/graph/port.ts';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import { createLogger } from '../../shared/observability.ts';
import { PinRotationError, ROTATION_STEPS, runRotationStep, SecretsManagerPinVault, type RotationDeps, type RotationStepResult } from '../../shared/pins/index.ts';
import { SecretsManagerStore } from '../../shared/secrets/secrets-manager-store.ts';
import type { PinRotationConfig } from './config.ts';

/** Secrets Manager's invocation: the secret, the new version's id and the step. Other fields (RotationToken) pass. */
const rotationEventSchema = z.looseObject({
  SecretId: z.string().min(1),
  ClientRequestToken: z.string().min(1),
  Step: z.enum(ROTATION_STEPS),
});

/** Parts tests may replace. */
export interface PinRotationOverrides {
  clock?: Clock;
  clients?: AwsClients;
  graph?: RotationDeps['graph'];
  logger?: Logger;
}

/** Builds the rotation's dependencies once per container; returns the function that handles one invocation. */
export function createPinRotation(config: PinRotationConfig, overrides: PinRotationOverrides = {}) {
  const clock = overrides.clock ?? systemClock;
  const clients = overrides.clients ?? createAwsClients();
  const graph: Pick<GraphClient, 'setPin' | 'readState'> =
    overrides.graph ?? new HttpGraphClient({ baseUrl: config.GRAPH_API_BASE_URL, version: config.GRAPH_API_VERSION, timeoutMs: config.GRAPH_TIMEOUT_MS, now: () => clock.now() });
  // The token only; the store's PIN reads are never used (the vault reads PIN versions by id).
  const secrets = new SecretsManagerStore(clients.secretsManager, { tokenSecretId: config.TOKEN_SECRET_ID, pinSecretPrefix: config.PIN_SECRET_PREFIX, maxAgeMs: 60_000, clock });
  const deps: RotationDeps = {
    vault: new SecretsManagerPinVault(clients.secretsManager),
    ledger: new DynamoDbAttemptLedger(clients.dynamodb, config.LEDGER_TABLE_NAME),
    graph,
    accessToken: () => secrets.accessToken(),
    clock,
    pinSecretPrefix: config.PIN_SECRET_PREFIX,
    policy: { windowMs: config.ATTEMPT_WINDOW_HOURS * HOUR_MS, marginMs: config.WINDOW_MARGIN_MINUTES * MINUTE_MS },
    requireRotationEnabled: true,
  };
  const logger = overrides.logger ?? createLogger();
  logger.appendPersistentKeys({ component: 'pin-rotation' });

  /** One step. A failed step throws, so Secrets Manager sees the rotation fail (and retries it with the same token). */
  const handleStep = async (event: unknown): Promise<RotationStepResult> => {
    const parsed = rotationEventSchema.safeParse(event);
    if (!parsed.success) {
      logger.error('not a Secrets Manager rotation event', { problems: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) });
      throw new Error('not a Secrets Manager rotation event (SecretId, ClientRequestToken, Step)');
    }
    const { SecretId, ClientRequestToken, Step } = parsed.data;
    try {
      const done = await runRotationStep({ SecretId, ClientRequestToken, Step }, deps);
      logger.info('rotation step done', { ...done });
      return done;
    } catch (error) {
      if (error instanceof PinRotationError) {
        const line = { step: error.step, kind: error.kind, secretId: SecretId, versionId: ClientRequestToken, detail: error.message, ...(error.code === undefined ? {} : { code: error.code }), ...(error.fbtraceId ? { fbtrace_id: error.fbtraceId } : {}) };
        logger.error('rotation step failed', line);
      } else {
        logger.error('rotation step failed', { step: Step, secretId: SecretId, versionId: ClientRequestToken, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      }
      throw error;
    }
  };
  return { deps, logger, handleStep };
}
