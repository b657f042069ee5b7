import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_QUEUE, JOB_QUEUE, METRICS, WORKER_MAX_DELIVERIES } from '../../infra/definitions.ts';
import type { RegistrarStack } from '../../infra/stacks/registrar-stack.ts';
import { synthRegistrar, type Synthesized } from './helpers/synth.ts';

// One bundled synth for the whole file: this is the stack exactly as `cdk synth` builds it.
let synthesized: Synthesized;
let stack: RegistrarStack;
let template: Template;
/** A resource's reference as CloudFormation renders it. */
const ref = (token: string): unknown => stack.resolve(token);
const logicalId = (resolved: unknown): string => {
  const value = resolved as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  return value.Ref ?? value['Fn::GetAtt']![0];
};

beforeAll(() => {
  synthesized = synthRegistrar({ bundle: true });
  stack = synthesized.stack;
  template = synthesized.template();
});

describe('job queue and dead-letter queue', () => {
  it.each([
    ['job queue', () => stack.jobs.queue],
    ['dead-letter queue', () => stack.jobs.deadLetterQueue],
  ])('%s is FIFO, deduplicated by the producer, SSE-encrypted and retained', (_name, queue) => {
    // Act
    const resource = template.toJSON().Resources[logicalId(ref(queue().queueArn))];
    // Assess
    expect(resource).toMatchObject({
      Type: 'AWS::SQS::Queue',
      Properties: { FifoQueue: true, ContentBasedDeduplication: false, SqsManagedSseEnabled: true },
      DeletionPolicy: 'Retain',
    });
  });

  it('redrives to the DLQ after 10 receives, a backstop above the worker\'s own MAX_DELIVERIES', () => {
    // Assess
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: ref(stack.jobs.deadLetterQueue.queueArn), maxReceiveCount: 10 },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ MAX_DELIVERIES: String(WORKER_MAX_DELIVERIES) }) },
    });
    expect(JOB_QUEUE.maxReceiveCount).toBeGreaterThan(WORKER_MAX_DELIVERIES);
  });

  it('keeps dead letters 14 days', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { FifoQueue: true, MessageRetentionPeriod: 14 * 24 * 3600, RedrivePolicy: Match.absent() });
    expect(DEAD_LETTER_QUEUE.retentionSeconds).toBe(14 * 24 * 3600);
  });

  it('hides a received job at least 6x the worker timeout', () => {
    // Prepare
    const resources = template.toJSON().Resources;
    const worker = resources[logicalId(ref(stack.worker.function.functionArn))].Properties;
    const queue = resources[logicalId(ref(stack.jobs.queue.queueArn))].Properties;
    // Assess
    expect(worker.Timeout).toBe(180);
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * worker.Timeout);
  });

  it.each([
    ['job queue', () => stack.jobs.queue],
    ['dead-letter queue', () => stack.jobs.deadLetterQueue],
  ])('the %s policy denies every request without TLS', (_name, queue) => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(queue().queueUrl)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('gives producers a managed policy that may only send to the job queue, exported as ProducerPolicyArn', () => {
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [{ Effect: 'Allow', Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], Resource: ref(stack.jobs.queue.queueArn), Sid: 'SendJobs' }],
      },
    });
    template.hasOutput('ProducerPolicyArn', { Value: ref(stack.jobs.producerPolicy.managedPolicyArn) });
  });
});

