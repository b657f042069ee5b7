import { CreateTableCommand, UpdateTimeToLiveCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { DEAD_LETTER_QUEUE, JOB_QUEUE, LEDGER_TABLE, type QueueDefinition } from '../infra/definitions.ts';
import { createAwsClients, type AwsClients } from '../shared/aws-clients.ts';
import type { EmulatorResources } from '../shared/local-resources.ts';
import { provisionWebhookResources } from './webhook-resources.ts';

/**
 * Provisions wa-registrar on the local AWS emulator (moto) as the stack has it, from the same definitions the CDK
 * stack uses: the job path (queues, ledger table) here, the event path (bus, rules, buffer queue, change log, webhook
 * secrets) in tools/webhook-resources.ts. Not LocalStack: nothing here depends on that product.
 */

export interface ProvisionOptions {
  endpoint: string;
  region: string;
  /** Prefixes every resource name, so tests sharing one emulator never collide. */
  namePrefix: string;
  /** The values of the app secret and the verify token (default: LOCAL_WEBHOOK_SECRETS). */
  webhookSecrets?: { appSecret: string; verifyToken: string };
}

/**
 * The webhook secrets' values on the emulator, unless a caller gives its own. Local only, and still treated as
 * secrets: the local run never prints them (its test checks), the webhook sender reads the app secret from Secrets
 * Manager like the receiver does.
 */
export const LOCAL_WEBHOOK_SECRETS = { appSecret: 'local-demo-app-secret-5be1', verifyToken: 'local-demo-verify-token-c07d' } as const;

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
 * Creates the job path and the event path on the emulator and says where they are (the local resources file's
 * content, but for the webhook URL of a running receiver). The webhook secrets are created with their values; the
 * token and the PINs are seeded by the caller. Without an EventBridge client, one is made for the call.
 */
export async function provisionEmulatorResources(
  options: ProvisionOptions,
  clients: AwsClients & { eventBridge?: EventBridgeClient } = createAwsClients(options),
): Promise<EmulatorResources> {
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
  const eventBridge = clients.eventBridge ?? new EventBridgeClient({ endpoint: options.endpoint, region: options.region, maxAttempts: 3 });
  let events;
  try {
    events = await provisionWebhookResources({ ...clients, eventBridge }, { namePrefix: options.namePrefix, ...(options.webhookSecrets ?? LOCAL_WEBHOOK_SECRETS) });
  } finally {
    if (!clients.eventBridge) eventBridge.destroy();
  }
  return {
    region: options.region,
    endpoint: options.endpoint,
    jobQueueUrl: jobs.QueueUrl,
    deadLetterQueueUrl: dlq.QueueUrl,
    ledgerTableName,
    tokenSecretId: `${options.namePrefix}/graph-token`,
    pinSecretPrefix: `${options.namePrefix}/pin/`,
    ...events,
  };
}

/** The event resolver's environment for these resources, as the stack sets it (bar Graph's origin). */
export function localResolverEnv(resources: EmulatorResources, graphBaseUrl: string): Record<string, string> {
  return {
    GRAPH_API_BASE_URL: graphBaseUrl,
    LEDGER_TABLE_NAME: resources.ledgerTableName,
    JOB_QUEUE_URL: resources.jobQueueUrl,
    TOKEN_SECRET_ID: resources.tokenSecretId,
    EVENTS_DEAD_LETTER_QUEUE_URL: resources.eventsDeadLetterQueueUrl,
  };
}
