import { ArnFormat, Validations } from 'aws-cdk-lib';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import type { RegistrarStack } from '../../infra/stacks/registrar-stack.ts';
import { synthRegistrar } from './helpers/synth.ts';

/** Every acknowledgement recorded in the tree: where, which finding, and why. */
function acknowledgements(root: IConstruct): Array<{ path: string; id: string; reason: string }> {
  const found: Array<{ path: string; id: string; reason: string }> = [];
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        // CDK records ids without a plugin namespace as annotation ids; cdk-nag matches them without it.
        found.push({ path: construct.node.path, id: id.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return found;
}

const findings = (violations: ReturnType<ReturnType<typeof synthRegistrar>['nagViolations']>) =>
  violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));

describe('cdk-nag AwsSolutions', () => {
  describe.each([
    ['as deployed by default', {}],
    ['with the scheduled redrive off', { scheduledRedrive: false }],
    ['with an alarm e-mail', { alarmEmail: 'oncall@example.com' }],
    [
      'with another stage and prefixes',
      { stage: 'prod', pinSecretPrefix: 'prod/wa/pin/', tokenSecretName: 'prod/wa/token', tokenSecretPrefix: 'prod/wa/business-tokens/', backupSecretPrefix: 'prod/wa/backups/' },
    ],
    ['with no reserved concurrency for the webhook receiver', { webhookConcurrency: 0 }],
  ])('%s', (_name, context) => {
    it('reports no unacknowledged error or warning, and the synth goes through', () => {
      // Prepare
      const app = synthRegistrar({ context });
      // Act
      const violations = app.nagViolations();
      // Assess
      expect(findings(violations)).toEqual([]);
      expect(() => app.template()).not.toThrow();
    });
  });

  it('acknowledges only twelve findings, each one exactly and with a reason', () => {
    // Prepare
    const { app, stack } = synthRegistrar();
    const prefix = (name: string) => `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:wa-registrar/dev/${name}/*]`;
    const [pins, tokens, backups] = [prefix('pin'), prefix('token'), prefix('backup')];
    // Act
    const acks = acknowledgements(app).filter((ack) => ack.id.startsWith('AwsSolutions-'));
    // Assess: both dead-letter queues (SQS3); the PIN prefix on the worker (GetSecretValue, CreateSecret), the scheduled
    // redrive and the operators' write policy (ListSecretVersionIds), the PIN rotation function (its four rotation calls);
    // the business-token prefix on the worker and the event resolver (GetSecretValue), the scheduled redrive
    // (ListSecretVersionIds), the operators' write policy (ListSecretVersionIds) and Graph policy (GetSecretValue); the backup prefix on the worker
    // (GetSecretValue). One acknowledgement per holder and prefix. Nothing for the webhook receiver's public Function
    // URL: AwsSolutions has no rule on it (see 'the public Function URL' below), and its roles name their secrets exactly.
    expect(acks.map(({ path, id }) => ({ path, id }))).toEqual(
      expect.arrayContaining([
        { path: stack.jobs.deadLetterQueue.node.path, id: 'AwsSolutions-SQS3' },
        { path: stack.events.deadLetterQueue.node.path, id: 'AwsSolutions-SQS3' },
        { path: stack.worker.role.node.path, id: pins },
        { path: stack.redrive!.fn.role.node.path, id: pins },
        { path: stack.operators.write.node.path, id: pins },
        { path: stack.pinRotation.fn.role.node.path, id: pins },
        { path: stack.worker.role.node.path, id: tokens },
        { path: stack.resolver.role.node.path, id: tokens },
        { path: stack.redrive!.fn.role.node.path, id: tokens },
        { path: stack.operators.graph.node.path, id: tokens },
        { path: stack.operators.write.node.path, id: tokens },
        { path: stack.worker.role.node.path, id: backups },
      ]),
    );
    expect(acks).toHaveLength(12);
    for (const ack of acks) expect(ack.reason.length).toBeGreaterThan(80);
    // Each reason names every action its holder has on the prefix.
    const reasonOf = (path: string, id: string) => acks.find((ack) => ack.path === path && ack.id === id)!.reason;
    expect(reasonOf(stack.worker.role.node.path, pins)).toMatch(/secretsmanager:GetSecretValue, secretsmanager:CreateSecret\.$/);
    expect(reasonOf(stack.operators.graph.node.path, tokens)).toMatch(/only for secretsmanager:GetSecretValue\.$/);
  });

  // Paired cases, cdk-nag style: the same stack with one thing done wrong must be caught.
  const failing: Array<[string, (stack: RegistrarStack) => void, RegExp]> = [
    [
      'a second wildcard on the worker role (the PIN acknowledgement covers only its own ARN)',
      (stack) => stack.worker.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: ['*'] })),
      /^AwsSolutions-IAM5\[Resource::\*\] .*\/Worker\/Role\/DefaultPolicy\/Resource$/,
    ],
    [
      'a second wildcard on the scheduled redrive role (its PIN acknowledgement covers only its own ARN)',
      (stack) => stack.redrive!.fn.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['secretsmanager:ListSecretVersionIds'], resources: ['*'] })),
      /^AwsSolutions-IAM5\[Resource::\*\] .*\/ScheduledRedrive\/Redrive\/Role\/DefaultPolicy\/Resource$/,
    ],
    [
      'a second wildcard on the operators\' write policy (its PIN acknowledgement covers only its own ARN)',
      (stack) => stack.operators.write.addStatements(new PolicyStatement({ actions: ['sqs:DeleteMessage'], resources: ['*'] })),
      /^AwsSolutions-IAM5\[Resource::\*\] .*\/Operators\/Write\/Resource$/,
    ],
    [
      'a second wildcard on the PIN rotation role (its PIN acknowledgement covers only its own ARN)',
      (stack) => stack.pinRotation.fn.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['secretsmanager:PutSecretValue'], resources: ['*'] })),
      /^AwsSolutions-IAM5\[Resource::\*\] .*\/PinRotation\/Rotate\/Role\/DefaultPolicy\/Resource$/,
    ],
    [
      'a second wildcard on the operators\' Graph policy (its business-token acknowledgement covers only its own ARN)',
      (stack) => stack.operators.graph.addStatements(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: ['*'] })),
      /^AwsSolutions-IAM5\[Resource::\*\] .*\/Operators\/Graph\/Resource$/,
    ],
    [
      'a grant on another prefix on the worker role (each prefix is acknowledged by its own ARN)',
      (stack) =>
        stack.worker.role.addToPrincipalPolicy(
          new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: 'wa-registrar/dev/other/*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })] }),
        ),
      /^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:wa-registrar\/dev\/other\/\*\] .*\/Worker\/Role\/DefaultPolicy\/Resource$/,
    ],
    [
      'a wildcard on the webhook receiver role',
      (stack) => stack.webhooks.fn.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: ['*'] })),
      /^AwsSolutions-IAM5\[Resource::\*\] .*\/Webhooks\/Receiver\/Role\/DefaultPolicy\/Resource$/,
    ],
    [
      'a second wildcard on the event resolver role (its business-token acknowledgement covers only its own ARN)',
      (stack) => stack.resolver.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: ['*'] })),
      /^AwsSolutions-IAM5\[Resource::\*\] .*\/EventResolver\/Role\/DefaultPolicy\/Resource$/,
    ],
    [
      'a wildcard on the operators\' read policy',
      (stack) => stack.operators.read.addStatements(new PolicyStatement({ actions: ['dynamodb:Query'], resources: ['*'] })),
      /^AwsSolutions-IAM5\[Resource::\*\] .*\/Operators\/Read\/Resource$/,
    ],
    [
      'a queue that accepts plain HTTP',
      (stack) => new Queue(stack, 'PlainQueue', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: false }),
      /^AwsSolutions-SQS4 .*\/PlainQueue\/Resource$/,
    ],
    [
      'a queue without a dead-letter queue',
      (stack) => new Queue(stack, 'NoDlqQueue', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true }),
      /^AwsSolutions-SQS3 .*\/NoDlqQueue\/Resource$/,
    ],
    [
      'a table without point-in-time recovery',
      (stack) => new Table(stack, 'NoPitr', { partitionKey: { name: 'pk', type: AttributeType.STRING } }),
      /^AwsSolutions-DDB3 .*\/NoPitr\/Resource$/,
    ],
    [
      'a function on an older runtime',
      (stack) => new LambdaFunction(stack, 'Old', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler=()=>{}') }),
      /^AwsSolutions-L1 .*\/Old\/Resource$/,
    ],
  ];

  it.each(failing)('catches %s', (_name, customize, expected) => {
    // Prepare
    const app = synthRegistrar({ customize });
    // Act
    const reported = findings(app.nagViolations());
    // Assess
    expect(reported).toContainEqual(expect.stringMatching(expected));
    expect(() => app.template()).toThrow(/AwsSolutions/);
  });
});