describe('attempt ledger table', () => {
  it('has the key layout of LEDGER_KEYS, on demand, with TTL on expiresAt', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('is encrypted, has point-in-time recovery and survives stack deletion', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('worker function', () => {
  it('runs Node.js 24 on arm64 with 512 MB and 180 s', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: Match.absent(),
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 180,
      Handler: 'index.handler',
      LoggingConfig: { LogGroup: ref(stack.worker.logGroup.logGroupName) },
    });
  });

  it('has every variable the worker config reads, tied to the resources of this stack', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          GRAPH_API_BASE_URL: 'https://graph.facebook.com',
          GRAPH_API_VERSION: 'v25.0',
          GRAPH_TIMEOUT_MS: '30000',
          LEDGER_TABLE_NAME: ref(stack.ledger.table.tableName),
          JOB_QUEUE_URL: ref(stack.jobs.queue.queueUrl),
          DEAD_LETTER_QUEUE_URL: ref(stack.jobs.deadLetterQueue.queueUrl),
          TOKEN_SECRET_ID: 'wa-registrar/graph-token',
          PIN_SECRET_PREFIX: 'wa-registrar/pin/',
          ATTEMPT_LIMIT: '10',
          ATTEMPT_WINDOW_HOURS: '72',
          ATTEMPT_BUDGET_SHARED: 'true',
          MAX_DELIVERIES: '6',
          WORKER_TIMEOUT_SECONDS: '180',
          JOB_QUEUE_MAX_RECEIVES: '10',
          POWERTOOLS_SERVICE_NAME: 'wa-registrar',
          POWERTOOLS_METRICS_NAMESPACE: 'WaRegistrar',
        },
      },
    });
  });

  it('tells the worker its own timeout and the job queue\'s maxReceiveCount, as deployed (the config cross-checks them)', () => {
    // Prepare
    const resources = template.toJSON().Resources;
    const worker = resources[logicalId(ref(stack.worker.function.functionArn))].Properties;
    const queue = resources[logicalId(ref(stack.jobs.queue.queueArn))].Properties;
    // Act
    const variables = worker.Environment.Variables;
    // Assess
    expect(variables.WORKER_TIMEOUT_SECONDS).toBe(String(worker.Timeout));
    expect(variables.JOB_QUEUE_MAX_RECEIVES).toBe(String(queue.RedrivePolicy.maxReceiveCount));
    expect(Number(variables.MAX_DELIVERIES)).toBeLessThan(Number(variables.JOB_QUEUE_MAX_RECEIVES));
  });

  it('is fed by the job queue with partial batch failures, batches of 10 and bounded concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: ref(stack.jobs.queue.queueArn),
      FunctionName: ref(stack.worker.function.functionName),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 10 },
      // Lambda rejects a batching window on FIFO queues.
      MaximumBatchingWindowInSeconds: Match.absent(),
    });
  });

  it('logs to its own log group with a retention', () => {
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 90 },
      DeletionPolicy: 'Retain',
    });
    const logGroups = template.findResources('AWS::Logs::LogGroup');
    expect(logGroups[logicalId(ref(stack.worker.logGroup.logGroupName))]?.Properties?.RetentionInDays).toBe(90);
  });

  it('is bundled as minified ESM with a require shim and a source map', () => {
    // Prepare: the bundled assets of this synth
    const assembly = synthesized.app.synth();
    const code = template.toJSON().Resources[logicalId(ref(stack.worker.function.functionArn))].Properties.Code;
    const manifest = JSON.parse(readFileSync(join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf8')) as {
      files: Record<string, { source: { path: string }; destinations: Record<string, { objectKey: string }> }>;
    };
    const asset = Object.values(manifest.files).find((file) => Object.values(file.destinations).some((d) => d.objectKey === code.S3Key));
    // Act
    const dir = join(assembly.directory, asset!.source.path);
    const bundle = readFileSync(join(dir, 'index.mjs'), 'utf8');
    // Assess
    expect(bundle.startsWith("import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);")).toBe(true);
    expect(bundle).toMatch(/export\s*\{[^}]*\bhandler\b/);
    expect(bundle).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
    expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
    // Minified: very long lines (template literals keep some newlines). The SDK is inside (bundleAwsSDK).
    expect(bundle.length / bundle.split('\n').length).toBeGreaterThan(1000);
    expect(bundle).not.toMatch(/from\s*["']@aws-sdk\//);
  });
});

describe('scheduled redrive', () => {
  it('runs every 15 minutes with the queue URLs, the ledger and the secret names it needs', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: ref(stack.redrive!.fn.function.functionArn) })],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Environment: {
        Variables: Match.objectLike({
          JOB_QUEUE_URL: ref(stack.jobs.queue.queueUrl),
          DEAD_LETTER_QUEUE_URL: ref(stack.jobs.deadLetterQueue.queueUrl),
          LEDGER_TABLE_NAME: ref(stack.ledger.table.tableName),
          TOKEN_SECRET_ID: 'wa-registrar/graph-token',
          PIN_SECRET_PREFIX: 'wa-registrar/pin/',
        }),
      },
      LoggingConfig: { LogGroup: ref(stack.redrive!.fn.logGroup.logGroupName) },
    });
  });

  it('is left out with -c scheduledRedrive=false', () => {
    // Prepare
    const off = synthRegistrar({ context: { scheduledRedrive: 'false' } });
    // Act
    const rules = off.template().findResources('AWS::Events::Rule');
    // Assess
    expect(off.stack.redrive).toBeUndefined();
    expect(rules).toEqual({});
  });
});

