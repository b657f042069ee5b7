import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { type FunctionUrl, FunctionUrlAuthType, InvokeMode } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { CHANGE_LOG_KEYS } from '../../shared/webhooks/dynamodb-change-log.ts';
import { ENTRIES, RECEIVER_CLAIM_TIMEOUT_SECONDS, RECEIVER_TIMEOUT_SECONDS } from '../definitions.ts';
import { RegistrarFunction } from './registrar-function.ts';
import type { RegistrarEvents } from './registrar-events.ts';
import type { WebhookSecretNames } from './secret-arns.ts';

/**
 * What the change log adapter (shared/webhooks/dynamodb-change-log.ts) calls: `claim()` (a conditional PutItem),
 * `markPublished()` (UpdateItem) and `release()` (DeleteItem). No GetItem: a failed claim returns the old item.
 */
const CLAIM_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] as const;

/**
 * The webhook receiver's change log: one item per webhook change (`changeId`), claimed before its event is put on the
 * bus and marked after, so of Meta's redeliveries and duplicates one publishes. Items expire (TTL `expiresAt`) after
 * Meta's 7 days of redelivery. Encrypted and recoverable like the ledger; unlike the ledger it goes with the stack: a
 * lost marker costs at most a duplicate event, which the resolver absorbs (a change ends in one job key).
 */
export class WebhookChangeLog extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: CHANGE_LOG_KEYS.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The adapter's conditions also treat an item past expiresAt as absent: TTL deletion is lazy.
      timeToLiveAttribute: CHANGE_LOG_KEYS.ttlAttribute,
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  /** Claim, mark and release changes: exactly {@link CLAIM_ACTIONS}, on this table only. */
  grantClaims(grantee: IGrantable): void {
    this.table.grant(grantee, ...CLAIM_ACTIONS);
  }
}

/** What {@link WebhookReceiver} needs. */
export interface WebhookReceiverProps {
  readonly events: RegistrarEvents;
  readonly secrets: WebhookSecretNames;
  /** Reserved concurrency; 0 reserves none. */
  readonly concurrency: number;
}

/**
 * Meta's webhooks (issue 10): a public Lambda Function URL in front of the receiver, which checks each request's
 * `X-Hub-Signature-256` against the Meta app secret before it reads anything, claims each change in its change log,
 * and puts one event per change on the bus.
 *
 * The URL's auth type is NONE on purpose. Meta's servers call it and cannot sign AWS requests (AWS_IAM), and Meta sends
 * no credential but the signature: the HMAC of the body under the app secret, which only Meta and this stack's receiver
 * know. The receiver answers 401 to a request without a valid signature, before parsing it or touching a table or the
 * bus, and 413 to a body over MAX_WEBHOOK_BYTES before hashing it; the subscription handshake (GET) needs the verify
 * token. The reserved concurrency caps what a flood of unsigned requests can take from the account's Lambda pool.
 */
export class WebhookReceiver extends Construct {
  readonly changes: WebhookChangeLog;
  readonly fn: RegistrarFunction;
  /** The callback URL to give Meta (App Dashboard > WhatsApp > Configuration). */
  readonly url: FunctionUrl;

  constructor(scope: Construct, id: string, props: WebhookReceiverProps) {
    super(scope, id);
    this.changes = new WebhookChangeLog(this, 'Changes');
    this.fn = new RegistrarFunction(this, 'Receiver', {
      entry: ENTRIES.webhookReceiver,
      description: "wa-registrar: receives Meta's webhooks, verifies them and puts their events on the bus",
      timeout: Duration.seconds(RECEIVER_TIMEOUT_SECONDS),
      memorySize: 512,
      reservedConcurrentExecutions: props.concurrency,
      environment: {
        // Above the function's timeout (infra/definitions.ts checks it), so only a dead delivery's claim is taken over.
        CLAIM_TIMEOUT_SECONDS: String(RECEIVER_CLAIM_TIMEOUT_SECONDS),
      },
    })
      .readWebhookSecrets(props.secrets)
      .claimChanges(this.changes)
      .publishEvents(props.events);
    // No CORS: Meta calls it server to server, never a browser. BUFFERED: the answer is small and whole.
    this.url = this.fn.function.addFunctionUrl({ authType: FunctionUrlAuthType.NONE, invokeMode: InvokeMode.BUFFERED });
  }
}
