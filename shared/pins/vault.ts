/**
 * The PIN secrets as the provisioning and the rotation use them: versions and their staging labels, values by
 * version, and the label moves of Secrets Manager's rotation contract. One adapter: secrets-manager-vault.ts.
 */

/** A secret's metadata: never its value. */
export interface PinSecretInfo {
  arn: string;
  name: string;
  /** Whether a rotation function is attached (Secrets Manager's RotationEnabled). */
  rotationEnabled: boolean;
  rotationLambdaArn?: string;
  /** Version id → its staging labels (AWSCURRENT, AWSPENDING, AWSPREVIOUS, ...). */
  stages: Record<string, string[]>;
}

/** One stored value and its version. */
export interface PinSecretValue {
  versionId: string;
  value: string;
}

/** An attempt to create a PIN secret that already exists (provisioning without --force). */
export class PinSecretExistsError extends Error {
  override readonly name = 'PinSecretExistsError';
}

export interface PinVault {
  /** The secret's metadata, or undefined when there is no such secret. */
  describe(secretId: string): Promise<PinSecretInfo | undefined>;
  /** The value of a version (by default the AWSCURRENT one), or undefined when that version holds no value. */
  read(secretId: string, versionId?: string): Promise<PinSecretValue | undefined>;
  /** Creates the secret with its first value (AWSCURRENT); throws {@link PinSecretExistsError} when it exists. */
  create(name: string, value: string): Promise<PinSecretValue['versionId']>;
  /** Stores a new value as AWSCURRENT (the old one becomes AWSPREVIOUS). */
  putCurrent(secretId: string, value: string): Promise<PinSecretValue['versionId']>;
  /** Stores `value` as version `versionId`, labelled AWSPENDING only (the rotation's new PIN). */
  putPending(secretId: string, versionId: string, value: string): Promise<void>;
  /** Moves AWSCURRENT from `fromVersionId` to `toVersionId` (Secrets Manager moves AWSPREVIOUS along). */
  moveCurrent(secretId: string, toVersionId: string, fromVersionId: string): Promise<void>;
  /** Removes AWSPENDING from `versionId` (a rotation rolled back: the version is left with no label). */
  dropPending(secretId: string, versionId: string): Promise<void>;
}

/** The version that holds `stage`, if any. */
export function versionWith(info: Pick<PinSecretInfo, 'stages'>, stage: string): string | undefined {
  return Object.entries(info.stages).find(([, stages]) => stages.includes(stage))?.[0];
}
