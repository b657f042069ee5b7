import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Names of the secrets the stack references (it never creates them). */
export interface SecretNames {
  readonly tokenSecretName: string;
  readonly pinSecretPrefix: string;
}

/** Names of the webhook receiver's secrets (never created by the stack): the Meta app secret and the verify token. */
export interface WebhookSecretNames {
  readonly appSecretName: string;
  readonly verifyTokenSecretName: string;
}

const arnFor = (scope: IConstruct, resourceName: string) =>
  Stack.of(scope).formatArn({ service: 'secretsmanager', resource: 'secret', resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });

/**
 * The ARN of exactly one secret, by its name. Secrets Manager appends a hyphen and six random characters to every
 * secret's ARN; `??????` matches those and nothing longer, so `name-old` is not covered.
 */
export function secretArn(scope: IConstruct, name: string): string {
  return arnFor(scope, `${name}-??????`);
}

/** The ARNs a grant on the secrets names: the token exactly, and the PIN secrets by their prefix. */
export function secretArns(scope: IConstruct, secrets: SecretNames): { tokenArn: string; pinArnPattern: string } {
  return { tokenArn: secretArn(scope, secrets.tokenSecretName), pinArnPattern: arnFor(scope, `${secrets.pinSecretPrefix}*`) };
}

/**
 * Acknowledges cdk-nag's finding on the PIN prefix wildcard on `holder` (a role or a managed policy): the exact
 * finding, so any other wildcard there is still reported.
 */
export function acknowledgePinPrefix(holder: IConstruct, secrets: SecretNames, action: string): void {
  Validations.of(holder).acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${secrets.pinSecretPrefix}*]`,
    reason:
      'PIN secrets are named <pinSecretPrefix><phoneNumberId>, one per number, created by operators after deployment; ' +
      `the wildcard covers only that prefix (at least 5 characters, ending in "/"), and only for ${action}.`,
  });
}
