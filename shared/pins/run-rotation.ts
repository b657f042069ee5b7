import { randomUUID } from 'node:crypto';
import { pinSecretName, STAGE } from './pin-secret.ts';
import { PinRotationError, ROTATION_STEPS, runRotationStep, type RotationDeps, type RotationStepResult } from './rotation.ts';

/** What {@link rotateInProcess} did. */
export interface InProcessRotation {
  phoneNumberId: string;
  secretName: string;
  /** The version brought in. */
  versionId: string;
  /** True when an unfinished rotation was taken up again instead of a new one started. */
  resumed: boolean;
  steps: RotationStepResult[];
}

/**
 * Runs the four steps of the rotation contract one after the other, through the same {@link runRotationStep} the
 * rotation Lambda runs: for `wa-registrar pin rotate` where no rotation function is configured (the local emulator,
 * where moto cannot invoke a Lambda). An unfinished rotation is resumed with its own token, never replaced: a version
 * still AWSPENDING, or the version the ledger marks when it is already AWSCURRENT (the ledger write was left). A step
 * that fails throws its {@link PinRotationError}; `onStep` has heard of each step that completed before it.
 */
export async function rotateInProcess(
  deps: RotationDeps,
  phoneNumberId: string,
  options: { newVersionId?: () => string; onStep?: (result: RotationStepResult) => void } = {},
): Promise<InProcessRotation> {
  const secretName = pinSecretName(deps.pinSecretPrefix, phoneNumberId);
  const secret = await deps.vault.describe(secretName);
  if (!secret) {
    throw new PinRotationError('refused', 'createSecret', `number ${phoneNumberId} has no PIN secret (${secretName}): store one first (\`wa-registrar pin provision ${phoneNumberId}\`)`);
  }
  const pending = Object.entries(secret.stages).find(([, labels]) => labels.includes(STAGE.pending) && !labels.includes(STAGE.current))?.[0];
  const marked = (await deps.ledger.number(phoneNumberId)).pinRotation?.pendingVersion;
  const markedIsCurrent = marked !== undefined && (secret.stages[marked] ?? []).includes(STAGE.current);
  const versionId = pending ?? (markedIsCurrent ? marked : (options.newVersionId ?? randomUUID)());
  const steps: RotationStepResult[] = [];
  for (const step of ROTATION_STEPS) {
    const done = await runRotationStep({ SecretId: secret.arn, ClientRequestToken: versionId, Step: step }, deps);
    steps.push(done);
    options.onStep?.(done);
  }
  return { phoneNumberId, secretName, versionId, resumed: versionId === pending || versionId === marked, steps };
}
