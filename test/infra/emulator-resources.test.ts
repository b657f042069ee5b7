import type { CreateTableCommandInput, UpdateTimeToLiveCommandInput } from '@aws-sdk/client-dynamodb';
import type { CreateQueueCommandInput } from '@aws-sdk/client-sqs';
import type { CfnQueue } from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AwsClients } from '../../shared/aws-clients.ts';
import { provisionEmulatorResources } from '../../tools/emulator-resources.ts';
import { provisionWebhookResources, webhookReceiverEnv } from '../../tools/webhook-resources.ts';
import { synthRegistrar } from './helpers/synth.ts';

/**
 * Local = cloud: what tools/emulator-resources.ts sends to the emulator must match the synthesized
 * template of the real stack, property by property. A property added to the stack fails this test
 * until the local side mirrors it or it is listed here as cloud-only, with the reason.
 */
const CLOUD_ONLY = {
  queue: {
    SqsManagedSseEnabled: 'encryption at rest is not emulated',
  },
  table: {
    PointInTimeRecoverySpecification: 'backups are not emulated',
    SSESpecification: 'encryption at rest is not emulated',
    DeletionProtectionEnabled: 'local tables are thrown away per test',
  },
} as const;

interface Sent {
  queues: CreateQueueCommandInput[];
  tables: CreateTableCommandInput[];
  ttl: UpdateTimeToLiveCommandInput[];
}

/** Records what provisioning sends; answers like the emulator. */
function recordingClients(): { clients: AwsClients; sent: Sent } {
  const sent: Sent = { queues: [], tables: [], ttl: [] };
  const sqs = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const input = command.input;
      if (command.constructor.name === 'CreateQueueCommand') {
        sent.queues.push(input as unknown as CreateQueueCommandInput);
        return { QueueUrl: `http://local/000000000000/${String(input.QueueName)}` };
      }
      if (command.constructor.name === 'GetQueueAttributesCommand') {
        return { Attributes: { QueueArn: `arn:aws:sqs:us-east-1:000000000000:${String(input.QueueUrl).split('/').pop()}` } };
      }
      throw new Error(`unexpected SQS call ${command.constructor.name}`);
    },
  };
  const dynamodb = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      if (command.constructor.name === 'CreateTableCommand') sent.tables.push(command.input as unknown as CreateTableCommandInput);
      else if (command.constructor.name === 'UpdateTimeToLiveCommand') sent.ttl.push(command.input as unknown as UpdateTimeToLiveCommandInput);
      else throw new Error(`unexpected DynamoDB call ${command.constructor.name}`);
      return {};
    },
  };
  return { clients: { sqs, dynamodb, secretsManager: {} } as unknown as AwsClients, sent };
}

type Resource = { Type: string; Properties: Record<string, unknown> };

