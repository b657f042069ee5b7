import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FunctionUrlAuthType } from 'aws-cdk-lib/aws-lambda';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDeadlineWatchConfig } from '../../functions/deadline-watch/config.ts';
import { loadEventResolverConfig } from '../../functions/event-resolver/config.ts';
import { loadReceiverConfig, receiverConfigSchema } from '../../functions/webhook-receiver/config.ts';
import { PLACEHOLDERS } from '../../infra/alarm-runbook.ts';
import { EVENT_BUFFER_QUEUE, RESOLVER_TIMEOUT_SECONDS } from '../../infra/definitions.ts';
import type { RegistrarStack } from '../../infra/stacks/registrar-stack.ts';
import { EVENT_DETAIL_TYPES, EVENT_SOURCE, WEBHOOK_DETAIL_TYPES } from '../../shared/events/registrar-events.v1.ts';
import { METRICS } from '../../shared/metrics.ts';
import { flatten } from './helpers/iam-walker.ts';
import { synthRegistrar, type Synthesized } from './helpers/synth.ts';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };

// One bundled synth for the file: the three new handlers are bundled exactly as `cdk synth` bundles them.
let synthesized: Synthesized;
let stack: RegistrarStack;
let template: Template;
let resources: Record<string, Resource>;
const ref = (token: string): unknown => stack.resolve(token);
const logicalId = (token: string): string => {
  const value = ref(token) as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  return value.Ref ?? value['Fn::GetAtt']![0];
};
const propertiesOf = (token: string) => resources[logicalId(token)]!.Properties;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

beforeAll(() => {
  synthesized = synthRegistrar({ bundle: true });
  stack = synthesized.stack;
  template = synthesized.template();
  resources = template.toJSON().Resources;
});

/**
 * The deployed environment as Lambda would see it: references to queues become queue URLs, other references names.
 * Parsing it with the function's own config proves the stack sets every variable the code requires, valid.
 */
function deployedEnv(functionArn: string): Record<string, string> {
  const variables = propertiesOf(functionArn).Environment.Variables as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(variables).map(([name, value]) => [
      name,
      typeof value === 'string' ? value : name.endsWith('_URL') ? `https://sqs.eu-west-1.amazonaws.com/123456789012/${flatten(value).replace(/\W/g, '')}` : flatten(value),
    ]),
  );
}

describe('event bus', () => {
  it('is named after the stage, takes events from this account only (no bus policy), and archives every event for replay', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'wa-registrar-dev', Policy: Match.absent() });
    expect(ofType('AWS::Events::EventBusPolicy')).toEqual([]);
    template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: ref(stack.events.bus.eventBusArn),
      EventPattern: { account: [{ Ref: 'AWS::AccountId' }] },
      RetentionDays: 30,
    });
  });

  it('routes the webhook receiver\'s detail types from source wa-registrar only, to the buffer, with undeliverable events to the DLQ', () => {
    expect(propertiesOf(stack.events.rules.webhookEvents.ruleArn)).toMatchObject({
      EventBusName: ref(stack.events.bus.eventBusName),
      EventPattern: { source: [EVENT_SOURCE], 'detail-type': [...WEBHOOK_DETAIL_TYPES] },
      Targets: [{ Arn: ref(stack.events.bufferQueue.queueArn), DeadLetterConfig: { Arn: ref(stack.events.deadLetterQueue.queueArn) } }],
    });
  });

  it('routes ReRegistrationRequested from any source to the buffer', () => {
    const properties = propertiesOf(stack.events.rules.openRequests.ruleArn);
    expect(properties).toMatchObject({
      EventBusName: ref(stack.events.bus.eventBusName),
      EventPattern: { 'detail-type': ['ReRegistrationRequested'] },
      Targets: [{ Arn: ref(stack.events.bufferQueue.queueArn), DeadLetterConfig: { Arn: ref(stack.events.deadLetterQueue.queueArn) } }],
    });
    expect(properties.EventPattern.source).toBeUndefined();
  });

  it('routes every detail type of the event contract, each by exactly one rule', () => {
    // Act
    const routed = ofType('AWS::Events::Rule').flatMap(([, rule]) => (rule.Properties.EventPattern?.['detail-type'] ?? []) as string[]);
    // Assess
    expect([...routed].sort()).toEqual([...EVENT_DETAIL_TYPES].sort());
  });
});

