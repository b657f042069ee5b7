import { CreateTableCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ReceiverClients } from '../functions/webhook-receiver/receiver.ts';
import { EVENT_BUFFER_QUEUE, EVENTS_DEAD_LETTER_QUEUE } from '../infra/definitions.ts';
import { EVENT_DETAIL_TYPES, EVENT_SOURCE, WEBHOOK_DETAIL_TYPES } from '../shared/events/registrar-events.v1.ts';
import { CHANGE_LOG_KEYS } from '../shared/webhooks/dynamodb-change-log.ts';

/**
 * The event path on the local AWS emulator, as infra/constructs/registrar-events.ts and webhook-receiver.ts build it in
 * the cloud: the receiver's change log table and its two secrets, the bus, and the two rules feeding the resolver's
 * standard buffer queue, which redrives to the events dead-letter queue. moto routes PutEvents to SQS targets
 * synchronously. test/infra/emulator-resources.test.ts compares all of it with the synthesized template.
 */

/** Where the event path's resources are on the emulator. */
export interface WebhookResources {
  changeTableName: string;
  eventBusName: string;
  /** The resolver's buffer queue: what the bus delivered (the receiver's events and ReRegistrationRequested). */
  eventQueueUrl: string;
  /** The buffer's dead-letter queue (and the rules' and the resolver's). */
  eventsDeadLetterQueueUrl: string;
  appSecretId: string;
  verifyTokenSecretId: string;
}

/** A standard queue of the event path, as infra/definitions.ts defines it. */
type StandardQueueDefinition = typeof EVENT_BUFFER_QUEUE | typeof EVENTS_DEAD_LETTER_QUEUE;

/** SQS attributes of a standard queue from its definition; encryption at rest is the one cloud-only setting. */
function localStandardQueueAttributes(definition: StandardQueueDefinition, deadLetterTargetArn?: string): Record<string, string> {
  const attributes: Record<string, string> = {
    VisibilityTimeout: String(definition.visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(definition.retentionSeconds),
  };
  if ('maxReceiveCount' in definition) {
    if (!deadLetterTargetArn) throw new Error('the event buffer queue has a redrive policy but no dead-letter target');
    attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn, maxReceiveCount: definition.maxReceiveCount });
  }
  return attributes;
}

/**
 * The two rules of infra/constructs/registrar-events.ts, from the same shared constants: the receiver's webhook events
 * (source wa-registrar), and every other detail type of the contract (ReRegistrationRequested) from any source.
 */
const LOCAL_EVENT_RULES = {
  webhookEvents: { nameSuffix: 'webhook-events', pattern: { source: [EVENT_SOURCE], 'detail-type': [...WEBHOOK_DETAIL_TYPES] } },
  openRequests: {
    nameSuffix: 'open-requests',
    pattern: { 'detail-type': EVENT_DETAIL_TYPES.filter((type) => !(WEBHOOK_DETAIL_TYPES as readonly string[]).includes(type)) },
  },
} as const;

/**
 * Provisions the event path (see above) with the two secrets holding `appSecret` and `verifyToken`. Names start with
 * `namePrefix`, so tests sharing one emulator never collide.
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

  const createQueue = async (name: string, attributes: Record<string, string>) => {
    const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    const arn = (await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
    if (!QueueUrl || !arn) throw new Error(`the emulator returned no URL or ARN for queue ${name}`);
    return { url: QueueUrl, arn };
  };
  // Not `<prefix>-events`: tests that build their own buffer queue use that name beside these.
  const deadLetters = await createQueue(`${namePrefix}-event-dead-letters`, localStandardQueueAttributes(EVENTS_DEAD_LETTER_QUEUE));
  const buffer = await createQueue(`${namePrefix}-event-buffer`, localStandardQueueAttributes(EVENT_BUFFER_QUEUE, deadLetters.arn));

  const eventBusName = `${namePrefix}-events`;
  await clients.eventBridge.send(new CreateEventBusCommand({ Name: eventBusName }));
  for (const rule of Object.values(LOCAL_EVENT_RULES)) {
    const name = `${namePrefix}-${rule.nameSuffix}`;
    await clients.eventBridge.send(new PutRuleCommand({ Name: name, EventBusName: eventBusName, EventPattern: JSON.stringify(rule.pattern), State: 'ENABLED' }));
    await clients.eventBridge.send(
      new PutTargetsCommand({ Rule: name, EventBusName: eventBusName, Targets: [{ Id: 'Target0', Arn: buffer.arn, DeadLetterConfig: { Arn: deadLetters.arn } }] }),
    );
  }

  const appSecretId = `${namePrefix}/meta-app-secret`;
  const verifyTokenSecretId = `${namePrefix}/webhook-verify-token`;
  await clients.secretsManager.send(new CreateSecretCommand({ Name: appSecretId, SecretString: options.appSecret }));
  await clients.secretsManager.send(new CreateSecretCommand({ Name: verifyTokenSecretId, SecretString: options.verifyToken }));
  return { changeTableName, eventBusName, eventQueueUrl: buffer.url, eventsDeadLetterQueueUrl: deadLetters.url, appSecretId, verifyTokenSecretId };
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
