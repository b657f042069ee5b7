import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Names of the secrets the stack references (it never creates them). */
export interface SecretNames {
  readonly tokenSecretName: string;
  /** PIN secrets: `<pinSecretPrefix><phoneNumberId>`. */
  readonly pinSecretPrefix: string;
  /** A business's own token: `<tokenSecretPrefix><wabaId>`, used instead of the token secret when it exists. */
  readonly tokenSecretPrefix: string;
  /** A number's On-Premises backup (migrations): `<backupSecretPrefix><phoneNumberId>`. */
  readonly backupSecretPrefix: string;
}

/** Names of the webhook receiver's secrets (never created by the stack): the Meta app secret and the verify token. */
export interface WebhookSecretNames {
  readonly appSecretName: string;
  readonly verifyTokenSecretName: string;
}

/** The secrets granted by their name's prefix: one secret per number or per business, created after deployment. */
const PREFIXED_SECRETS = {
  pinSecretPrefix:
    'PIN secrets are named <pinSecretPrefix><phoneNumberId>, one per number, created after deployment (by operators, or by the worker for a ' +
    'register job with pinPolicy provision-if-missing)',
  tokenSecretPrefix:
    "A business's own Graph token (Solution Partners) is named <tokenSecretPrefix><wabaId>, one per business, created by operators after deployment",
  backupSecretPrefix:
    "A number's On-Premises backup (migrations) is named <backupSecretPrefix><phoneNumberId>, one per migrated number, created by operators after deployment",
} as const satisfies Partial<Record<keyof SecretNames, string>>;

/** The keys of {@link SecretNames} that are prefixes. */
export type SecretPrefixKey = keyof typeof PREFIXED_SECRETS;

const arnFor = (scope: IConstruct, resourceName: string) =>
  Stack.of(scope).formatArn({ service: 'secretsmanager', resource: 'secret', resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });

/**
 * The ARN of exactly one secret, by its name. Secrets Manager appends a hyphen and six random characters to every
 * secret's ARN; `??????` matches those and nothing longer, so `name-old` is not covered.
 */
export function secretArn(scope: IConstruct, name: string): string {
  return arnFor(scope, `${name}-??????`);
}

/** The ARN pattern of every secret under one of the prefixes (`<prefix>*`): the only wildcard a grant on secrets has. */
export function secretPrefixArn<K extends SecretPrefixKey>(scope: IConstruct, secrets: Pick<SecretNames, K>, key: K): string {
  return arnFor(scope, `${secrets[key]}*`);
}

/**
 * Acknowledges cdk-nag's finding on one prefix wildcard on `holder` (a role or a managed policy): the exact finding, so
 * any other wildcard there is still reported. `actions` are every action `holder` is granted on that prefix; call once
 * per holder and prefix (one finding covers every statement of the holder on that ARN).
 */
export function acknowledgePrefix<K extends SecretPrefixKey>(holder: IConstruct, secrets: Pick<SecretNames, K>, key: K, actions: readonly string[]): void {
  Validations.of(holder).acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${secrets[key]}*]`,
    reason:
      `${PREFIXED_SECRETS[key]}; the wildcard covers only that prefix (at least 5 characters, ending in "/", overlapping no other prefix ` +
      `or secret name: infra/config.ts), and only for ${actions.join(', ')}.`,
  });
}
