import type { CreateTableCommandInput, UpdateTimeToLiveCommandInput } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient, PutRuleCommandInput, PutTargetsCommandInput } from '@aws-sdk/client-eventbridge';
import type { CreateSecretCommandInput } from '@aws-sdk/client-secrets-manager';
import type { CreateQueueCommandInput } from '@aws-sdk/client-sqs';
import type { CfnRule } from 'aws-cdk-lib/aws-events';
import type { CfnQueue } from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AwsClients } from '../../shared/aws-clients.ts';
import { LOCAL_WEBHOOK_SECRETS, localResolverEnv, provisionEmulatorResources } from '../../tools/emulator-resources.ts';
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
  rule: {
    Description: 'prose for the console; the pattern, state and targets are what route events',
    EventBusName: 'a reference to the bus; the local rules are put on the local bus by name',
  },
} as const;

interface Sent {
  queues: CreateQueueCommandInput[];
  tables: CreateTableCommandInput[];
  ttl: UpdateTimeToLiveCommandInput[];
  buses: string[];
  rules: PutRuleCommandInput[];
  targets: PutTargetsCommandInput[];
  secrets: CreateSecretCommandInput[];
}

/** Records what provisioning sends; answers like the emulator. */
function recordingClients(): { clients: AwsClients & { eventBridge: EventBridgeClient }; sent: Sent } {
  const sent: Sent = { queues: [], tables: [], ttl: [], buses: [], rules: [], targets: [], secrets: [] };
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
  const eventBridge = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      if (command.constructor.name === 'CreateEventBusCommand') sent.buses.push(String(command.input.Name));
      else if (command.constructor.name === 'PutRuleCommand') sent.rules.push(command.input as unknown as PutRuleCommandInput);
      else if (command.constructor.name === 'PutTargetsCommand') sent.targets.push(command.input as unknown as PutTargetsCommandInput);
      else throw new Error(`unexpected EventBridge call ${command.constructor.name}`);
      return {};
    },
  };
  const secretsManager = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      if (command.constructor.name !== 'CreateSecretCommand') throw new Error(`unexpected Secrets Manager call ${command.constructor.name}`);
      sent.secrets.push(command.input as unknown as CreateSecretCommandInput);
      return {};
    },
  };
  return { clients: { sqs, dynamodb, secretsManager, eventBridge } as unknown as AwsClients & { eventBridge: EventBridgeClient }, sent };
}

type Resource = { Type: string; Properties: Record<string, unknown> };

