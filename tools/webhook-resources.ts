import { CreateTableCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ReceiverClients } from '../functions/webhook-receiver/receiver.ts';
import { EVENT_SOURCE } from '../shared/events/registrar-events.v1.ts';
import { CHANGE_LOG_KEYS } from '../shared/webhooks/dynamodb-change-log.ts';

/** Where the webhook receiver's resources are on the emulator, and a queue that receives every event on the bus. */
export interface WebhookResources {
  changeTableName: string;
  eventBusName: string;
  /** An SQS queue targeted by a rule matching every wa-registrar event: what the bus delivered. */
  eventQueueUrl: string;
  appSecretId: string;
  verifyTokenSecretId: string;
}

/**
 * Provisions the receiver's change log table, an event bus with a rule to an SQS queue, and its two secrets on the
 * local AWS emulator (moto routes PutEvents to SQS targets). Names start with `namePrefix`, so tests sharing one
 * emulator never collide.
 */
export async function provisionWebhookResources(
  clients: ReceiverClients & { sqs: SQSClient },
  options: { namePrefix: string; appSecret: string; verifyToken: string },
): Promise<WebhookResources> {
  const { namePrefix } = options;
  const changeTableName = `${namePrefix}-webhook-changes`;
  await clients.dynamodb.send(
    new CreateTableCommand({
      TableName: changeTableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: CHANGE_LOG_KEYS.partitionKey, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: CHANGE_LOG_KEYS.partitionKey, AttributeType: 'S' }],
    }),
  );
  await clients.dynamodb.send(
    new UpdateTimeToLiveCommand({ TableName: changeTableName, TimeToLiveSpecification: { AttributeName: CHANGE_LOG_KEYS.ttlAttribute, Enabled: true } }),
  );
  const eventBusName = `${namePrefix}-events`;
  await clients.eventBridge.send(new CreateEventBusCommand({ Name: eventBusName }));
  const queue = await clients.sqs.send(new CreateQueueCommand({ QueueName: `${namePrefix}-events` }));
  const queueArn = (await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  if (!queue.QueueUrl || !queueArn) throw new Error('the emulator returned no event queue');
  const ruleName = `${namePrefix}-all-events`;
  await clients.eventBridge.send(new PutRuleCommand({ Name: ruleName, EventBusName: eventBusName, EventPattern: JSON.stringify({ source: [EVENT_SOURCE] }) }));
  await clients.eventBridge.send(new PutTargetsCommand({ Rule: ruleName, EventBusName: eventBusName, Targets: [{ Id: 'event-queue', Arn: queueArn }] }));
  const appSecretId = `${namePrefix}/meta-app-secret`;
  const verifyTokenSecretId = `${namePrefix}/webhook-verify-token`;
  await clients.secretsManager.send(new CreateSecretCommand({ Name: appSecretId, SecretString: options.appSecret }));
  await clients.secretsManager.send(new CreateSecretCommand({ Name: verifyTokenSecretId, SecretString: options.verifyToken }));
  return { changeTableName, eventBusName, eventQueueUrl: queue.QueueUrl, appSecretId, verifyTokenSecretId };
}

/** The receiver's environment for these resources. */
export function webhookReceiverEnv(resources: WebhookResources): Record<string, string> {
  return {
    APP_SECRET_ID: resources.appSecretId,
    VERIFY_TOKEN_SECRET_ID: resources.verifyTokenSecretId,
    EVENT_BUS_NAME: resources.eventBusName,
    WEBHOOK_CHANGES_TABLE_NAME: resources.changeTableName,
  };
}
