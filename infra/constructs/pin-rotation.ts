import { Duration, Stack } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ENTRIES, PIN_ROTATION_GRAPH_TIMEOUT_MS, PIN_ROTATION_TIMEOUT_SECONDS } from '../definitions.ts';
import type { AttemptLedger } from './attempt-ledger.ts';
import { RegistrarFunction } from './registrar-function.ts';
import { acknowledgePrefix, secretPrefixArn, type SecretNames } from './secret-arns.ts';

/** What the rotation needs from the stack. */
export interface PinRotationProps {
  readonly ledger: AttemptLedger;
  /** The rotation reads the app's token only (never a business's own): the PIN secrets and the token secret. */
  readonly secrets: Pick<SecretNames, 'tokenSecretName' | 'pinSecretPrefix'>;
  readonly graphApiBaseUrl: string;
  readonly graphApiVersion: string;
}

/**
 * Exactly the Secrets Manager calls the rotation makes on a PIN secret (shared/pins/secrets-manager-vault.ts):
 * DescribeSecret (labels), GetSecretValue (the current and the pending PIN), PutSecretValue (the pending PIN) and
 * UpdateSecretVersionStage (AWSCURRENT moved, AWSPENDING dropped on a rollback). No CreateSecret, DeleteSecret,
 * RotateSecret or GetRandomPassword: the PIN comes from crypto.randomInt.
 */
const PIN_ROTATION_ACTIONS = [
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
] as const;

/**
 * The PIN rotation function (issue 11): Secrets Manager's rotation contract for the PIN secrets (functions/pin-rotation).
 * Secrets Manager invokes it, once per step, for a PIN secret whose rotation names it; only Secrets Manager of this
 * account may. The stack does not own the PIN secrets, so it attaches no schedule: `wa-registrar pin rotate` (or
 * `aws secretsmanager rotate-secret --rotation-lambda-arn …`) does, per secret (docs/deployment.md).
 */
export class PinRotation extends Construct {
  readonly fn: RegistrarFunction;

  constructor(scope: Construct, id: string, props: PinRotationProps) {
    super(scope, id);
    this.fn = new RegistrarFunction(this, 'Rotate', {
      entry: ENTRIES.pinRotation,
      description: 'wa-registrar: rotates WhatsApp two-step PINs (Secrets Manager rotation function)',
      timeout: Duration.seconds(PIN_ROTATION_TIMEOUT_SECONDS),
      memorySize: 256,
      environment: {
        GRAPH_API_BASE_URL: props.graphApiBaseUrl,
        GRAPH_API_VERSION: props.graphApiVersion,
        GRAPH_TIMEOUT_MS: String(PIN_ROTATION_GRAPH_TIMEOUT_MS),
      },
    })
      .useLedger(props.ledger, 'pinRotation')
      .readToken(props.secrets);

    // The PIN secrets, by their prefix (they are created after deployment, one per number); sets PIN_SECRET_PREFIX.
    const pins = secretPrefixArn(this, props.secrets, 'pinSecretPrefix');
    this.fn.role.addToPrincipalPolicy(new PolicyStatement({ sid: 'RotatePins', actions: [...PIN_ROTATION_ACTIONS], resources: [pins] }));
    this.fn.function.addEnvironment('PIN_SECRET_PREFIX', props.secrets.pinSecretPrefix);
    acknowledgePrefix(this.fn.role, props.secrets, 'pinSecretPrefix', PIN_ROTATION_ACTIONS);

    // Secrets Manager invokes the function for a rotation; only on behalf of this account (the confused deputy).
    this.fn.function.addPermission('SecretsManagerInvoke', {
      principal: new ServicePrincipal('secretsmanager.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceAccount: Stack.of(this).account,
    });
  }
}
