import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { STAGE } from './pin-secret.ts';
import { PinSecretExistsError, type PinSecretInfo, type PinSecretValue, type PinVault } from './vault.ts';

/** The Secrets Manager adapter of {@link PinVault}: DescribeSecret, GetSecretValue, CreateSecret, PutSecretValue, UpdateSecretVersionStage. */
export class SecretsManagerPinVault implements PinVault {
  readonly #client: SecretsManagerClient;

  constructor(client: SecretsManagerClient) {
    this.#client = client;
  }

  async describe(secretId: string): Promise<PinSecretInfo | undefined> {
    try {
      const output = await this.#client.send(new DescribeSecretCommand({ SecretId: secretId }));
      return {
        arn: output.ARN ?? secretId,
        name: output.Name ?? secretId,
        rotationEnabled: output.RotationEnabled === true,
        ...(output.RotationLambdaARN ? { rotationLambdaArn: output.RotationLambdaARN } : {}),
        stages: Object.fromEntries(Object.entries(output.VersionIdsToStages ?? {}).map(([version, stages]) => [version, [...stages]])),
      };
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }

  async read(secretId: string, versionId?: string): Promise<PinSecretValue | undefined> {
    try {
      const output = await this.#client.send(
        new GetSecretValueCommand({ SecretId: secretId, ...(versionId === undefined ? { VersionStage: STAGE.current } : { VersionId: versionId }) }),
      );
      if (output.SecretString === undefined || output.VersionId === undefined) return undefined;
      return { versionId: output.VersionId, value: output.SecretString };
    } catch (error) {
      // Also a version RotateSecret created before createSecret stored its value.
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }

  async create(name: string, value: string): Promise<string> {
    try {
      const output = await this.#client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
      return output.VersionId ?? 'unversioned';
    } catch (error) {
      if (error instanceof ResourceExistsException) throw new PinSecretExistsError(`the secret ${name} already exists`, { cause: error });
      throw error;
    }
  }

  async putCurrent(secretId: string, value: string): Promise<string> {
    const output = await this.#client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: value }));
    return output.VersionId ?? 'unversioned';
  }

  async putPending(secretId: string, versionId: string, value: string): Promise<void> {
    await this.#client.send(new PutSecretValueCommand({ SecretId: secretId, ClientRequestToken: versionId, SecretString: value, VersionStages: [STAGE.pending] }));
  }

  async moveCurrent(secretId: string, toVersionId: string, fromVersionId: string): Promise<void> {
    await this.#client.send(
      new UpdateSecretVersionStageCommand({ SecretId: secretId, VersionStage: STAGE.current, MoveToVersionId: toVersionId, RemoveFromVersionId: fromVersionId }),
    );
  }

  async dropPending(secretId: string, versionId: string): Promise<void> {
    await this.#client.send(new UpdateSecretVersionStageCommand({ SecretId: secretId, VersionStage: STAGE.pending, RemoveFromVersionId: versionId }));
  }
}
