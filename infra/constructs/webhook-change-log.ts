import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CHANGE_LOG_KEYS } from '../../shared/webhooks/dynamodb-change-log.ts';
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
