import { Duration } from 'aws-cdk-lib';
import { Alarm, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import type { RegistrarStack } from '../../infra/stacks/registrar-stack.ts';
import { alarmDeliveries } from './helpers/alarm-walker.ts';
import { synthRegistrar } from './helpers/synth.ts';

/** An alarm on any metric, routed to `topic`. */
const strayAlarm = (stack: RegistrarStack, id: string, topic: Topic, alarmName?: string) =>
  new Alarm(stack, id, {
    ...(alarmName ? { alarmName } : {}),
    metric: new Metric({ namespace: 'Other', metricName: 'Anything', period: Duration.minutes(1) }),
    threshold: 1,
    evaluationPeriods: 1,
  }).addAlarmAction(new SnsAction(topic));

describe('alarm notifications get through: alarm → action → topic policy and key policy', () => {
  it.each([
    ['as deployed by default', {}],
    ['with the scheduled redrive off', { scheduledRedrive: 'false' }],
    ['for another stage', { stage: 'prod' }],
  ])('%s, every alarm may publish to its topic and use the topic\'s key', (_name, context) => {
    // Prepare
    const { template, stack } = synthRegistrar({ context });
    // Act
    const deliveries = alarmDeliveries(template().toJSON());
    // Assess
    expect(deliveries.length).toBeGreaterThan(10);
    expect(deliveries.flatMap((d) => d.problems.map((problem) => `${d.alarmName}: ${problem}`))).toEqual([]);
    for (const delivery of deliveries) {
      expect(delivery.alarmName.startsWith(`${stack.stackName}/`)).toBe(true);
      expect(delivery.topics).toEqual([stack.getLogicalId(stack.alarmTopic.topic.node.defaultChild as never)]);
      // Both grants are scoped to this account's alarms of this stack.
      for (const grant of [delivery.topicGrant, delivery.keyGrant]) {
        expect(grant).toMatchObject({
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Condition: {
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            ArnLike: { 'aws:SourceArn': expect.anything() },
          },
        });
      }
      expect(delivery.topicGrant?.Action).toBe('sns:Publish');
      expect(delivery.keyGrant).toMatchObject({ Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] });
    }
  });

  // Paired: the same walk must catch an alarm whose notification would be dropped.
  it.each([
    [
      'a topic whose policy (from enforceSSL) and key grant CloudWatch nothing',
      (stack: RegistrarStack) => {
        const topic = new Topic(stack, 'SilentTopic', { masterKey: new Key(stack, 'SilentKey', { enableKeyRotation: true }), enforceSSL: true });
        strayAlarm(stack, 'SilentAlarm', topic, `${stack.stackName}/silent`);
      },
      [/silent: topic SilentTopic.*: no policy statement lets cloudwatch/, /silent: key SilentKey.*: no key policy statement/],
    ],
    [
      'an alarm named outside the stack\'s alarm names (aws:SourceArn does not match it)',
      (stack: RegistrarStack) => strayAlarm(stack, 'OtherAlarm', stack.alarmTopic.topic, 'someone-else'),
      [/someone-else: topic .*no policy statement/, /someone-else: key .*no key policy statement/],
    ],
  ])('catches %s', (_name, customize, expected) => {
    // Prepare: cdk-nag off, it would stop the synth for reasons of its own
    const template = synthRegistrar({ customize, nag: false }).template().toJSON();
    // Act
    const problems = alarmDeliveries(template).flatMap((d) => d.problems.map((problem) => `${d.alarmName}: ${problem}`));
    // Assess
    for (const pattern of expected) expect(problems).toContainEqual(expect.stringMatching(pattern));
  });
});
