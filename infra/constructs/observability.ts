import { Duration, Stack } from 'aws-cdk-lib';
import {
  type Alarm,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  SingleValueWidget,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { METRICS } from '../definitions.ts';
import type { JobQueue } from './job-queue.ts';

/** Options of {@link AlarmTopic}. */
export interface AlarmTopicProps {
  /** Subscribed by e-mail when set; AWS sends a confirmation mail first. */
  readonly email?: string | undefined;
}

/**
 * The encrypted SNS topic every alarm notifies. Encrypted with a customer managed key because
 * CloudWatch cannot publish to a topic under the AWS managed `aws/sns` key (its policy cannot
 * grant cloudwatch.amazonaws.com).
 */
export class AlarmTopic extends Construct {
  readonly topic: Topic;
  readonly key: Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps = {}) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'wa-registrar alarm topic encryption',
      enableKeyRotation: true,
    });
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'], // In a key policy, "*" means this key.
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic = new Topic(this, 'Topic', {
      displayName: 'wa-registrar alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    if (props.email) this.topic.addSubscription(new EmailSubscription(props.email));
  }

  /** Notifies the topic when the alarm fires and when it recovers. */
  route(...alarms: Alarm[]): void {
    const action = new SnsAction(this.topic);
    for (const alarm of alarms) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }
}

/** What {@link RegistrarDashboard} charts besides the worker's own metrics. */
export interface RegistrarDashboardProps {
  readonly jobs: JobQueue;
  readonly worker: IFunction;
}

const emf = (metricName: string, dimensionsMap: Record<string, string>, statistic: string, label: string) =>
  new Metric({
    namespace: METRICS.namespace,
    metricName,
    dimensionsMap: { service: METRICS.service, ...dimensionsMap },
    statistic,
    label,
    period: Duration.minutes(5),
  });

/**
 * One page for the on-call person: jobs processed, outcomes by category, Graph latency, DLQ depth.
 * Built from the worker's EMF metrics (namespace WaRegistrar, service wa-registrar; Powertools adds
 * the `service` dimension to every metric) and from SQS and Lambda's own metrics.
 */
export class RegistrarDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: RegistrarDashboardProps) {
    super(scope, id);
    const outcome = (value: string) => emf(METRICS.jobOutcome, { outcome: value }, 'Sum', value);
    const outcomes: Record<string, IMetric> = {};
    for (const value of METRICS.outcomes) {
      if (value !== 'dead_lettered') outcomes[value] = outcome(value);
    }
    const deadLettersByCategory = METRICS.deadLetterCategories.map((category) =>
      emf(METRICS.jobOutcome, { outcome: 'dead_lettered', category }, 'Sum', category),
    );
    const deadLettered = new MathExpression({
      expression: deadLettersByCategory.map((_, index) => `FILL(d${index}, 0)`).join(' + '),
      usingMetrics: Object.fromEntries(deadLettersByCategory.map((metric, index) => [`d${index}`, metric])),
      label: 'dead_lettered',
      period: Duration.minutes(5),
    });
    const processed = new MathExpression({
      expression: 'FILL(completed, 0) + FILL(duplicate, 0) + deadLettered',
      usingMetrics: { completed: outcomes.completed!, duplicate: outcomes.duplicate!, deadLettered },
      label: 'jobs processed (completed + duplicate + dead-lettered)',
      period: Duration.minutes(5),
    });
    // Outcomes that are neither processed nor dead-lettered: the job comes back (retry) or is carried forward (wait).
    const pending = METRICS.outcomes.filter((value) => !['completed', 'duplicate', 'dead_lettered'].includes(value)).map((value) => outcomes[value]!);
    const latency = (statistic: string) =>
      METRICS.graphOperations.map((operation) => emf(METRICS.graphLatency, { operation }, statistic, `${operation} ${statistic}`));

    this.dashboard = new Dashboard(this, 'Dashboard', {
      // Named after the stack, so each stage has one, easy to find: wa-registrar-<stage>.
      dashboardName: Stack.of(this).stackName,
      defaultInterval: Duration.days(1),
      widgets: [
        [
          new TextWidget({
            markdown:
              '# wa-registrar\nJobs, outcomes and Graph latency from the worker (namespace `WaRegistrar`); queue depth from SQS. ' +
              'Any message in the dead-letter queue needs a person: see the README, Operations and Alarms.',
            width: 24,
            height: 2,
          }),
        ],
        [
          new SingleValueWidget({ title: 'Jobs processed', metrics: [processed], width: 6, height: 5, setPeriodToTimeRange: true }),
          new GraphWidget({
            title: 'Jobs processed',
            left: [processed, ...pending],
            width: 9,
            height: 5,
          }),
          new GraphWidget({
            title: 'Dead-letter queue depth',
            left: [
              props.jobs.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: 'dead letters waiting' }),
            ],
            width: 9,
            height: 5,
          }),
        ],
        [
          new GraphWidget({
            title: 'Outcomes',
            left: [outcomes.completed!, outcomes.duplicate!, deadLettered, ...pending],
            stacked: true,
            width: 12,
            height: 6,
          }),
          new GraphWidget({ title: 'Dead letters by category', left: deadLettersByCategory, stacked: true, width: 12, height: 6 }),
        ],
        [
          new GraphWidget({ title: 'Graph latency (ms)', left: [...latency('p50'), ...latency('p95'), ...latency('Maximum')], width: 12, height: 6 }),
          new GraphWidget({
            title: 'Job queue',
            left: [
              props.jobs.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: 'waiting' }),
              props.jobs.queue.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum', label: 'in flight or delayed' }),
            ],
            right: [props.jobs.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', label: 'oldest (s)' })],
            width: 12,
            height: 6,
          }),
        ],
        [
          new GraphWidget({
            title: 'Worker',
            left: [
              props.worker.metricInvocations({ statistic: 'Sum' }),
              props.worker.metricErrors({ statistic: 'Sum' }),
              props.worker.metricThrottles({ statistic: 'Sum' }),
            ],
            right: [props.worker.metricDuration({ statistic: 'p95' })],
            width: 24,
            height: 6,
          }),
        ],
      ],
    });
  }
}
