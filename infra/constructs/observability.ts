import { Duration, Stack } from 'aws-cdk-lib';
import {
  type Alarm,
  AlarmStatusWidget,
  AlarmWidget,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
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
import { METRICS } from '../../shared/metrics.ts';
import { alarmArnPattern } from './alarm.ts';
import { workerMetric, type RegistrarAlarms } from './alarms.ts';
import type { JobQueue } from './job-queue.ts';
import type { RegistrarEvents } from './registrar-events.ts';

/** Options of {@link AlarmTopic}. */
export interface AlarmTopicProps {
  /** Subscribed by e-mail when set; AWS sends a confirmation mail first. */
  readonly email?: string | undefined;
}

/**
 * The encrypted SNS topic every alarm notifies. Encrypted with a customer managed key because CloudWatch cannot
 * publish to a topic under the AWS managed `aws/sns` key (its policy cannot grant cloudwatch.amazonaws.com).
 *
 * `enforceSSL` gives the topic a policy of its own, which replaces SNS's default one: without an explicit grant,
 * nothing may publish and every alarm would turn red in silence. Both the topic policy and the key policy let
 * cloudwatch.amazonaws.com in for this account's alarms named `<stack>/…` only (`aws:SourceAccount`,
 * `aws:SourceArn`), so no other account's or stack's alarm can use this topic (the confused deputy).
 */
export class AlarmTopic extends Construct {
  readonly topic: Topic;
  readonly key: Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps = {}) {
    super(scope, id);
    const cloudWatch = new ServicePrincipal('cloudwatch.amazonaws.com');
    const onlyThisStacksAlarms = {
      StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
      ArnLike: { 'aws:SourceArn': alarmArnPattern(this) },
    };
    this.key = new Key(this, 'Key', {
      description: 'wa-registrar alarm topic encryption',
      enableKeyRotation: true,
    });
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [cloudWatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'], // In a key policy, "*" means this key.
        conditions: onlyThisStacksAlarms,
      }),
    );
    this.topic = new Topic(this, 'Topic', {
      displayName: 'wa-registrar alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: onlyThisStacksAlarms,
      }),
    );
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
  /** Every alarm is on the dashboard: their states in one widget, and a graph of each with its threshold. */
  readonly alarms: RegistrarAlarms;
  /** The webhook path: requests to the receiver's URL, the event buffer and the resolver. */
  readonly events: RegistrarEvents;
  readonly receiver: IFunction;
  readonly resolver: IFunction;
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * One page for the on-call person: the state of every alarm, what each alarm watches, jobs processed, outcomes by
 * category, Graph latency and the queues, and the webhook path (requests, event dead letters, deadlines, the resolver). Built from the worker's EMF metrics (shared/metrics.ts: the names the
 * worker emits) and from SQS and Lambda's own metrics.
 */
