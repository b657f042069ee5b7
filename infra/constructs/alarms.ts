import { Duration, Stack } from 'aws-cdk-lib';
import { MathExpression, Metric, type Alarm } from 'aws-cdk-lib/aws-cloudwatch';
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
import type { JobQueue } from './job-queue.ts';
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
 * - the job queue's oldest job, the worker's errors and throttles, and the scheduled redrive's errors.
 */
export class RegistrarAlarms extends Construct {
  /** Every alarm, in runbook order. */
  readonly all: Alarm[] = [];
  readonly deadLetters: ReadonlyMap<DeadLetterCategory, Alarm>;
  readonly appGates: ReadonlyMap<AppGate, Alarm>;
  readonly named: Partial<Record<AlarmSlug, Alarm>> = {};

  constructor(scope: Construct, id: string, props: RegistrarAlarmsProps) {
    super(scope, id);
    const { jobs, worker, redrive } = props;
    const fill = (command: string) =>
      fillCommand(command, {
        stack: Stack.of(this).stackName,
        workerLogGroup: worker.logGroup.logGroupName,
        ...(redrive ? { redriveLogGroup: redrive.logGroup.logGroupName } : {}),
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
    named(
      'DeadLetterQueueDepth',
      'dead-letter-queue-depth',
      new MathExpression({
        // Visible plus in flight: a dead letter a scan (dlq list, the scheduled redrive) holds is still waiting.
        expression: 'FILL(visible, 0) + FILL(inFlight, 0)',
        usingMetrics: {
          visible: dlq.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: QUEUE_PERIOD }),
          inFlight: dlq.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum', period: QUEUE_PERIOD }),
        },
        label: 'dead letters (visible + in flight)',
        period: QUEUE_PERIOD,
      }),
      { kind: 'above' },
    );
    named('OldestDeadLetter', 'oldest-dead-letter', dlq.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: QUEUE_PERIOD }), {
      kind: 'above',
      threshold: OLDEST_DEAD_LETTER_ALARM_SECONDS,
    });

    const each = (metricName: string, label: string) => workerMetric(metricName, {}, { statistic: 'Sum', period: ARRIVAL_PERIOD, label });
    named('NumberBlocked', 'number-blocked', each(METRICS.numberBlocked, 'numbers blocked (133016)'), { kind: 'each' });
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
  }
}
