import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { alarmSlugs, OLDEST_DEAD_LETTER_ALARM_SECONDS, OLDEST_JOB_ALARM_SECONDS } from '../../infra/alarm-runbook.ts';
import { DEAD_LETTER_QUEUE, JOB_QUEUE, WORKER_MAX_DELIVERIES } from '../../infra/definitions.ts';
import { loadConfig } from '../../shared/config.ts';
import { METRICS, PERSON_CATEGORIES } from '../../shared/metrics.ts';
import { STACK_OUTPUT_KEYS } from '../../shared/stack-outputs.ts';
import type { RegistrarStack } from '../../infra/stacks/registrar-stack.ts';
import { flatten } from './helpers/iam-walker.ts';
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
          TOKEN_SECRET_ID: 'wa-registrar/dev/graph-token',
          TOKEN_SECRET_PREFIX: 'wa-registrar/dev/token/',
          PIN_SECRET_PREFIX: 'wa-registrar/dev/pin/',
          BACKUP_SECRET_PREFIX: 'wa-registrar/dev/backup/',
          ATTEMPT_LIMIT: '10',
          ATTEMPT_WINDOW_HOURS: '72',
          ATTEMPT_BUDGET_SHARED: 'true',
          MAX_DELIVERIES: '6',
          WORKER_TIMEOUT_SECONDS: '180',
          JOB_QUEUE_MAX_RECEIVES: '10',
          POWERTOOLS_SERVICE_NAME: METRICS.service,
          POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
        },
      },
    });
  });

  it('sets variables the worker config accepts, cross-checks included (no secret prefix starts with another)', () => {
    // Prepare
    const variables = template.toJSON().Resources[logicalId(ref(stack.worker.function.functionArn))].Properties.Environment.Variables as Record<string, unknown>;
    // Act: references as Lambda would see them (a queue's URL, a table's name)
    const config = loadConfig(
      Object.fromEntries(
        Object.entries(variables).map(([name, value]) => [
          name,
          typeof value === 'string' ? value : name.endsWith('_URL') ? `https://sqs.eu-west-1.amazonaws.com/123456789012/${flatten(value).replace(/\W/g, '')}` : flatten(value),
        ]),
      ),
    );
    // Assess
    expect(config).toMatchObject({ TOKEN_SECRET_PREFIX: 'wa-registrar/dev/token/', PIN_SECRET_PREFIX: 'wa-registrar/dev/pin/', BACKUP_SECRET_PREFIX: 'wa-registrar/dev/backup/' });
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
          TOKEN_SECRET_ID: 'wa-registrar/dev/graph-token',
          TOKEN_SECRET_PREFIX: 'wa-registrar/dev/token/',
          PIN_SECRET_PREFIX: 'wa-registrar/dev/pin/',
        }),
      },
      LoggingConfig: { LogGroup: ref(stack.redrive!.fn.logGroup.logGroupName) },
    });
  });

  it('is left out with -c scheduledRedrive=false', () => {
    // Prepare
    const off = synthRegistrar({ context: { scheduledRedrive: 'false' } });
    // Act
    const rules = Object.values(off.template().findResources('AWS::Events::Rule'));
    // Assess: the other rules (the event bus's, the deadline watch's) stay
    expect(off.stack.redrive).toBeUndefined();
    expect(rules.filter((rule) => rule.Properties.ScheduleExpression === 'rate(15 minutes)')).toEqual([]);
    expect(rules.length).toBeGreaterThan(0);
  });
});