describe('local stack = cloud stack', () => {
  let resources: Record<string, Resource>;
  let sent: Sent;
  let jobQueueLogicalId: string;
  let deadLetterQueueLogicalId: string;
  let ledgerLogicalId: string;
  let provisioned: Awaited<ReturnType<typeof provisionEmulatorResources>>;

  beforeAll(async () => {
    const { stack, template } = synthRegistrar();
    resources = template().toJSON().Resources;
    jobQueueLogicalId = (stack.resolve(stack.jobs.queue.queueArn) as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    deadLetterQueueLogicalId = (stack.resolve(stack.jobs.deadLetterQueue.queueArn) as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    ledgerLogicalId = (stack.resolve(stack.ledger.table.tableName) as { Ref: string }).Ref;
    const recording = recordingClients();
    sent = recording.sent;
    provisioned = await provisionEmulatorResources({ endpoint: 'http://local', region: 'us-east-1', namePrefix: 'drift' }, recording.clients);
  });

  const localQueue = (suffix: string) => {
    const queue = sent.queues.find((q) => q.QueueName === `drift-${suffix}.fifo` || q.QueueName === `drift-${suffix}`);
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

  it('provisions the queues the stack has: two FIFO queues for jobs, two standard ones for events, and nothing else', () => {
    const cloudQueues = Object.values(resources).filter((r) => r.Type === 'AWS::SQS::Queue');
    expect(cloudQueues.filter((r) => r.Properties.FifoQueue === true)).toHaveLength(sent.queues.filter((q) => q.Attributes?.FifoQueue === 'true').length);
    expect(cloudQueues).toHaveLength(sent.queues.length);
    expect(sent.queues.map((q) => q.QueueName).sort()).toEqual(['drift-dead-letters.fifo', 'drift-event-buffer', 'drift-event-dead-letters', 'drift-jobs.fifo']);
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
    const local = sent.tables.find((table) => table.TableName === 'drift-ledger')!;
    // Act
    const { TimeToLiveSpecification, ...cloudCreate } = Object.fromEntries(
      Object.entries(cloud).filter(([name]) => !(name in CLOUD_ONLY.table)),
    ) as typeof cloud;
    const { TableName, ...localCreate } = local;
    // Assess: the ledger and the change log (compared below), nothing else
    expect(sent.tables.map((table) => table.TableName)).toEqual(['drift-ledger', 'drift-webhook-changes']);
    expect(TableName).toBe('drift-ledger');
    expect(localCreate).toEqual(cloudCreate);
    expect(sent.ttl.filter((ttl) => ttl.TableName === 'drift-ledger')).toEqual([{ TableName: 'drift-ledger', TimeToLiveSpecification }]);
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
      eventBusName: 'p1-events',
      eventQueueUrl: 'http://local/000000000000/p1-event-buffer',
      eventsDeadLetterQueueUrl: 'http://local/000000000000/p1-event-dead-letters',
      changeTableName: 'p1-webhook-changes',
      appSecretId: 'p1/meta-app-secret',
      verifyTokenSecretId: 'p1/webhook-verify-token',
    });
    expect(recording.sent.rules.map((rule) => rule.Name)).toEqual(['p1-webhook-events', 'p1-open-requests']);
  });

  describe('the event path', () => {
    const localArn = (name: string) => `arn:aws:sqs:us-east-1:000000000000:drift-${name}`;
    const logicalIdOf = (arn: string, stack = synthRegistrar().stack) => (stack.resolve(arn) as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];

    /** The template's rules on the events bus, with what routes an event: pattern, state and targets (ARNs mapped to the local queues). */
    function cloudRules(template: Record<string, Resource>, ids: { bus: string; buffer: string; deadLetters: string }) {
      const local: Record<string, string> = { [ids.buffer]: localArn('event-buffer'), [ids.deadLetters]: localArn('event-dead-letters') };
      const arnOf = (value: unknown) => local[(value as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0]] ?? JSON.stringify(value);
      return Object.values(template)
        .filter((r) => r.Type === 'AWS::Events::Rule' && (r.Properties.EventBusName as { Ref?: string } | undefined)?.Ref === ids.bus)
        .map((r) => {
          const { Targets, ...rest } = Object.fromEntries(Object.entries(r.Properties).filter(([name]) => !(name in CLOUD_ONLY.rule))) as {
            Targets: Array<{ Id: string; Arn: unknown; DeadLetterConfig?: { Arn: unknown } }>;
          } & Record<string, unknown>;
          return {
            ...rest,
            Targets: Targets.map((target) => ({ Id: target.Id, Arn: arnOf(target.Arn), ...(target.DeadLetterConfig ? { DeadLetterConfig: { Arn: arnOf(target.DeadLetterConfig.Arn) } } : {}) })),
          };
        });
    }

    /** The rules provisioning put on the local bus, in the template's shape. */
    const localRules = (recorded: Sent) =>
      recorded.rules.map((rule) => ({
        EventPattern: JSON.parse(rule.EventPattern!),
        State: rule.State,
        Targets: recorded.targets.filter((target) => target.Rule === rule.Name).flatMap((target) => target.Targets ?? []),
      }));

    const stackIds = () => {
      const { stack, template } = synthRegistrar();
      return {
        template: template().toJSON().Resources as Record<string, Resource>,
        bus: (stack.resolve(stack.events.bus.eventBusName) as { Ref: string }).Ref,
        buffer: logicalIdOf(stack.events.bufferQueue.queueArn, stack),
        deadLetters: logicalIdOf(stack.events.deadLetterQueue.queueArn, stack),
      };
    };

    it('creates the events dead-letter queue with the template\'s attributes', () => {
      // Prepare
      const ids = stackIds();
      // Act
      const expected = asAttributes(ids.template[ids.deadLetters]!.Properties, '');
      // Assess
      expect(localQueue('event-dead-letters')).toEqual(expected);
    });

    it('creates the resolver\'s buffer queue as a standard queue with the template\'s attributes, redriving to the local events DLQ', () => {
      // Prepare
      const ids = stackIds();
      const cloud = ids.template[ids.buffer]!.Properties as { RedrivePolicy: { deadLetterTargetArn: unknown } };
      // Act
      const expected = asAttributes(cloud as Record<string, unknown>, localArn('event-dead-letters'));
      // Assess
      expect(cloud.RedrivePolicy.deadLetterTargetArn).toEqual({ 'Fn::GetAtt': [ids.deadLetters, 'Arn'] });
      expect(localQueue('event-buffer')).toEqual(expected);
      expect(localQueue('event-buffer').FifoQueue).toBeUndefined();
    });

    it('puts the template\'s two rules on the local bus: same patterns and state, targeting the buffer with the events DLQ', () => {
      // Prepare
      const ids = stackIds();
      // Act
      const cloud = cloudRules(ids.template, ids);
      const local = localRules(sent);
      // Assess
      expect(cloud).toHaveLength(2);
      expect(local).toEqual(expect.arrayContaining(cloud));
      expect(local).toHaveLength(cloud.length);
      expect(sent.buses).toEqual([provisioned.eventBusName]);
      expect(sent.rules.every((rule) => rule.EventBusName === provisioned.eventBusName)).toBe(true);
    });

    it('detects drift: a stack whose rule routes other detail types fails the comparison', () => {
      // Prepare: the failing half, a rule whose pattern no longer comes from the shared constants
      const { stack, template } = synthRegistrar({
        customize: (s) => ((s.events.rules.openRequests.node.defaultChild as CfnRule).eventPattern = { 'detail-type': ['SomethingElse'] }),
      });
      const ids = {
        bus: (stack.resolve(stack.events.bus.eventBusName) as { Ref: string }).Ref,
        buffer: logicalIdOf(stack.events.bufferQueue.queueArn, stack),
        deadLetters: logicalIdOf(stack.events.deadLetterQueue.queueArn, stack),
      };
      // Act
      const drifted = cloudRules(template().toJSON().Resources, ids);
      // Assess
      expect(localRules(sent)).not.toEqual(expect.arrayContaining(drifted));
    });

    it('creates the webhook secrets the receiver reads, named like the stack\'s, with the local values', () => {
      // Prepare
      const { stack, template } = synthRegistrar();
      const cloudEnv = template().toJSON().Resources[logicalIdOf(stack.webhooks.fn.function.functionArn, stack)].Properties.Environment.Variables as Record<string, string>;
      // Act
      const created = Object.fromEntries(sent.secrets.map((secret) => [secret.Name, secret.SecretString]));
      // Assess
      expect(created).toEqual({ [provisioned.appSecretId]: LOCAL_WEBHOOK_SECRETS.appSecret, [provisioned.verifyTokenSecretId]: LOCAL_WEBHOOK_SECRETS.verifyToken });
      expect(provisioned.appSecretId.split('/').pop()).toBe(cloudEnv.APP_SECRET_ID!.split('/').pop());
      expect(provisioned.verifyTokenSecretId.split('/').pop()).toBe(cloudEnv.VERIFY_TOKEN_SECRET_ID!.split('/').pop());
    });

    it('runs the resolver locally with the variables the stack sets', () => {
      // Prepare
      const { stack, template } = synthRegistrar();
      const deployed = template().toJSON().Resources[logicalIdOf(stack.resolver.function.functionArn, stack)].Properties.Environment.Variables as Record<string, unknown>;
      // Act
      const env = localResolverEnv(provisioned, 'http://127.0.0.1:1');
      // Assess: every variable named, and the queue it names is the stack's events DLQ
      expect(Object.keys(deployed)).toEqual(expect.arrayContaining(Object.keys(env)));
      expect(deployed.EVENTS_DEAD_LETTER_QUEUE_URL).toEqual({ Ref: logicalIdOf(stack.events.deadLetterQueue.queueArn, stack) });
      expect(env.EVENTS_DEAD_LETTER_QUEUE_URL).toBe(provisioned.eventsDeadLetterQueueUrl);
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