describe('local stack = cloud stack', () => {
  let resources: Record<string, Resource>;
  let sent: Sent;
  let jobQueueLogicalId: string;
  let deadLetterQueueLogicalId: string;
  let ledgerLogicalId: string;

  beforeAll(async () => {
    const { stack, template } = synthRegistrar();
    resources = template().toJSON().Resources;
    jobQueueLogicalId = (stack.resolve(stack.jobs.queue.queueArn) as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    deadLetterQueueLogicalId = (stack.resolve(stack.jobs.deadLetterQueue.queueArn) as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    ledgerLogicalId = (stack.resolve(stack.ledger.table.tableName) as { Ref: string }).Ref;
    const recording = recordingClients();
    sent = recording.sent;
    await provisionEmulatorResources({ endpoint: 'http://local', region: 'us-east-1', namePrefix: 'drift' }, recording.clients);
  });

  const localQueue = (suffix: string) => {
    const queue = sent.queues.find((q) => q.QueueName === `drift-${suffix}.fifo`);
    if (!queue) throw new Error(`no local queue ${suffix}`);
    return queue.Attributes ?? {};
  };

  /** The template's queue properties as SQS attribute strings, which is what CreateQueue takes. */
  const asAttributes = (properties: Record<string, unknown>, dlqArn: string) =>
    Object.fromEntries(
      Object.entries(properties)
        .filter(([name]) => !(name in CLOUD_ONLY.queue))
        .map(([name, value]) => {
          if (name === 'RedrivePolicy') {
            const policy = value as { maxReceiveCount: number };
            // The target is the other queue of the same stack, by reference in the template.
            return [name, JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: policy.maxReceiveCount })];
          }
          return [name, String(value)];
        }),
    );

  it('provisions the two FIFO queues of the job path the stack has, and nothing else', () => {
    // The event path's standard queues are not emulated: locally the bus feeds one catch-all queue (tools/webhook-resources.ts).
    expect(Object.values(resources).filter((r) => r.Type === 'AWS::SQS::Queue' && r.Properties.FifoQueue === true)).toHaveLength(sent.queues.length);
    expect(sent.queues.map((q) => q.QueueName).sort()).toEqual(['drift-dead-letters.fifo', 'drift-jobs.fifo']);
  });

  it('creates the dead-letter queue with the template\'s attributes', () => {
    // Act
    const expected = asAttributes(resources[deadLetterQueueLogicalId]!.Properties, '');
    // Assess
    expect(localQueue('dead-letters')).toEqual(expected);
  });

  it('creates the job queue with the template\'s attributes, redriving to the local DLQ', () => {
    // Prepare
    const localDlqArn = 'arn:aws:sqs:us-east-1:000000000000:drift-dead-letters.fifo';
    const cloud = resources[jobQueueLogicalId]!.Properties as { RedrivePolicy: { deadLetterTargetArn: unknown } };
    // Act
    const expected = asAttributes(cloud as Record<string, unknown>, localDlqArn);
    // Assess
    expect(cloud.RedrivePolicy.deadLetterTargetArn).toEqual({ 'Fn::GetAtt': [deadLetterQueueLogicalId, 'Arn'] });
    expect(localQueue('jobs')).toEqual(expected);
  });

  it('detects drift: a stack whose job queue no longer matches the definitions fails the comparison', () => {
    // Prepare: the failing half, a construct that sets its own visibility timeout
    const { stack, template } = synthRegistrar({
      customize: (s) => ((s.jobs.queue.node.defaultChild as CfnQueue).visibilityTimeout = 2000),
    });
    const logicalId = (stack.resolve(stack.jobs.queue.queueArn) as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    // Act
    const drifted = asAttributes(template().toJSON().Resources[logicalId].Properties, 'arn:aws:sqs:us-east-1:000000000000:drift-dead-letters.fifo');
    // Assess
    expect(localQueue('jobs')).not.toEqual(drifted);
    expect(drifted.VisibilityTimeout).toBe('2000');
  });

  it('creates the ledger table with the template\'s keys, billing and TTL', () => {
    // Prepare
    const cloud = resources[ledgerLogicalId]!.Properties as Record<string, unknown> & {
      TimeToLiveSpecification: { AttributeName: string; Enabled: boolean };
    };
    const local = sent.tables[0]!;
    // Act
    const { TimeToLiveSpecification, ...cloudCreate } = Object.fromEntries(
      Object.entries(cloud).filter(([name]) => !(name in CLOUD_ONLY.table)),
    ) as typeof cloud;
    const { TableName, ...localCreate } = local;
    // Assess
    expect(sent.tables).toHaveLength(1);
    expect(TableName).toBe('drift-ledger');
    expect(localCreate).toEqual(cloudCreate);
    expect(sent.ttl).toEqual([{ TableName: 'drift-ledger', TimeToLiveSpecification }]);
    expect(TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  it('keeps every name under the prefix', async () => {
    // Prepare
    const recording = recordingClients();
    // Act
    const local = await provisionEmulatorResources({ endpoint: 'http://local', region: 'eu-west-1', namePrefix: 'p1' }, recording.clients);
    // Assess
    expect(local).toEqual({
      region: 'eu-west-1',
      endpoint: 'http://local',
      jobQueueUrl: 'http://local/000000000000/p1-jobs.fifo',
      deadLetterQueueUrl: 'http://local/000000000000/p1-dead-letters.fifo',
      ledgerTableName: 'p1-ledger',
      tokenSecretId: 'p1/graph-token',
      pinSecretPrefix: 'p1/pin/',
    });
  });

  describe('the webhook path', () => {
    /** What tools/webhook-resources.ts sends for the receiver's change log, and the receiver's environment. */
    async function provisionLocally() {
      const tables: CreateTableCommandInput[] = [];
      const ttl: UpdateTimeToLiveCommandInput[] = [];
      const dynamodb = {
        send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
          if (command.constructor.name === 'CreateTableCommand') tables.push(command.input as unknown as CreateTableCommandInput);
          if (command.constructor.name === 'UpdateTimeToLiveCommand') ttl.push(command.input as unknown as UpdateTimeToLiveCommandInput);
          return {};
        },
      };
      const sqs = {
        send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) =>
          command.constructor.name === 'CreateQueueCommand'
            ? { QueueUrl: `http://local/000000000000/${String(command.input.QueueName)}` }
            : { Attributes: { QueueArn: 'arn:aws:sqs:us-east-1:000000000000:events' } },
      };
      const accept = { send: async () => ({}) };
      const clients = { dynamodb, sqs, eventBridge: accept, secretsManager: accept } as unknown as Parameters<typeof provisionWebhookResources>[0];
      const local = await provisionWebhookResources(clients, { namePrefix: 'drift', appSecret: 'a', verifyToken: 'v' });
      return { tables, ttl, env: webhookReceiverEnv(local) };
    }

    it('creates the change log table with the template\'s key, billing and TTL', async () => {
      // Prepare
      const { stack, template } = synthRegistrar();
      const logicalId = (stack.resolve(stack.webhooks.changes.table.tableName) as { Ref: string }).Ref;
      const cloud = template().toJSON().Resources[logicalId].Properties as Record<string, unknown>;
      // Act
      const { tables, ttl } = await provisionLocally();
      const { TimeToLiveSpecification, ...cloudCreate } = Object.fromEntries(Object.entries(cloud).filter(([name]) => !(name in CLOUD_ONLY.table))) as Record<string, unknown>;
      const { TableName, ...localCreate } = tables[0]!;
      // Assess
      expect(tables).toHaveLength(1);
      expect(localCreate).toEqual(cloudCreate);
      expect(ttl).toEqual([{ TableName, TimeToLiveSpecification }]);
    });

    it('runs the receiver locally with the variables the stack sets', async () => {
      // Prepare
      const { stack, template } = synthRegistrar();
      const logicalId = (stack.resolve(stack.webhooks.fn.function.functionArn) as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
      const deployed = Object.keys(template().toJSON().Resources[logicalId].Properties.Environment.Variables);
      // Act
      const { env } = await provisionLocally();
      // Assess: every variable the local run names is one the stack sets (tied to a resource or a secret name)
      expect(deployed).toEqual(expect.arrayContaining(Object.keys(env)));
    });
  });
});