describe('alarms', () => {
  const topicRef = () => ref(stack.alarmTopic.topic.topicArn);
  const alarms = () => Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Array<{ Properties: Record<string, any> }>;
  /** The alarm named `wa-registrar-dev/<slug>`. */
  const alarm = (slug: string) => {
    const found = alarms().find((a) => a.Properties.AlarmName === `wa-registrar-dev/${slug}`);
    expect(found, `alarm ${slug}`).toBeDefined();
    return found!.Properties;
  };
  /** The one metric a single-metric alarm watches, in either form CloudFormation takes (a labelled metric is a query). */
  const watched = (properties: Record<string, any>) => {
    if (!properties.Metrics) {
      const { Namespace, MetricName, Dimensions, Statistic, Period } = properties;
      return { Namespace, MetricName, Dimensions, Stat: Statistic, Period };
    }
    const queries = properties.Metrics as Array<{ MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown[] }; Stat: string; Period: number } }>;
    // A math expression's alarm watches no single metric.
    if (queries.length !== 1 || !queries[0]!.MetricStat) return { MetricName: undefined, Dimensions: [] };
    const stat = queries[0]!.MetricStat!;
    return { ...stat.Metric, Stat: stat.Stat, Period: stat.Period };
  };
  /** Fires on every arrival: a Sum ≥ 1 over one period, and a period without data is healthy. */
  const onEachArrival = { Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1, DatapointsToAlarm: 1, TreatMissingData: 'notBreaching' };
  const serviceDimension = { Name: 'service', Value: METRICS.service };

  it('pages a person for every dead-letter category except rate_limited, which redrives itself', () => {
    // Assess: the list, spelled out (PERSON_CATEGORIES is computed from the envelope schema's lists)
    expect([...PERSON_CATEGORIES].sort()).toEqual(
      ['invalid_job', 'missing_secret', 'needs_verification', 'permanent_error', 'pin_locked', 'pin_rejected', 'retries_exhausted', 'token_rejected', 'pin_changed', 'account_restricted'].sort(),
    );
    const categoriesAlarmed = alarms()
      .filter((a) => watched(a.Properties).MetricName === METRICS.deadLettered)
      .map((a) => (watched(a.Properties).Dimensions as Array<{ Name: string; Value: string }>).find((d) => d.Name === 'category')!.Value);
    expect(categoriesAlarmed.sort()).toEqual([...PERSON_CATEGORIES].sort());
  });

  it.each(PERSON_CATEGORIES.map((category) => [category]))('a new %s dead letter notifies at once: DeadLettered Sum ≥ 1 in a minute', (category) => {
    // Act
    const properties = alarm(`dead-letter-${category}`);
    // Assess
    expect(properties).toMatchObject(onEachArrival);
    expect(watched(properties)).toEqual({
      Namespace: METRICS.namespace,
      MetricName: METRICS.deadLettered,
      Dimensions: expect.arrayContaining([{ Name: 'category', Value: category }, serviceDimension]),
      Stat: 'Sum',
      Period: 60,
    });
  });

  it.each([
    ['number-blocked', METRICS.numberBlocked, []],
    ['infrastructure-failure', METRICS.infrastructureFailure, []],
    ['app-gate-token', METRICS.appGateClosed, [{ Name: 'gate', Value: 'token' }]],
    ['app-gate-throttle', METRICS.appGateClosed, [{ Name: 'gate', Value: 'throttle' }]],
  ])('%s notifies on any occurrence of the worker metric %s', (slug, metricName, dimensions) => {
    // Act
    const properties = alarm(slug);
    // Assess
    expect(properties).toMatchObject(onEachArrival);
    expect(watched(properties)).toEqual({ Namespace: METRICS.namespace, MetricName: metricName, Dimensions: [...dimensions, serviceDimension], Stat: 'Sum', Period: 60 });
  });

  it('watches the dead-letter queue depth as visible + in flight, for jobs SQS moved itself', () => {
    // Act
    const properties = alarm('dead-letter-queue-depth');
    const queries = properties.Metrics as Array<{ Id: string; Expression?: string; ReturnData: boolean; MetricStat?: { Metric: { MetricName: string; Dimensions: unknown[] } } }>;
    // Assess
    expect(properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
    const expression = queries.find((q) => q.ReturnData)!;
    const inputs = Object.fromEntries(queries.filter((q) => q.MetricStat).map((q) => [q.Id, q.MetricStat!.Metric]));
    expect(expression.Expression).toBe('FILL(visible, 0) + FILL(inFlight, 0)');
    expect(inputs).toEqual({
      visible: { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: [{ Name: 'QueueName', Value: ref(stack.jobs.deadLetterQueue.queueName) }] },
      inFlight: { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesNotVisible', Dimensions: [{ Name: 'QueueName', Value: ref(stack.jobs.deadLetterQueue.queueName) }] },
    });
  });

  it('replaces the old single "DLQ not empty" alarm: no alarm on the DLQ\'s visible messages alone', () => {
    const visibleOnly = alarms().filter((a) => watched(a.Properties).MetricName === 'ApproximateNumberOfMessagesVisible');
    expect(visibleOnly).toEqual([]);
  });

  it.each([
    ['oldest-dead-letter', () => stack.jobs.deadLetterQueue.queueName, 10 * 24 * 3600],
    ['oldest-job', () => stack.jobs.queue.queueName, 30 * 3600],
  ])('%s fires above its age', (slug, queueName, seconds) => {
    // Act
    const properties = alarm(slug);
    // Assess
    expect(properties).toMatchObject({ Threshold: seconds, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
    expect(watched(properties)).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage', Dimensions: [{ Name: 'QueueName', Value: ref(queueName()) }], Stat: 'Maximum' });
  });

  it('the oldest-dead-letter alarm leaves days to act before SQS deletes the message; the oldest-job one tolerates a one-day park', () => {
    expect(OLDEST_DEAD_LETTER_ALARM_SECONDS).toBe(864_000);
    expect(DEAD_LETTER_QUEUE.retentionSeconds - OLDEST_DEAD_LETTER_ALARM_SECONDS).toBeGreaterThanOrEqual(3 * 24 * 3600);
    expect(OLDEST_JOB_ALARM_SECONDS).toBeGreaterThan(24 * 3600);
  });

  it.each([
    ['worker-errors', 'Errors', () => stack.worker.function.functionName],
    ['worker-throttles', 'Throttles', () => stack.worker.function.functionName],
    ['scheduled-redrive-errors', 'Errors', () => stack.redrive!.fn.function.functionName],
  ])('%s fires on any Lambda %s', (slug, metricName, functionName) => {
    // Act
    const properties = alarm(slug);
    // Assess
    expect(properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(watched(properties)).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: metricName, Dimensions: [{ Name: 'FunctionName', Value: ref(functionName()) }] });
  });

  it('names every alarm <stack>/<slug> from the runbook, and says what happened and the first command to run', () => {
    // Prepare
    const names = alarms().map((a) => a.Properties.AlarmName as string);
    // Assess
    expect(names.sort()).toEqual(alarmSlugs({ scheduledRedrive: true }).map((slug) => `wa-registrar-dev/${slug}`).sort());
    const description = (slug: string) => JSON.stringify(alarm(slug).AlarmDescription);
    expect(description('dead-letter-pin_rejected')).toContain('npx wa-registrar dlq list --category pin_rejected --stack wa-registrar-dev');
    expect(description('number-blocked')).toContain('--code 133016 --stack wa-registrar-dev');
    // A log group named by the stack: the description is joined with its reference.
    expect(description('infrastructure-failure')).toContain(JSON.stringify(ref(stack.worker.logGroup.logGroupName)));
  });

  it('every alarm notifies the topic when it fires and when it recovers', () => {
    expect(alarms().length).toBeGreaterThan(0);
    for (const a of alarms()) {
      expect(a.Properties.AlarmActions).toEqual([topicRef()]);
      expect(a.Properties.OKActions).toEqual([topicRef()]);
    }
  });

  it('leaves the scheduled redrive\'s alarm out with the redrive', () => {
    // Prepare
    const off = synthRegistrar({ context: { scheduledRedrive: 'false' } }).template();
    // Act
    const names = Object.values(off.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.AlarmName as string);
    // Assess
    expect(names.sort()).toEqual(alarmSlugs({ scheduledRedrive: false }).map((slug) => `wa-registrar-dev/${slug}`).sort());
  });

  it('the topic is encrypted with a rotating key, and refuses plain HTTP', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: ref(stack.alarmTopic.key.keyArn) });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
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
  type Widget = { type: string; properties: { title?: string; alarms?: string[]; annotations?: { alarms?: string[] }; metrics?: unknown[][] } };
  let widgets: Widget[];
  /** How an alarm's ARN reads in the flattened dashboard body, e.g. `<AlarmNumberBlocked4928A7F9.Arn>`. */
  const arnOf = (a: Alarm) => flatten(stack.resolve(a.alarmArn));
  const metricsOf = (widget: Widget) => JSON.stringify(widget.properties.metrics ?? []);

  beforeAll(() => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards[0]!.Properties.DashboardName).toBe('wa-registrar-dev');
    // The body is one Fn::Join around references; flattened, it is the JSON CloudWatch receives.
    widgets = (JSON.parse(flatten(dashboards[0]!.Properties.DashboardBody)) as { widgets: Widget[] }).widgets;
  });
  const widget = (title: string) => {
    const found = widgets.find((w) => w.properties.title === title);
    expect(found, title).toBeDefined();
    return found!;
  };

  it('graphs dead letters and completed jobs per business with one SEARCH each (any number of businesses)', () => {
    for (const [title, outcome] of [['Dead letters by business (Solution Partners: jobs whose business is known)', 'dead_lettered'], ['Jobs completed by business', 'completed']] as const) {
      const metrics = metricsOf(widget(title));
      expect(metrics).toContain(`MetricName=\\\"${METRICS.businessJobOutcome}\\\"`);
      expect(metrics).toContain(`outcome=\\\"${outcome}\\\"`);
    }
  });

  it('shows the state of every alarm in one widget', () => {
    // Act
    const status = widget('Alarms');
    // Assess
    expect(status.type).toBe('alarm');
    expect(status.properties.alarms!.sort()).toEqual(stack.alarms.all.map(arnOf).sort());
  });

  it.each([
    ['Numbers blocked (133016)', () => stack.alarms.named['number-blocked']!],
    ['Infrastructure failures', () => stack.alarms.named['infrastructure-failure']!],
    ['App gate closed: token', () => stack.alarms.appGates.get('token')!],
    ['App gate closed: throttle', () => stack.alarms.appGates.get('throttle')!],
    ['Dead-letter queue depth (visible + in flight)', () => stack.alarms.named['dead-letter-queue-depth']!],
    ['Oldest dead letter (s)', () => stack.alarms.named['oldest-dead-letter']!],
    ['Event dead letters (visible + in flight)', () => stack.alarms.named['event-dead-letters']!],
    ['Name deadlines at risk', () => stack.alarms.named['name-deadline-at-risk']!],
  ])('graphs "%s" with its alarm\'s threshold', (title, alarm) => {
    expect(widget(title).properties.annotations?.alarms).toEqual([arnOf(alarm())]);
  });

  it('graphs each dead-letter category that pages a person, from the metric its alarm watches', () => {
    // Act
    const metrics = metricsOf(widget('Dead letters that need a person (an alarm each)'));
    // Assess
    for (const category of PERSON_CATEGORIES) expect(metrics).toContain(`"${METRICS.deadLettered}","category","${category}","service","${METRICS.service}"`);
    expect(metrics).not.toContain('"rate_limited"');
  });

  it('shows jobs processed, outcomes, dead letters by category, Graph latency and the queues from the worker\'s metric names', () => {
    // Assess
    const outcomes = metricsOf(widget('Outcomes'));
    for (const outcome of METRICS.outcomes.filter((o) => o !== 'dead_lettered')) {
      expect(outcomes).toContain(`"${METRICS.namespace}","${METRICS.jobOutcome}","outcome","${outcome}","service","${METRICS.service}"`);
    }
    const byCategory = metricsOf(widget('Dead letters by category'));
    for (const category of METRICS.deadLetterCategories) expect(byCategory).toContain(`"${METRICS.namespace}","${METRICS.deadLettered}","category","${category}"`);
    const latency = metricsOf(widget('Graph latency (ms)'));
    for (const operation of METRICS.graphOperations) expect(latency).toContain(`"${METRICS.graphLatency}","operation","${operation}"`);
    expect(metricsOf(widgets.find((w) => w.properties.title === 'Jobs processed' && w.type === 'metric')!)).toContain(METRICS.jobOutcome);
    expect(metricsOf(widget('Job queue'))).toContain('ApproximateAgeOfOldestMessage');
  });
});

