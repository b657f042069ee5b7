import { RotateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadPinRotationConfig } from '../../functions/pin-rotation/config.ts';
import type { BudgetPolicy } from '../../shared/domain/budget.ts';
import type { Clock } from '../../shared/clock.ts';
import { HttpGraphClient } from '../../shared/graph/http-graph-client.ts';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import {
  formatPinSecret,
  generatePin,
  PinSecretExistsError,
  SecretsManagerPinVault,
  STAGE,
  versionWith,
  type PinVault,
  type RotationDeps,
} from '../../shared/pins/index.ts';
import { SecretsManagerStore } from '../../shared/secrets/secrets-manager-store.ts';
import { CommandError } from '../cli-support.ts';
import type { OpsClients } from './clients.ts';

/** What `pin provision` stored: the PIN itself stays with the caller, who prints it only on a terminal when asked. */
export interface ProvisionedPin {
  pin: string;
  secretName: string;
  versionId: string;
  /** True when --force replaced an existing secret's value (the old one is AWSPREVIOUS now). */
  replaced: boolean;
}

/**
 * Stores a generated PIN as the number's PIN secret. A new secret is created (CreateSecret); an existing one is
 * refused unless `force`, which stores the PIN as a new AWSCURRENT version (PutSecretValue) after checking no rotation
 * is half-way (a version still AWSPENDING: replacing AWSCURRENT under it would confuse which PIN Meta has).
 */
export async function provisionPin(vault: PinVault, secretName: string, phoneNumberId: string, options: { force: boolean }): Promise<ProvisionedPin> {
  const pin = generatePin();
  const value = formatPinSecret(pin);
  const refuse = () =>
    new CommandError(
      `number ${phoneNumberId} already has a PIN secret (${secretName}); nothing changed. Its PIN may already be Meta's: to change the PIN at Meta ` +
        `and in the secret together, run \`wa-registrar pin rotate ${phoneNumberId}\`; to overwrite the stored PIN anyway (it was never sent, or it is wrong), pass --force`,
    );
  if (!options.force) {
    try {
      return { pin, secretName, versionId: await vault.create(secretName, value), replaced: false };
    } catch (error) {
      if (error instanceof PinSecretExistsError) throw refuse();
      throw error;
    }
  }
  const existing = await vault.describe(secretName);
  if (!existing) return { pin, secretName, versionId: await vault.create(secretName, value), replaced: false };
  const current = versionWith(existing, STAGE.current);
  const pending = Object.entries(existing.stages).find(([version, labels]) => version !== current && labels.includes(STAGE.pending))?.[0];
  if (pending !== undefined) {
    throw new CommandError(
      `a rotation of ${secretName} is not finished (version ${pending} is AWSPENDING; Meta may already have its PIN); nothing changed. ` +
        `Finish it with \`wa-registrar pin rotate ${phoneNumberId}\` first`,
    );
  }
  return { pin, secretName, versionId: await vault.putCurrent(secretName, value), replaced: true };
}

/** Where and how Secrets Manager is asked to rotate. */
export interface RotationRequest {
  secretName: string;
  phoneNumberId: string;
  lambdaArn: string;
  /** Days between automatic rotations to attach; 0 attaches none. */
  days: number;
}

/** What `pin rotate` asked Secrets Manager for. */
export interface StartedRotation {
  versionId: string | undefined;
  /** Whether this call attached (or re-attached) the function and a schedule to the secret. */
  configured: boolean;
  /** The function the secret's rotation names, as Secrets Manager says. */
  lambdaArn: string;
  days: number | undefined;
}

/**
 * Starts Secrets Manager's rotation of a PIN secret (RotateSecret; asynchronous: the rotation function runs the four
 * steps). With `days` > 0 the function and the schedule are attached first; with 0, a secret that already has rotation
 * configured is rotated with its own configuration, and one that has none is refused: Secrets Manager documents no
 * rotation without a schedule, and the stack attaches none (pinRotationDays 0).
 */
export async function startRotation(client: SecretsManagerClient, vault: PinVault, request: RotationRequest): Promise<StartedRotation> {
  const secret = await vault.describe(request.secretName);
  if (!secret) {
    throw new CommandError(`number ${request.phoneNumberId} has no PIN secret (${request.secretName}): store one first (\`wa-registrar pin provision ${request.phoneNumberId}\`)`);
  }
  if (request.days > 0) {
    const output = await client.send(
      new RotateSecretCommand({ SecretId: secret.arn, RotationLambdaARN: request.lambdaArn, RotationRules: { AutomaticallyAfterDays: request.days }, RotateImmediately: true }),
    );
    return { versionId: output.VersionId, configured: true, lambdaArn: request.lambdaArn, days: request.days };
  }
  if (!secret.rotationEnabled) {
    throw new CommandError(
      `rotation is not configured on ${request.secretName} and pinRotationDays is 0 (no schedule to attach); nothing changed. Pass --every-days N to attach ` +
        'the rotation function with a rotation every N days (it rotates now too), or --in-process to rotate once here, with your own credentials',
    );
  }
  const output = await client.send(new RotateSecretCommand({ SecretId: secret.arn, RotateImmediately: true }));
  return { versionId: output.VersionId, configured: false, lambdaArn: secret.rotationLambdaArn ?? request.lambdaArn, days: undefined };
}

/** What an in-process rotation needs besides the clients. */
export interface InProcessSettings {
  ledgerTableName: string;
  tokenSecretId: string;
  pinSecretPrefix: string;
  env: Record<string, string | undefined>;
  clock: Clock;
  policy: Pick<BudgetPolicy, 'windowMs' | 'marginMs'>;
}

/**
 * The rotation's dependencies for `pin rotate --in-process`: the rotation function's own (vault, ledger, Graph, token),
 * built from the CLI's clients and the environment's Graph settings (GRAPH_API_BASE_URL, GRAPH_API_VERSION,
 * GRAPH_TIMEOUT_MS), checked with the function's own config schema (https, or plain http to this machine only).
 */
export function inProcessRotationDeps(clients: OpsClients, settings: InProcessSettings): RotationDeps {
  let config;
  try {
    config = loadPinRotationConfig({
      ...settings.env,
      LEDGER_TABLE_NAME: settings.ledgerTableName,
      TOKEN_SECRET_ID: settings.tokenSecretId,
      PIN_SECRET_PREFIX: settings.pinSecretPrefix,
    });
  } catch (error) {
    throw new CommandError((error as Error).message);
  }
  const secrets = new SecretsManagerStore(clients.secretsManager, { tokenSecretId: config.TOKEN_SECRET_ID, pinSecretPrefix: config.PIN_SECRET_PREFIX, maxAgeMs: 0, clock: settings.clock });
  return {
    vault: new SecretsManagerPinVault(clients.secretsManager),
    ledger: new DynamoDbAttemptLedger(clients.dynamodb, config.LEDGER_TABLE_NAME),
    graph: new HttpGraphClient({ baseUrl: config.GRAPH_API_BASE_URL, version: config.GRAPH_API_VERSION, timeoutMs: config.GRAPH_TIMEOUT_MS, now: () => settings.clock.now() }),
    accessToken: () => secrets.accessToken({ fresh: true }),
    clock: settings.clock,
    pinSecretPrefix: config.PIN_SECRET_PREFIX,
    policy: settings.policy,
    requireRotationEnabled: false,
  };
}
