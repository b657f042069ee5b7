import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { LEDGER_TABLE } from '../definitions.ts';

/**
 * What each role's code calls on the table, by the DynamoDB adapter's methods (shared/ledger/dynamodb-ledger.ts). A
 * TransactWriteItems is authorized per contained item and needs no action of its own: its Put items need
 * dynamodb:PutItem, its ConditionCheck items dynamodb:ConditionCheckItem.
 * - worker: `read()` (BatchGetItem), `history()` (Query), `commit()` (Put and ConditionCheck items). No UpdateItem,
 *   DeleteItem or GetItem: the adapter never calls them for the worker.
 * - holdReads (the scheduled redrive): `number()` (BatchGetItem) and `appGates()` (GetItem).
 * - resolver (the event resolver): `number()` (BatchGetItem), `business()` (GetItem), `commit()` of number, business
 *   and deadline items (Put items only: it never checks the app item) and `recordEvent()` (PutItem).
 * - deadlineWatch: `deadlines()` (Query), `number()` (BatchGetItem) and `dropDeadline()` (DeleteItem, conditional).
 * - pinRotation (the PIN rotation function): `number()` (BatchGetItem), `history()` (Query: a register still without an
 *   answer) and `commit()` of the number item alone (Put items).
 */
const LEDGER_ACCESS = {
  worker: ['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:ConditionCheckItem'],
  holdReads: ['dynamodb:BatchGetItem', 'dynamodb:GetItem'],
  resolver: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
  deadlineWatch: ['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:DeleteItem'],
  pinRotation: ['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem'],
} as const satisfies Record<string, readonly `dynamodb:${string}`[]>;

/** Who uses the ledger, each with exactly the calls its code makes. */
export type LedgerAccess = keyof typeof LEDGER_ACCESS;

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

  /** Exactly the actions `access` names (see {@link LEDGER_ACCESS}), on this table only. */
  grantAccess(grantee: IGrantable, access: LedgerAccess): void {
    this.table.grant(grantee, ...LEDGER_ACCESS[access]);
  }
}