describe('secrets and outputs', () => {
  it('creates no secret: the token, the PINs and the webhook secrets are referenced by name', () => {
    expect(template.findResources('AWS::SecretsManager::Secret')).toEqual({});
  });

  it.each<[string, () => unknown]>([
    [STACK_OUTPUT_KEYS.jobQueueUrl, () => ref(stack.jobs.queue.queueUrl)],
    [STACK_OUTPUT_KEYS.jobQueueArn, () => ref(stack.jobs.queue.queueArn)],
    [STACK_OUTPUT_KEYS.deadLetterQueueUrl, () => ref(stack.jobs.deadLetterQueue.queueUrl)],
    [STACK_OUTPUT_KEYS.ledgerTableName, () => ref(stack.ledger.table.tableName)],
    [STACK_OUTPUT_KEYS.tokenSecretId, () => 'wa-registrar/dev/graph-token'],
    [STACK_OUTPUT_KEYS.pinSecretPrefix, () => 'wa-registrar/dev/pin/'],
    [STACK_OUTPUT_KEYS.producerPolicyArn, () => ref(stack.jobs.producerPolicy.managedPolicyArn)],
    [STACK_OUTPUT_KEYS.operatorReadPolicyArn, () => ref(stack.operators.read.managedPolicyArn)],
    [STACK_OUTPUT_KEYS.operatorWritePolicyArn, () => ref(stack.operators.write.managedPolicyArn)],
    [STACK_OUTPUT_KEYS.operatorGraphPolicyArn, () => ref(stack.operators.graph.managedPolicyArn)],
    [STACK_OUTPUT_KEYS.alarmTopicArn, () => ref(stack.alarmTopic.topic.topicArn)],
    [STACK_OUTPUT_KEYS.region, () => ({ Ref: 'AWS::Region' })],
    [STACK_OUTPUT_KEYS.webhookUrl, () => ref(stack.webhooks.url.url)],
    [STACK_OUTPUT_KEYS.eventBusName, () => ref(stack.events.bus.eventBusName)],
    [STACK_OUTPUT_KEYS.eventsDeadLetterQueueUrl, () => ref(stack.events.deadLetterQueue.queueUrl)],
    [STACK_OUTPUT_KEYS.appSecretId, () => 'wa-registrar/dev/meta-app-secret'],
    [STACK_OUTPUT_KEYS.verifyTokenSecretId, () => 'wa-registrar/dev/webhook-verify-token'],
    [STACK_OUTPUT_KEYS.pinRotationFunctionArn, () => ref(stack.pinRotation.fn.function.functionArn)],
    [STACK_OUTPUT_KEYS.pinRotationDays, () => '0'],
  ])('outputs %s for the ops CLI and upstream systems', (key, value) => {
    template.hasOutput(key, { Value: value() });
  });

  it('outputs exactly the keys of STACK_OUTPUT_KEYS, under the names the readers use', () => {
    // Assess: the names are spelled out once more here on purpose; renaming one breaks every reader
    expect(Object.keys(template.findOutputs('*')).sort()).toEqual(
      [
        'AlarmTopicArn',
        'AppSecretId',
        'DeadLetterQueueUrl',
        'EventBusName',
        'EventsDeadLetterQueueUrl',
        'JobQueueArn',
        'JobQueueUrl',
        'LedgerTableName',
        'OperatorGraphPolicyArn',
        'OperatorReadPolicyArn',
        'OperatorWritePolicyArn',
        'PinRotationDays',
        'PinRotationFunctionArn',
        'PinSecretPrefix',
        'ProducerPolicyArn',
        'Region',
        'TokenSecretId',
        'TokenSecretPrefix',
        'VerifyTokenSecretId',
        'WebhookUrl',
      ],
    );
  });
});