describe('alarms', () => {
  const topicRef = () => ref(stack.alarms.topic.topicArn);

  it.each([
    ['DLQ depth > 0', { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0 }, () => stack.jobs.deadLetterQueue.queueName],
    ['oldest job age', { Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage' }, () => stack.jobs.queue.queueName],
    ['worker errors', { Namespace: 'AWS/Lambda', MetricName: 'Errors', Threshold: 0 }, () => stack.worker.function.functionName],
    ['worker throttles', { Namespace: 'AWS/Lambda', MetricName: 'Throttles', Threshold: 0 }, () => stack.worker.function.functionName],
    ['scheduled redrive errors', { Namespace: 'AWS/Lambda', MetricName: 'Errors', Threshold: 0 }, () => stack.redrive!.fn.function.functionName],
  ])('%s notifies the alarm topic', (_name, metric, dimension) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...metric,
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [Match.objectLike({ Value: ref(dimension()) })],
      AlarmActions: [topicRef()],
      OKActions: [topicRef()],
    });
  });

  it('every alarm in the stack notifies the topic', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([topicRef()]);
  });

  it('the oldest-job alarm tolerates a deliberate one-day park', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: Match.anyValue(),
    });
    const alarm = Object.values(template.findResources('AWS::CloudWatch::Alarm')).find(
      (a) => a.Properties.MetricName === 'ApproximateAgeOfOldestMessage',
    );
    expect(alarm!.Properties.Threshold).toBeGreaterThan(24 * 3600);
  });

  it('the topic is encrypted with a rotating key CloudWatch may use, and refuses plain HTTP', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: ref(stack.alarms.key.keyArn) });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('subscribes an e-mail only when alarmEmail is set', () => {
    // Prepare
    const withEmail = synthRegistrar({ context: { alarmEmail: 'oncall@example.com' } }).template();
    // Assess
    withEmail.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
    expect(template.findResources('AWS::SNS::Subscription')).toEqual({});
  });
});

describe('dashboard', () => {
  it('shows jobs processed, outcomes by category, Graph latency and DLQ depth from the worker\'s metric names', () => {
    // Prepare
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards[0]!.Properties.DashboardName).toBe('wa-registrar-dev');
    // Act
    const body = JSON.stringify(dashboards[0]!.Properties.DashboardBody);
    // Assess
    for (const title of ['Jobs processed', 'Outcomes', 'Dead letters by category', 'Graph latency (ms)', 'Dead-letter queue depth']) {
      expect(body).toContain(title);
    }
    expect(body).toContain(`"${METRICS.namespace}\\",\\"${METRICS.jobOutcome}\\"`);
    for (const outcome of METRICS.outcomes.filter((o) => o !== 'dead_lettered')) expect(body).toContain(`\\"outcome\\",\\"${outcome}\\"`);
    for (const category of METRICS.deadLetterCategories) expect(body).toContain(`\\"category\\",\\"${category}\\"`);
    for (const operation of METRICS.graphOperations) expect(body).toContain(`\\"operation\\",\\"${operation}\\"`);
    // The worker's newer outcome and categories are on it too (METRICS derives them from the envelope schema).
    for (const category of ['pin_rejected', 'pin_locked', 'token_rejected']) expect(body).toContain(`\\"category\\",\\"${category}\\"`);
    expect(body).toContain('\\"outcome\\",\\"wait\\"');
    expect(body).toContain(METRICS.graphLatency);
    expect(body).toContain(`\\"service\\",\\"${METRICS.service}\\"`);
    expect(body).toContain('ApproximateNumberOfMessagesVisible');
  });
});

describe('secrets and outputs', () => {
  it('creates no secret: the token and PINs are referenced by name', () => {
    expect(template.findResources('AWS::SecretsManager::Secret')).toEqual({});
  });

  it.each([
    ['JobQueueUrl', () => ref(stack.jobs.queue.queueUrl)],
    ['JobQueueArn', () => ref(stack.jobs.queue.queueArn)],
    ['DeadLetterQueueUrl', () => ref(stack.jobs.deadLetterQueue.queueUrl)],
    ['LedgerTableName', () => ref(stack.ledger.table.tableName)],
    ['TokenSecretId', () => 'wa-registrar/graph-token'],
    ['PinSecretPrefix', () => 'wa-registrar/pin/'],
    ['ProducerPolicyArn', () => ref(stack.jobs.producerPolicy.managedPolicyArn)],
    ['AlarmTopicArn', () => ref(stack.alarms.topic.topicArn)],
    ['Region', () => ({ Ref: 'AWS::Region' })],
  ])('outputs %s for the ops CLI and upstream systems', (key, value) => {
    template.hasOutput(key, { Value: value() });
  });
});
