import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';

/** The SDK clients the project uses, built once per process and reused across invocations. */
export interface AwsClients {
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
  secretsManager: SecretsManagerClient;
}

export interface AwsClientOptions {
  region?: string;
  /** Overrides the endpoint (the local emulator). The SDK also honours AWS_ENDPOINT_URL on its own. */
  endpoint?: string;
}

/**
 * Builds the clients with explicit timeouts and retry budgets: an AWS call that hangs must not
 * hold a job past its lease. Keep-alive is on by default in SDK v3's Node handler.
 */
export function createAwsClients(options: AwsClientOptions = {}): AwsClients {
  const common = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    maxAttempts: 3,
    // Constructor options for the SDK's own Node HTTP handler.
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
  };
  return {
    dynamodb: new DynamoDBClient(common),
    sqs: new SQSClient(common),
    secretsManager: new SecretsManagerClient(common),
  };
}
