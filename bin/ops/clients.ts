import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { isLoopbackUrl } from '../../shared/loopback.ts';
import type { Resources } from './resources.ts';

/** The CLI's SDK clients: same timeouts as the worker's, pointed at the resolved region and endpoint. */
export interface OpsClients {
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
  /** ListSecretVersionIds (which version is current) for every command; the token value only for `verify` and `explain`, which call Graph. */
  secretsManager: SecretsManagerClient;
  destroy(): void;
}

/**
 * Builds the clients. Against a local emulator with no credentials configured, fixed dummy credentials are used,
 * so the CLI works beside `npm start` in a shell with no AWS setup. Real AWS uses the normal credential chain.
 */
export function createOpsClients(resources: Resources, env: Record<string, string | undefined>): OpsClients {
  const local = isLoopbackUrl(resources.endpoint);
  const hasCredentials = Boolean(env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE || env.AWS_CONTAINER_CREDENTIALS_FULL_URI);
  const common = {
    ...(resources.region ? { region: resources.region } : local ? { region: 'us-east-1' } : {}),
    ...(resources.endpoint ? { endpoint: resources.endpoint } : {}),
    ...(local && !hasCredentials ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 10_000 },
  };
  const sqs = new SQSClient(common);
  const dynamodb = new DynamoDBClient(common);
  const secretsManager = new SecretsManagerClient(common);
  return {
    sqs,
    dynamodb,
    secretsManager,
    destroy: () => {
      sqs.destroy();
      dynamodb.destroy();
      secretsManager.destroy();
    },
  };
}