describe('event buffer queue and its dead-letter queue', () => {
  it('the buffer is a standard, SSE-encrypted, retained queue that moves an event to the DLQ after 5 receives', () => {
    expect(resources[logicalId(stack.events.bufferQueue.queueArn)]).toMatchObject({
      Properties: {
        SqsManagedSseEnabled: true,
        RedrivePolicy: { deadLetterTargetArn: ref(stack.events.deadLetterQueue.queueArn), maxReceiveCount: 5 },
        MessageRetentionPeriod: 14 * 24 * 3600,
      },
      DeletionPolicy: 'Retain',
    });
    expect(propertiesOf(stack.events.bufferQueue.queueArn).FifoQueue).toBeUndefined();
    expect(EVENT_BUFFER_QUEUE.maxReceiveCount).toBe(5);
  });

  it('hides a received event at least 6x the resolver timeout', () => {
    // Act
    const resolverTimeout = propertiesOf(stack.resolver.function.functionArn).Timeout as number;
    // Assess
    expect(resolverTimeout).toBe(RESOLVER_TIMEOUT_SECONDS);
    expect(propertiesOf(stack.events.bufferQueue.queueArn).VisibilityTimeout).toBeGreaterThanOrEqual(6 * resolverTimeout);
  });

  it('the DLQ is SSE-encrypted, keeps events 14 days, has no DLQ of its own and is retained', () => {
    expect(resources[logicalId(stack.events.deadLetterQueue.queueArn)]).toMatchObject({
      Properties: { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 },
      DeletionPolicy: 'Retain',
    });
    expect(propertiesOf(stack.events.deadLetterQueue.queueArn).RedrivePolicy).toBeUndefined();
  });

  it.each([
    ['buffer', () => stack.events.bufferQueue],
    ['dead-letter queue', () => stack.events.deadLetterQueue],
  ])('the %s policy denies plain HTTP and lets only EventBridge, for these two rules, send', (_name, queue) => {
    // Prepare
    const rules = [stack.events.rules.webhookEvents, stack.events.rules.openRequests].map((rule) => ref(rule.ruleArn));
    const [, policy] = ofType('AWS::SQS::QueuePolicy').find(([, p]) => JSON.stringify(p.Properties.Queues) === JSON.stringify([ref(queue().queueUrl)]))!;
    // Act
    const statements = policy.Properties.PolicyDocument.Statement as Array<Record<string, any>>;
    const allows = statements.filter((s) => s.Effect === 'Allow');
    // Assess
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    expect(allows.map((s) => s.Principal)).toEqual([{ Service: 'events.amazonaws.com' }, { Service: 'events.amazonaws.com' }]);
    expect(allows.map((s) => s.Condition.ArnEquals['aws:SourceArn'])).toEqual(rules);
    for (const allow of allows) expect([allow.Action].flat()).toContain('sqs:SendMessage');
  });
});

