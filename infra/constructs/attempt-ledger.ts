import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { LEDGER_TABLE } from '../definitions.ts';

/** What the worker's ledger adapter calls on the table. */
const WORKER_LEDGER_ACTIONS = ['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:ConditionCheckItem'] as const;

/** What the hold probe's ledger reads call: `number()` (BatchGetItem) and `appGates()` (GetItem). */
const HOLD_READ_ACTIONS = ['dynamodb:BatchGetItem', 'dynamodb:GetItem'] as const;

/**
 * The attempt ledger: every register/deregister request per number, the budgets and the job records.
 * It is the only memory of how much of Meta's 10-per-72-hour budget is spent, so it is retained on
 * stack deletion and has point-in-time recovery.
 */
export class AttemptLedger extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: LEDGER_TABLE.partitionKey.name, type: AttributeType.STRING },
      sortKey: { name: LEDGER_TABLE.sortKey.name, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Expired attempts fall out of the window; the adapter also filters on expiresAt because TTL deletion is lazy.
      timeToLiveAttribute: LEDGER_TABLE.ttlAttribute,
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: true,
    });
  }

  /**
   * The worker's access, exactly what the DynamoDB adapter calls: BatchGetItem (read), Query (history), and one
   * TransactWriteItems per commit. A transaction is authorized per contained action and needs no action of its
   * own: its Put items need dynamodb:PutItem, its ConditionCheck items dynamodb:ConditionCheckItem.
   * No UpdateItem, DeleteItem or GetItem: the adapter never calls them for the worker.
   */
  grantWorkerAccess(grantee: IGrantable): void {
    this.table.grant(grantee, ...WORKER_LEDGER_ACTIONS);
  }

  /** Reading holds and gates (the scheduled redrive): the number item (BatchGetItem) and the app item (GetItem). */
  grantHoldReads(grantee: IGrantable): void {
    this.table.grant(grantee, ...HOLD_READ_ACTIONS);
  }
}
