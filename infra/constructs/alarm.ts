import { ArnFormat, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import type { RunbookEntry } from '../alarm-runbook.ts';

/**
 * Every alarm of the stack is named `<stack name>/<slug>`, so the notification names the stage and what happened,
 * and the alarm topic can let CloudWatch publish for exactly these alarms (see {@link alarmArnPattern}).
 * Stage names have no `/`, so no other stage's alarms match.
 */
function alarmName(scope: Construct, slug: string): string {
  return `${Stack.of(scope).stackName}/${slug}`;
}

/** `arn:…:cloudwatch:<region>:<account>:alarm:<stack name>/*`: the alarms this stack creates, and no others. */
export function alarmArnPattern(scope: Construct): string {
  return Stack.of(scope).formatArn({
    service: 'cloudwatch',
    resource: 'alarm',
    resourceName: alarmName(scope, '*'),
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** What {@link registrarAlarm} needs: the metric, its rule, and the runbook entry that says what to do. */
export interface RegistrarAlarmProps {
  readonly slug: string;
  readonly runbook: RunbookEntry;
  /** The runbook's first command with its placeholders filled in. */
  readonly firstCommand: string;
  readonly metric: IMetric;
  /**
   * `above`: fires when one period is above `threshold` (default 0). `each`: fires when one period reaches 1 (a Sum:
   * every new arrival; a Maximum of a count reported each period: while any is counted).
   */
  readonly rule: { kind: 'above'; threshold?: number } | { kind: 'each' };
}

/**
 * The project's one kind of alarm: one period decides, and no data is healthy (an idle queue or function, a minute
 * with no dead letter). The description is the runbook entry, so whoever gets the notification knows what happened
 * and the first command to run.
 */
export function registrarAlarm(scope: Construct, id: string, props: RegistrarAlarmProps): Alarm {
  const { rule } = props;
  return new Alarm(scope, id, {
    alarmName: alarmName(scope, props.slug),
    alarmDescription: `wa-registrar: ${props.runbook.means} First: ${props.firstCommand}`,
    metric: props.metric,
    threshold: rule.kind === 'each' ? 1 : (rule.threshold ?? 0),
    comparisonOperator: rule.kind === 'each' ? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD : ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
}
