import { CreateTableCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { createAwsClients, type AwsClients } from '../shared/aws-clients.ts';
import { LEDGER_KEYS } from '../shared/ledger/dynamodb-ledger.ts';

/** Where a locally provisioned wa-registrar lives. Also the shape of `.wa-registrar/local-stack.json`. */
export interface LocalStack {
  region: string;
  endpoint: string;
  jobQueueUrl: string;
  deadLetterQueueUrl: string;
  ledgerTableName: string;
  tokenSecretId: string;
  pinSecretPrefix: string;
}

export interface ProvisionOptions {
  endpoint: string;
  region: string;
  /** Prefixes every resource name, so tests sharing one emulator never collide. */
  namePrefix: string;
}

/** Creates the queues and the ledger table on the emulator. Secrets are seeded by the caller. */
export async function provisionLocalStack(options: ProvisionOptions, clients: AwsClients = createAwsClients(options)): Promise<LocalStack> {
  const { sqs, dynamodb } = clients;
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${options.namePrefix}-dead-letters.fifo`,
      Attributes: { FifoQueue: 'true', MessageRetentionPeriod: String(14 * 24 * 3600) },
    }),
  );
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  const jobs = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${options.namePrefix}-jobs.fifo`,
      Attributes: {
        FifoQueue: 'true',
        VisibilityTimeout: '1080',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 10 }),
      },
    }),
  );
  const ledgerTableName = `${options.namePrefix}-ledger`;
  await dynamodb.send(
    new CreateTableCommand({
      TableName: ledgerTableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: LEDGER_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: LEDGER_KEYS.sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: LEDGER_KEYS.partitionKey, AttributeType: 'S' },
        { AttributeName: LEDGER_KEYS.sortKey, AttributeType: 'S' },
      ],
    }),
  );
  await dynamodb.send(
    new UpdateTimeToLiveCommand({
      TableName: ledgerTableName,
      TimeToLiveSpecification: { AttributeName: LEDGER_KEYS.ttlAttribute, Enabled: true },
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
