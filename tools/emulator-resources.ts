import { CreateTableCommand, UpdateTimeToLiveCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { DEAD_LETTER_QUEUE, JOB_QUEUE, LEDGER_TABLE, type QueueDefinition } from '../infra/definitions.ts';
import { createAwsClients, type AwsClients } from '../shared/aws-clients.ts';
import type { LocalResources } from '../shared/local-resources.ts';

/**
 * Provisions wa-registrar's queues and ledger table on the local AWS emulator (moto), from the same definitions
 * the CDK stack uses. Not LocalStack: nothing here depends on that product.
 */

export interface ProvisionOptions {
  endpoint: string;
  region: string;
  /** Prefixes every resource name, so tests sharing one emulator never collide. */
  namePrefix: string;
}

/**
 * SQS attributes for a queue, from the same definition the CDK stack uses (infra/definitions.ts).
 * Encryption at rest is the one cloud-only setting; test/infra/emulator-resources.test.ts checks the rest
 * against the synthesized template.
 */
function localQueueAttributes(definition: QueueDefinition, deadLetterTargetArn?: string): Record<string, string> {
  const attributes: Record<string, string> = {
    FifoQueue: String(definition.fifo),
    ContentBasedDeduplication: String(definition.contentBasedDeduplication),
    VisibilityTimeout: String(definition.visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(definition.retentionSeconds),
  };
  if (definition.maxReceiveCount !== undefined) {
    if (!deadLetterTargetArn) throw new Error(`queue ${definition.nameSuffix} has a redrive policy but no dead-letter target`);
    attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn, maxReceiveCount: definition.maxReceiveCount });
  }
  return attributes;
}

/** The ledger table's CreateTable input, from the same definition the CDK stack uses. */
function localLedgerTable(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: LEDGER_TABLE.billingMode,
    KeySchema: [
      { AttributeName: LEDGER_TABLE.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: LEDGER_TABLE.sortKey.name, KeyType: 'RANGE' },
    ],
    AttributeDefinitions: [
      { AttributeName: LEDGER_TABLE.partitionKey.name, AttributeType: LEDGER_TABLE.partitionKey.type },
      { AttributeName: LEDGER_TABLE.sortKey.name, AttributeType: LEDGER_TABLE.sortKey.type },
    ],
  };
}

const queueName = (prefix: string, definition: QueueDefinition) => `${prefix}-${definition.nameSuffix}.fifo`;

/**
 * Creates the queues and the ledger table on the emulator and says where they are (the local resources file's
 * content). Secrets are seeded by the caller.
 */
export async function provisionEmulatorResources(options: ProvisionOptions, clients: AwsClients = createAwsClients(options)): Promise<LocalResources> {
  const { sqs, dynamodb } = clients;
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: queueName(options.namePrefix, DEAD_LETTER_QUEUE),
      Attributes: localQueueAttributes(DEAD_LETTER_QUEUE),
    }),
  );
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  if (!dlqArn) throw new Error('the emulator returned no dead-letter queue ARN');
  const jobs = await sqs.send(
    new CreateQueueCommand({
      QueueName: queueName(options.namePrefix, JOB_QUEUE),
      Attributes: localQueueAttributes(JOB_QUEUE, dlqArn),
    }),
  );
  const ledgerTableName = `${options.namePrefix}-${LEDGER_TABLE.nameSuffix}`;
  await dynamodb.send(new CreateTableCommand(localLedgerTable(ledgerTableName)));
  await dynamodb.send(
    new UpdateTimeToLiveCommand({
      TableName: ledgerTableName,
      TimeToLiveSpecification: { AttributeName: LEDGER_TABLE.ttlAttribute, Enabled: true },
    }),
  );
  if (!jobs.QueueUrl || !dlq.QueueUrl) throw new Error('the emulator returned no queue URL');
  return {
    region: options.region,
    endpoint: options.endpoint,
    jobQueueUrl: jobs.QueueUrl,
    deadLetterQueueUrl: dlq.QueueUrl,
    ledgerTableName,
    tokenSecretId: `${options.namePrefix}/graph-token`,
    pinSecretPrefix: `${options.namePrefix}/pin/`,
  };
}
