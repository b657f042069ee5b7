/**
 * Follows each alarm in a synthesized template to where its notification must get through: alarm → AlarmActions →
 * SNS topic → the topic's policy and, for an encrypted topic, its KMS key's policy. Reports, per alarm, what
 * would stop CloudWatch from publishing. A topic policy (enforceSSL creates one) replaces SNS's default policy,
 * so the grant must be explicit.
 */
import { flatten } from './iam-walker.ts';

type Resources = Record<string, { Type: string; Properties?: Record<string, any> }>;
type Template = { Resources?: Resources };
type Statement = { Effect?: string; Principal?: unknown; Action?: unknown; Resource?: unknown; Condition?: Record<string, Record<string, unknown>> };

const CLOUDWATCH = 'cloudwatch.amazonaws.com';

/** What the walk found for one alarm: the statements that let CloudWatch through, and what is missing. */
export interface AlarmDelivery {
  alarmName: string;
  /** How the alarm's ARN reads, flattened: `arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:<name>`. */
  alarmArn: string;
  topics: string[];
  /** The topic policy statement allowing cloudwatch.amazonaws.com to publish for this alarm. */
  topicGrant?: Statement;
  /** The key policy statement allowing it to use the topic's key; `unencrypted` when the topic has no key. */
  keyGrant?: Statement | 'unencrypted';
  problems: string[];
}

export function alarmDeliveries(template: Template): AlarmDelivery[] {
  const resources = template.Resources ?? {};
  const deliveries: AlarmDelivery[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::CloudWatch::Alarm') continue;
    const alarmName = resource.Properties?.AlarmName === undefined ? `<${logicalId}>` : flatten(resource.Properties.AlarmName);
    const alarmArn = `arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:${alarmName}`;
    const delivery: AlarmDelivery = { alarmName, alarmArn, topics: [], problems: [] };
    const actions = asArray(resource.Properties?.AlarmActions);
    if (actions.length === 0) delivery.problems.push('no alarm action');
    for (const action of actions) {
      const topicId = (action as { Ref?: string }).Ref;
      if (!topicId || resources[topicId]?.Type !== 'AWS::SNS::Topic') {
        delivery.problems.push(`action ${flatten(action)} is not a topic of this stack`);
        continue;
      }
      delivery.topics.push(topicId);
      const topicStatements = Object.values(resources)
        .filter((r) => r.Type === 'AWS::SNS::TopicPolicy' && asArray(r.Properties?.Topics).some((t) => (t as { Ref?: string }).Ref === topicId))
        .flatMap((r) => asArray(r.Properties?.PolicyDocument?.Statement) as Statement[]);
      const topicGrant = topicStatements.find(
        (s) => grantsCloudWatch(s, ['sns:Publish'], alarmArn) && asArray(s.Resource).some((r) => flatten(r) === `<${topicId}>` || r === '*'),
      );
      if (topicGrant) delivery.topicGrant = topicGrant;
      else delivery.problems.push(`topic ${topicId}: no policy statement lets ${CLOUDWATCH} publish for ${alarmName} (scoped by aws:SourceAccount and aws:SourceArn)`);

      const keyRef = resources[topicId]!.Properties?.KmsMasterKeyId;
      if (keyRef === undefined) {
        delivery.keyGrant = 'unencrypted';
        continue;
      }
      const keyId = (keyRef as { Ref?: string }).Ref ?? (keyRef as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0];
      const key = keyId === undefined ? undefined : resources[keyId];
      if (key?.Type !== 'AWS::KMS::Key') {
        delivery.problems.push(`topic ${topicId}: its key ${flatten(keyRef)} is not a key of this stack, so its policy cannot be checked (aws/sns cannot grant CloudWatch)`);
        continue;
      }
      const keyGrant = (asArray(key.Properties?.KeyPolicy?.Statement) as Statement[]).find((s) =>
        grantsCloudWatch(s, ['kms:Decrypt', 'kms:GenerateDataKey'], alarmArn),
      );
      if (keyGrant) delivery.keyGrant = keyGrant;
      else delivery.problems.push(`key ${keyId}: no key policy statement lets ${CLOUDWATCH} decrypt and generate data keys for ${alarmName}`);
    }
    deliveries.push(delivery);
  }
  return deliveries;
}

/**
 * An Allow for the CloudWatch service principal with every action in `needs` (globs count), for this account only
 * (`aws:SourceAccount` = the stack's account) and for an `aws:SourceArn` pattern that matches this alarm.
 */
function grantsCloudWatch(statement: Statement, needs: string[], alarmArn: string): boolean {
  if (statement.Effect !== 'Allow') return false;
  const services = asArray((statement.Principal as { Service?: unknown } | undefined)?.Service).map(String);
  if (!services.includes(CLOUDWATCH)) return false;
  const actions = asArray(statement.Action).map(String);
  if (!needs.every((need) => actions.some((action) => globMatches(action, need)))) return false;
  const account = statement.Condition?.StringEquals?.['aws:SourceAccount'];
  if (account === undefined || flatten(account) !== '<AWS::AccountId>') return false;
  const sourceArn = statement.Condition?.ArnLike?.['aws:SourceArn'] ?? statement.Condition?.ArnEquals?.['aws:SourceArn'];
  return asArray(sourceArn).some((pattern) => globMatches(flatten(pattern), alarmArn));
}

function globMatches(pattern: string, value: string): boolean {
  return new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i').test(value);
}

function asArray(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
