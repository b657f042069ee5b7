import { Duration, Stack } from 'aws-cdk-lib';
import { MathExpression, Metric, type Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { DeadLetterCategory } from '../../shared/jobs/dlq-envelope.v1.ts';
import { METRICS, PERSON_CATEGORIES, type AppGate } from '../../shared/metrics.ts';
import {
  ALARM_RUNBOOK,
  DEAD_LETTER_RUNBOOK,
  deadLetterAlarmSlug,
  fillCommand,
  OLDEST_DEAD_LETTER_ALARM_SECONDS,
  OLDEST_JOB_ALARM_SECONDS,
  type AlarmSlug,
} from '../alarm-runbook.ts';
import { registrarAlarm, type RegistrarAlarmProps } from './alarm.ts';
import { DEADLINE_WATCH_RATE } from './deadline-watch.ts';
import type { JobQueue } from './job-queue.ts';
import type { RegistrarEvents } from './registrar-events.ts';
import type { RegistrarFunction } from './registrar-function.ts';

/**
 * One of the worker's EMF metrics (namespace WaRegistrar): Powertools adds the `service` dimension to every
 * metric, so it is part of each metric's identity.
 */
export function workerMetric(metricName: string, dimensionsMap: Record<string, string>, options: { statistic: string; period: Duration; label?: string }): Metric {
  return new Metric({
    namespace: METRICS.namespace,
    metricName,
    dimensionsMap: { service: METRICS.service, ...dimensionsMap },
    statistic: options.statistic,
    period: options.period,
    ...(options.label ? { label: options.label } : {}),
  });
}

/** What {@link RegistrarAlarms} watches. */
export interface RegistrarAlarmsProps {
  readonly jobs: JobQueue;
  readonly worker: RegistrarFunction;
  /** The scheduled redrive, when deployed. */
  readonly redrive?: RegistrarFunction | undefined;
  /** The webhook path (issue 10): the bus's buffer and dead-letter queue, and its three functions. */
  readonly events: RegistrarEvents;
  readonly receiver: RegistrarFunction;
  readonly resolver: RegistrarFunction;
  readonly deadlineWatch: RegistrarFunction;
}

/** A minute: an arrival alarm notifies within about a minute of the dead letter, block or failure. */
const ARRIVAL_PERIOD = Duration.minutes(1);
const QUEUE_PERIOD = Duration.minutes(5);

/**
 * Every alarm of the stack, each named `<stack>/<slug>` with its runbook entry as description:
 * - one per dead-letter category that needs a person (`DeadLettered`, every category the scheduled redrive does
 *   not send back by itself), each new arrival notifying;
 * - the dead-letter queue's depth (visible + in flight: jobs SQS moved itself raise no `DeadLettered`) and its
 *   oldest message (10 of its 14 days);
 * - `NumberBlocked`, `InfrastructureFailure` and `AppGateClosed` (token, throttle), each occurrence notifying;
 * - the job queue's oldest job, the worker's errors and throttles, and the scheduled redrive's errors;
 * - the webhook path: the events dead-letter queue's depth, an unmet name-approval deadline (`NameDeadlineAtRisk`), and
 *   the errors of the webhook receiver (5xx answers too), the event resolver and the deadline watch.
 */
export class RegistrarAlarms extends Construct {
  /** Every alarm, in runbook order. */
  readonly all: Alarm[] = [];
  readonly deadLetters: ReadonlyMap<DeadLetterCategory, Alarm>;
  readonly appGates: ReadonlyMap<AppGate, Alarm>;
  readonly named: Partial<Record<AlarmSlug, Alarm>> = {};

  constructor(scope: Construct, id: string, props: RegistrarAlarmsProps) {
    super(scope, id);
    const { jobs, worker, redrive, events, receiver, resolver, deadlineWatch } = props;
    const fill = (command: string) =>
      fillCommand(command, {
        stack: Stack.of(this).stackName,
        workerLogGroup: worker.logGroup.logGroupName,
        ...(redrive ? { redriveLogGroup: redrive.logGroup.logGroupName } : {}),
        receiverLogGroup: receiver.logGroup.logGroupName,
        resolverLogGroup: resolver.logGroup.logGroupName,
        deadlineWatchLogGroup: deadlineWatch.logGroup.logGroupName,
        eventsDeadLetterQueueUrl: events.deadLetterQueue.queueUrl,
      });
    const add = (constructId: string, props: Omit<RegistrarAlarmProps, 'firstCommand'>): Alarm => {
      const alarm = registrarAlarm(this, constructId, { ...props, firstCommand: fill(props.runbook.firstCommand) });
      this.all.push(alarm);
      return alarm;
    };
    const named = (constructId: string, slug: AlarmSlug, metric: RegistrarAlarmProps['metric'], rule: RegistrarAlarmProps['rule']) =>
      (this.named[slug] = add(constructId, { slug, runbook: ALARM_RUNBOOK[slug], metric, rule }));

    this.deadLetters = new Map(
      PERSON_CATEGORIES.map((category) => [
        category,
        add(`DeadLettered-${category}`, {
          slug: deadLetterAlarmSlug(category),
          runbook: DEAD_LETTER_RUNBOOK[category],
          metric: workerMetric(METRICS.deadLettered, { [METRICS.dimensions.category]: category }, { statistic: 'Sum', period: ARRIVAL_PERIOD, label: category }),
          rule: { kind: 'each' },
        }),
      ]),
    );

    const dlq = jobs.deadLetterQueue;
    // Visible plus in flight: a dead letter a scan (dlq list, the scheduled redrive, a peek) holds is still waiting.
    named('DeadLetterQueueDepth', 'dead-letter-queue-depth', queueDepth(dlq, 'dead letters (visible + in flight)'), { kind: 'above' });
    named('OldestDeadLetter', 'oldest-dead-letter', dlq.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: QUEUE_PERIOD }), {
      kind: 'above',
      threshold: OLDEST_DEAD_LETTER_ALARM_SECONDS,
    });

    const each = (metricName: string, label: string) => workerMetric(metricName, {}, { statistic: 'Sum', period: ARRIVAL_PERIOD, label });
    named('NumberBlocked', 'number-blocked', each(METRICS.numberBlocked, 'numbers blocked (133016)'), { kind: 'each' });
    named('MigrationIncident', 'migration-incident', each(METRICS.migrationIncident, 'migrations refused the PIN'), { kind: 'each' });
    named('InfrastructureFailure', 'infrastructure-failure', each(METRICS.infrastructureFailure, 'infrastructure failures'), { kind: 'each' });
    const gate = (value: AppGate) =>
      workerMetric(METRICS.appGateClosed, { [METRICS.dimensions.gate]: value }, { statistic: 'Sum', period: ARRIVAL_PERIOD, label: `${value} gate closed` });
    this.appGates = new Map<AppGate, Alarm>([
      ['token', named('AppGateToken', 'app-gate-token', gate('token'), { kind: 'each' })],
      ['throttle', named('AppGateThrottle', 'app-gate-throttle', gate('throttle'), { kind: 'each' })],
    ]);

    named('OldestJob', 'oldest-job', jobs.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: QUEUE_PERIOD }), {
      kind: 'above',
      threshold: OLDEST_JOB_ALARM_SECONDS,
    });
    const fiveMinutes = { statistic: 'Sum', period: Duration.minutes(5) };
    named('WorkerErrors', 'worker-errors', worker.function.metricErrors(fiveMinutes), { kind: 'above' });
    named('WorkerThrottles', 'worker-throttles', worker.function.metricThrottles(fiveMinutes), { kind: 'above' });
    if (redrive) {
      named('ScheduledRedriveErrors', 'scheduled-redrive-errors', redrive.function.metricErrors({ statistic: 'Sum', period: Duration.minutes(15) }), {
        kind: 'above',
      });
    }

    named('EventDeadLetters', 'event-dead-letters', queueDepth(events.deadLetterQueue, 'event dead letters (visible + in flight)'), { kind: 'above' });
    // The watch reports the count on every hourly run (0 included), so the alarm stays red while a deadline is at risk.
    named(
      'NameDeadlineAtRisk',
      'name-deadline-at-risk',
      workerMetric(METRICS.nameDeadlineAtRisk, {}, { statistic: 'Maximum', period: DEADLINE_WATCH_RATE, label: 'name deadlines at risk' }),
      { kind: 'each' },
    );
    named(
      'WebhookReceiverErrors',
      'webhook-receiver-errors',
      new MathExpression({
        // A crash answers 502 and counts in both; the receiver's deliberate 500s (Meta redelivers) only in Url5xxCount.
        expression: 'FILL(url5xx, 0) + FILL(errors, 0)',
        usingMetrics: {
          url5xx: receiver.function.metric('Url5xxCount', fiveMinutes),
          errors: receiver.function.metricErrors(fiveMinutes),
        },
        label: 'webhook 5xx answers + function errors',
        period: Duration.minutes(5),
      }),
      { kind: 'above' },
    );
    named('EventResolverErrors', 'event-resolver-errors', resolver.function.metricErrors(fiveMinutes), { kind: 'above' });
    named('DeadlineWatchErrors', 'deadline-watch-errors', deadlineWatch.function.metricErrors({ statistic: 'Sum', period: DEADLINE_WATCH_RATE }), { kind: 'above' });
  }
}

/** A queue's waiting messages, visible and in flight, as a 5-minute maximum. */
function queueDepth(queue: Queue, label: string): MathExpression {
  return new MathExpression({
    expression: 'FILL(visible, 0) + FILL(inFlight, 0)',
    usingMetrics: {
      visible: queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: QUEUE_PERIOD }),
      inFlight: queue.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum', period: QUEUE_PERIOD }),
    },
    label,
    period: QUEUE_PERIOD,
  });
}