export class RegistrarDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: RegistrarDashboardProps) {
    super(scope, id);
    const { jobs, worker, alarms, events, receiver, resolver } = props;
    const emf = (metricName: string, dimensions: Record<string, string>, statistic: string, label: string) =>
      workerMetric(metricName, dimensions, { statistic, period: FIVE_MINUTES, label });
    const outcome = (value: string) => emf(METRICS.jobOutcome, { [METRICS.dimensions.outcome]: value }, 'Sum', value);
    const outcomes: Record<string, IMetric> = {};
    for (const value of METRICS.outcomes) {
      if (value !== 'dead_lettered') outcomes[value] = outcome(value);
    }
    const deadLettersByCategory = METRICS.deadLetterCategories.map((category) =>
      emf(METRICS.deadLettered, { [METRICS.dimensions.category]: category }, 'Sum', category),
    );
    const deadLettered = new MathExpression({
      expression: deadLettersByCategory.map((_, index) => `FILL(d${index}, 0)`).join(' + '),
      usingMetrics: Object.fromEntries(deadLettersByCategory.map((metric, index) => [`d${index}`, metric])),
      label: 'dead_lettered',
      period: FIVE_MINUTES,
    });
    const processed = new MathExpression({
      expression: 'FILL(completed, 0) + FILL(duplicate, 0) + deadLettered',
      usingMetrics: { completed: outcomes.completed!, duplicate: outcomes.duplicate!, deadLettered },
      label: 'jobs processed (completed + duplicate + dead-lettered)',
      period: FIVE_MINUTES,
    });
    // Outcomes that are neither processed nor dead-lettered: the job comes back (retry) or is carried forward (wait).
    const pending = METRICS.outcomes.filter((value) => !['completed', 'duplicate', 'dead_lettered'].includes(value)).map((value) => outcomes[value]!);
    const latency = (statistic: string) =>
      METRICS.graphOperations.map((operation) =>
        emf(METRICS.graphLatency, { [METRICS.dimensions.operation]: operation }, statistic, `${operation} ${statistic}`),
      );
    // One line per business, however many there are: a SEARCH over the worker's BusinessJobOutcome series.
    const { namespace, service, businessJobOutcome, dimensions } = METRICS;
    const businessSeries = (outcome: string) =>
      new MathExpression({
        expression: `SEARCH('{${namespace},${dimensions.businessAccountId},${dimensions.outcome},service} MetricName="${businessJobOutcome}" ${dimensions.outcome}="${outcome}" service="${service}"', 'Sum', 300)`,
        label: '',
        period: FIVE_MINUTES,
      });
    const alarmGraph = (title: string, alarm: Alarm | undefined, width = 6) => new AlarmWidget({ title, alarm: alarm!, width, height: 5 });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      // Named after the stack, so each stage has one, easy to find: wa-registrar-<stage>.
      dashboardName: Stack.of(this).stackName,
      defaultInterval: Duration.days(1),
      widgets: [
        [
          new TextWidget({
            markdown:
              '# wa-registrar\nEvery alarm first, then what each watches; jobs, outcomes and Graph latency from the worker (namespace `WaRegistrar`); queues from SQS. ' +
              "Each alarm's description says what happened and the first command to run; docs/deployment.md has them all.",
            width: 24,
            height: 2,
          }),
        ],
        [new AlarmStatusWidget({ title: 'Alarms', alarms: alarms.all, width: 24, height: 4 })],
        [
          new GraphWidget({
            title: 'Dead letters that need a person (an alarm each)',
            left: [...alarms.deadLetters.values()].map((alarm) => alarm.metric),
            leftAnnotations: [{ value: 1, label: 'each arrival alarms' }],
            stacked: true,
            width: 12,
            height: 5,
          }),
          alarmGraph('Numbers blocked (133016)', alarms.named['number-blocked']),
          alarmGraph('Infrastructure failures', alarms.named['infrastructure-failure']),
        ],
        [
          alarmGraph('App gate closed: token', alarms.appGates.get('token')),
          alarmGraph('App gate closed: throttle', alarms.appGates.get('throttle')),
          alarmGraph('Dead-letter queue depth (visible + in flight)', alarms.named['dead-letter-queue-depth']),
          alarmGraph('Oldest dead letter (s)', alarms.named['oldest-dead-letter']),
        ],
        [
          new SingleValueWidget({ title: 'Jobs processed', metrics: [processed], width: 6, height: 5, setPeriodToTimeRange: true }),
          new GraphWidget({ title: 'Jobs processed', left: [processed, ...pending], width: 18, height: 5 }),
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
              jobs.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: 'waiting' }),
              jobs.queue.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum', label: 'in flight or delayed' }),
            ],
            right: [jobs.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', label: 'oldest (s)' })],
            width: 12,
            height: 6,
          }),
        ],
        [
          new GraphWidget({
            title: 'Dead letters by business (Solution Partners: jobs whose business is known)',
            left: [businessSeries('dead_lettered')],
            stacked: true,
            width: 12,
            height: 6,
          }),
          new GraphWidget({ title: 'Jobs completed by business', left: [businessSeries('completed')], stacked: true, width: 12, height: 6 }),
        ],
        [
          new GraphWidget({
            title: 'Worker',
            left: [worker.metricInvocations({ statistic: 'Sum' }), worker.metricErrors({ statistic: 'Sum' }), worker.metricThrottles({ statistic: 'Sum' })],
            right: [worker.metricDuration({ statistic: 'p95' })],
            width: 24,
            height: 6,
          }),
        ],
        [
          new GraphWidget({
            title: 'Webhook requests',
            left: ['UrlRequestCount', 'Url4xxCount', 'Url5xxCount'].map((name) => receiver.metric(name, { statistic: 'Sum', label: name })),
            width: 6,
            height: 6,
          }),
          alarmGraph('Event dead letters (visible + in flight)', alarms.named['event-dead-letters']),
          alarmGraph('Name deadlines at risk', alarms.named['name-deadline-at-risk']),
          new GraphWidget({
            title: 'Event resolver',
            left: [
              events.bufferQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: 'events waiting' }),
              resolver.metricInvocations({ statistic: 'Sum' }),
              resolver.metricErrors({ statistic: 'Sum' }),
            ],
            right: [events.bufferQueue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', label: 'oldest event (s)' })],
            width: 6,
            height: 6,
          }),
        ],
      ],
    });
  }
}