describe('webhook receiver', () => {
  it('runs Node.js 24 on arm64 with a 10 s timeout and a claim timeout above it', () => {
    // Act
    const properties = propertiesOf(stack.webhooks.fn.function.functionArn);
    // Assess
    expect(properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Timeout: 10, Handler: 'index.handler' });
    expect(Number(properties.Environment.Variables.CLAIM_TIMEOUT_SECONDS)).toBeGreaterThan(properties.Timeout);
  });

  it('sets every variable the receiver reads, its config accepts them, and it sets none the config does not know', () => {
    // Act
    const env = deployedEnv(stack.webhooks.fn.function.functionArn);
    const config = loadReceiverConfig(env);
    // Assess
    expect(env).toMatchObject({
      APP_SECRET_ID: 'wa-registrar/dev/meta-app-secret',
      VERIFY_TOKEN_SECRET_ID: 'wa-registrar/dev/webhook-verify-token',
      EVENT_BUS_NAME: flatten(ref(stack.events.bus.eventBusName)),
      WEBHOOK_CHANGES_TABLE_NAME: flatten(ref(stack.webhooks.changes.table.tableName)),
      CLAIM_TIMEOUT_SECONDS: '60',
    });
    expect(config.CLAIM_TIMEOUT_SECONDS).toBe(60);
    const known = Object.keys(receiverConfigSchema.shape);
    const own = Object.keys(env).filter((name) => name !== 'NODE_OPTIONS' && !name.startsWith('POWERTOOLS_'));
    expect(known).toEqual(expect.arrayContaining(own));
  });

  it('reserves its concurrency (webhookConcurrency), and reserves none with 0', () => {
    // Prepare
    const none = synthRegistrar({ context: { webhookConcurrency: '0' } });
    // Act
    const reserved = propertiesOf(stack.webhooks.fn.function.functionArn).ReservedConcurrentExecutions;
    const withNone = none.template().toJSON().Resources[none.stack.getLogicalId(none.stack.webhooks.fn.function.node.defaultChild as never)].Properties;
    // Assess
    expect(reserved).toBe(10);
    expect(withNone.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('is reached through a Function URL without AWS auth (Meta signs with the app secret instead), and no CORS', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: FunctionUrlAuthType.NONE,
      InvokeMode: 'BUFFERED',
      TargetFunctionArn: ref(stack.webhooks.fn.function.functionArn),
      Cors: Match.absent(),
    });
  });

  it('keeps its change log in a table keyed by changeId, on demand, with TTL, PITR and encryption', () => {
    expect(propertiesOf(stack.webhooks.changes.table.tableArn)).toEqual({
      KeySchema: [{ AttributeName: 'changeId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'changeId', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });
});

/** Every way the stack lets anyone (`*`) call a function, as `<function logical id> <action> <condition>`. */
function publicInvocations(json: { Resources: Record<string, Resource> }): string[] {
  const found: string[] = [];
  for (const resource of Object.values(json.Resources)) {
    if (resource.Type === 'AWS::Lambda::Url' && resource.Properties.AuthType === 'NONE') found.push(`${flatten(resource.Properties.TargetFunctionArn)} url NONE`);
    if (resource.Type !== 'AWS::Lambda::Permission' || resource.Properties.Principal !== '*') continue;
    const via = resource.Properties.FunctionUrlAuthType ? `FunctionUrlAuthType=${resource.Properties.FunctionUrlAuthType}` : resource.Properties.InvokedViaFunctionUrl ? 'InvokedViaFunctionUrl' : 'any way';
    found.push(`${flatten(resource.Properties.FunctionName)} ${resource.Properties.Action} ${via}`);
  }
  return found.sort();
}

describe('the public surface', () => {
  it('is the webhook receiver\'s Function URL, and nothing else: no other function is public, and the receiver only through its URL', () => {
    // Prepare
    const receiver = flatten(ref(stack.webhooks.fn.function.functionArn));
    // Act
    const found = publicInvocations(template.toJSON() as never);
    // Assess
    expect(found).toEqual([`${receiver} lambda:InvokeFunction InvokedViaFunctionUrl`, `${receiver} lambda:InvokeFunctionUrl FunctionUrlAuthType=NONE`, `${receiver} url NONE`].sort());
  });

  it('catches a second public URL (the failing half)', () => {
    // Prepare
    const exposed = synthRegistrar({ nag: false, customize: (s) => void s.worker.function.addFunctionUrl({ authType: FunctionUrlAuthType.NONE }) });
    // Act
    const found = publicInvocations(exposed.template().toJSON() as never);
    // Assess
    expect(found).toContainEqual(`${flatten(exposed.stack.resolve(exposed.stack.worker.function.functionArn))} url NONE`);
  });
});

describe('event resolver', () => {
  it('is fed by the buffer with partial batch failures, batches of 10 and bounded concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: ref(stack.events.bufferQueue.queueArn),
      FunctionName: ref(stack.resolver.function.functionName),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('sets every variable the resolver reads, tied to this stack, and its config accepts them', () => {
    // Act
    const variables = propertiesOf(stack.resolver.function.functionArn).Environment.Variables;
    const config = loadEventResolverConfig(deployedEnv(stack.resolver.function.functionArn));
    // Assess
    expect(variables).toMatchObject({
      GRAPH_API_BASE_URL: 'https://graph.facebook.com',
      GRAPH_API_VERSION: 'v25.0',
      GRAPH_TIMEOUT_MS: '10000',
      LEDGER_TABLE_NAME: ref(stack.ledger.table.tableName),
      JOB_QUEUE_URL: ref(stack.jobs.queue.queueUrl),
      EVENTS_DEAD_LETTER_QUEUE_URL: ref(stack.events.deadLetterQueue.queueUrl),
      TOKEN_SECRET_ID: 'wa-registrar/dev/graph-token',
      TOKEN_SECRET_PREFIX: 'wa-registrar/dev/token/',
    });
    expect(config.TOKEN_SECRET_PREFIX).toBe('wa-registrar/dev/token/');
    // Never a PIN or a backup: the resolver only lists numbers, with the app's token or the business's own.
    expect(variables.PIN_SECRET_PREFIX).toBeUndefined();
    expect(variables.BACKUP_SECRET_PREFIX).toBeUndefined();
    expect(config.GRAPH_TIMEOUT_MS * 10).toBeLessThan(RESOLVER_TIMEOUT_SECONDS * 1000);
  });
});

describe('deadline watch', () => {
  it('runs every hour with the ledger and the warning days, and its config accepts them', () => {
    // Act
    const config = loadDeadlineWatchConfig(deployedEnv(stack.deadlineWatch.fn.function.functionArn));
    // Assess
    expect(propertiesOf(stack.deadlineWatch.rule.ruleArn)).toMatchObject({
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [expect.objectContaining({ Arn: ref(stack.deadlineWatch.fn.function.functionArn) })],
    });
    expect(propertiesOf(stack.deadlineWatch.fn.function.functionArn).Environment.Variables).toMatchObject({
      LEDGER_TABLE_NAME: ref(stack.ledger.table.tableName),
      DEADLINE_WARN_DAYS: '3',
    });
    expect(config.DEADLINE_WARN_DAYS).toBe(3);
  });
});

describe('alarms of the webhook path', () => {
  const alarm = (slug: string) => {
    const found = ofType('AWS::CloudWatch::Alarm').find(([, a]) => a.Properties.AlarmName === `wa-registrar-dev/${slug}`);
    expect(found, slug).toBeDefined();
    return found![1].Properties;
  };
  type Query = { Id: string; Expression?: string; ReturnData?: boolean; MetricStat?: { Metric: Record<string, unknown>; Stat: string; Period: number } };
  const inputs = (properties: Record<string, any>) =>
    Object.fromEntries((properties.Metrics as Query[]).filter((q) => q.MetricStat).map((q) => [q.Id, { ...q.MetricStat!.Metric, Stat: q.MetricStat!.Stat }]));
  const fn = (token: string) => [{ Name: 'FunctionName', Value: ref(token) }];

  it('event-dead-letters: the events DLQ holds anything, visible or in flight', () => {
    // Act
    const properties = alarm('event-dead-letters');
    // Assess
    expect(properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
    expect((properties.Metrics as Query[]).find((q) => q.ReturnData !== false)!.Expression).toBe('FILL(visible, 0) + FILL(inFlight, 0)');
    const queue = [{ Name: 'QueueName', Value: ref(stack.events.deadLetterQueue.queueName) }];
    expect(inputs(properties)).toEqual({
      visible: { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: queue, Stat: 'Maximum' },
      inFlight: { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesNotVisible', Dimensions: queue, Stat: 'Maximum' },
    });
  });

  it('name-deadline-at-risk: NameDeadlineAtRisk ≥ 1 in the hour the watch reported it', () => {
    // Act
    const properties = alarm('name-deadline-at-risk');
    // Assess
    expect(properties).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    expect(properties.Metrics[0].MetricStat).toEqual({
      Metric: { Namespace: METRICS.namespace, MetricName: METRICS.nameDeadlineAtRisk, Dimensions: [{ Name: 'service', Value: METRICS.service }] },
      Stat: 'Maximum',
      Period: 3600,
    });
  });

  it('webhook-receiver-errors: any 5xx answer of the Function URL or any error of the receiver', () => {
    // Act
    const properties = alarm('webhook-receiver-errors');
    // Assess
    expect(properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(inputs(properties)).toEqual({
      url5xx: { Namespace: 'AWS/Lambda', MetricName: 'Url5xxCount', Dimensions: fn(stack.webhooks.fn.function.functionName), Stat: 'Sum' },
      errors: { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: fn(stack.webhooks.fn.function.functionName), Stat: 'Sum' },
    });
  });

  it.each([
    ['event-resolver-errors', () => stack.resolver.function.functionName, 300],
    ['deadline-watch-errors', () => stack.deadlineWatch.fn.function.functionName, 3600],
  ])('%s fires on any Lambda error of its function', (slug, functionName, period) => {
    // Act
    const properties = alarm(slug);
    // Assess
    expect(properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', MetricName: 'Errors', Dimensions: fn(functionName()), Period: period });
  });

  it('every alarm description fits CloudWatch\'s 1024 characters with its references filled in, and names no placeholder', () => {
    expect(ofType('AWS::CloudWatch::Alarm').length).toBeGreaterThan(20);
    for (const [, a] of ofType('AWS::CloudWatch::Alarm')) {
      // Prepare: a reference becomes at most ~150 characters (a queue URL, a log group name)
      const text = flatten(a.Properties.AlarmDescription);
      const references = (text.match(/<[A-Za-z0-9:.]+>/g) ?? []).length;
      // Act
      const longest = text.replace(/<[A-Za-z0-9:.]+>/g, '').length + 150 * references;
      // Assess
      expect(longest, a.Properties.AlarmName).toBeLessThanOrEqual(1024);
      for (const name of Object.keys(PLACEHOLDERS)) expect(text, a.Properties.AlarmName).not.toContain(`<${name}>`);
    }
  });
});

describe('bundles', () => {
  it.each([
    ['webhook receiver', () => stack.webhooks.fn.function.functionArn],
    ['event resolver', () => stack.resolver.function.functionArn],
    ['deadline watch', () => stack.deadlineWatch.fn.function.functionArn],
  ])('bundles the %s as ESM exporting handler, the SDK inside', (_name, functionArn) => {
    // Prepare
    const assembly = synthesized.app.synth();
    const code = propertiesOf(functionArn()).Code as { S3Key: string };
    const manifest = JSON.parse(readFileSync(join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf8')) as {
      files: Record<string, { source: { path: string }; destinations: Record<string, { objectKey: string }> }>;
    };
    const asset = Object.values(manifest.files).find((file) => Object.values(file.destinations).some((d) => d.objectKey === code.S3Key));
    // Act
    const bundle = readFileSync(join(assembly.directory, asset!.source.path, 'index.mjs'), 'utf8');
    // Assess
    expect(bundle).toMatch(/export\s*\{[^}]*\bhandler\b/);
    expect(bundle).not.toMatch(/from\s*["']@aws-sdk\//);
  });
});
