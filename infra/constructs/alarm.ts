import { Alarm, ComparisonOperator, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';

/**
 * The project's one kind of alarm: fires when one period of `metric` goes above `threshold` (default 0),
 * and stays quiet when there is no data (an idle queue or function is healthy).
 */
export function alarmWhenAbove(scope: Construct, id: string, props: { description: string; metric: IMetric; threshold?: number }): Alarm {
  return new Alarm(scope, id, {
    alarmDescription: props.description,
    metric: props.metric,
    threshold: props.threshold ?? 0,
    comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
}
