import { ArnFormat, type CfnElement } from 'aws-cdk-lib';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RegistrarStack } from '../../infra/stacks/registrar-stack.ts';
import type { IConstruct } from 'constructs';
import { findDataWildcards, flatten, policyStatements, statementsAllowing, type PolicyStatementRef } from './helpers/iam-walker.ts';
import { synthRegistrar } from './helpers/synth.ts';

type TemplateJson = Parameters<typeof findDataWildcards>[0];

describe('IAM walker', () => {
  let deployed: TemplateJson;
  let statements: PolicyStatementRef[];
  /** How a resource's ARN reads in a flattened statement, e.g. `<JobsQueue24944186.Arn>`. */
  let arnOf: (arn: string) => string;
  let logicalIdOf: (construct: IConstruct) => string;
  let stack: RegistrarStack;

  beforeAll(() => {
    const synthesized = synthRegistrar();
    stack = synthesized.stack;
    const template = synthesized.template;
    deployed = template().toJSON();
    statements = policyStatements(deployed);
    arnOf = (arn) => flatten(stack.resolve(arn));
    logicalIdOf = (construct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
  });

  it('finds no wildcard on sqs, dynamodb or secretsmanager actions in the stack as deployed', () => {
    // Prepare: the deployed template (beforeAll)
    // Act
    const findings = findDataWildcards(deployed);
    // Assess
    expect(statements.length).toBeGreaterThan(0);
    expect(findings.map((f) => `${f.statement.logicalId}: ${f.problem}`)).toEqual([]);
  });

  it('finds no wildcard with the scheduled redrive off either', () => {
    // Prepare
    const template = synthRegistrar({ context: { scheduledRedrive: 'false' } }).template().toJSON();
    // Act
    const findings = findDataWildcards(template);
    // Assess
    expect(findings).toEqual([]);
  });

  const failing: Array<[string, (stack: RegistrarStack) => void, RegExp]> = [
    [
      'a dynamodb action on "*"',
      (stack) => stack.worker.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:GetItem'], resources: ['*'] })),
      /dynamodb:GetItem on \*/,
    ],
    [
      'a wildcard sqs action on a named queue',
      (stack) => stack.worker.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['sqs:*'], resources: [stack.jobs.queue.queueArn] })),
      /wildcard action sqs:\*/,
    ],
    [
      'every secret in the account (empty prefix)',
      (stack) =>
        stack.worker.role.addToPrincipalPolicy(
          new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })] }),
        ),
      /secretsmanager:GetSecretValue on arn:/,
    ],
    [
      'a table ARN pattern (table/*)',
      (stack) =>
        stack.worker.role.addToPrincipalPolicy(
          new PolicyStatement({ actions: ['dynamodb:Query'], resources: [stack.formatArn({ service: 'dynamodb', resource: 'table', resourceName: '*' })] }),
        ),
      /dynamodb:Query on arn:.*table\/\*/,
    ],
    [
      'an all-actions statement',
      (stack) => stack.worker.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['*'], resources: ['*'] })),
      /wildcard action \*/,
    ],
    [
      'a managed policy attached elsewhere',
      (stack) =>
        new ManagedPolicy(stack, 'TooBroad', { statements: [new PolicyStatement({ actions: ['sqs:SendMessage'], resources: ['*'] })] }),
      /sqs:SendMessage on \*/,
    ],
  ];

  it.each(failing)('catches %s', (_name, customize, expected) => {
    // Prepare: without cdk-nag, which would refuse to synthesize it; the walker must catch it alone
    const template = synthRegistrar({ customize, nag: false }).template().toJSON();
    // Act
    const findings = findDataWildcards(template);
    // Assess
    expect(findings.map((f) => f.problem)).toContainEqual(expect.stringMatching(expected));
  });

  describe('only the worker can read a secret value', () => {
    it('allows secretsmanager:GetSecretValue (or a wildcard covering it) to the worker\'s role alone', () => {
      // Act
      const readers = new Set(statementsAllowing(deployed, 'secretsmanager:GetSecretValue').map((s) => s.logicalId));
      // Assess: not the operator policies, not the scheduled redrive, not the producers
      expect([...readers]).toEqual([logicalIdOf(stack.worker.role.node.findChild('DefaultPolicy'))]);
    });

    const pick = { write: (s: RegistrarStack) => s.operators.write, read: (s: RegistrarStack) => s.operators.read };
    it.each([
      ['GetSecretValue added to the operators\' write policy', 'write', ['secretsmanager:GetSecretValue']],
      ['a wildcard action that covers it on the read policy', 'read', ['secretsmanager:Get*']],
    ] as const)('catches %s', (_name, which, actions) => {
      // Prepare
      const synthesized = synthRegistrar({
        customize: (s) => pick[which](s).addStatements(new PolicyStatement({ actions: [...actions], resources: ['*'] })),
        nag: false,
      });
      // Act
      const readers = statementsAllowing(synthesized.template().toJSON(), 'secretsmanager:GetSecretValue').map((s) => s.logicalId);
      // Assess
      expect(readers).toContain(synthesized.stack.getLogicalId(pick[which](synthesized.stack).node.defaultChild as CfnElement));
    });
  });

  describe('grants exactly what each role needs', () => {
    const grantsOf = (policy: IConstruct) =>
      statements
        .filter((s) => s.logicalId === logicalIdOf(policy))
        .flatMap((s) => s.actions.flatMap((action) => s.resources.map((resource) => `${action} ${resource}`)))
        .filter((grant) => !grant.startsWith('logs:'))
        .sort();
    const grantsOfAll = (policy: IConstruct) =>
      statements
        .filter((s) => s.logicalId === logicalIdOf(policy))
        .flatMap((s) => s.actions.flatMap((action) => s.resources.map((resource) => `${action} ${resource}`)))
        .sort();

    it('worker: what the ledger adapter calls, its own queue (carrying waiting jobs too), send-only on the DLQ, and the named secrets', () => {
      // Prepare
      const table = arnOf(stack.ledger.table.tableArn);
      const jobs = arnOf(stack.jobs.queue.queueArn);
      const dlq = arnOf(stack.jobs.deadLetterQueue.queueArn);
      const secret = 'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:';
      // Act
      const grants = grantsOf(stack.worker.role.node.findChild('DefaultPolicy'));
      // Assess: read = BatchGetItem, history = Query, commit = TransactWriteItems of Put (PutItem) and
      // ConditionCheck (ConditionCheckItem). No GetItem, UpdateItem or DeleteItem: the adapter never calls them.
      expect(grants).toEqual(
        [
          ...['BatchGetItem', 'ConditionCheckItem', 'PutItem', 'Query'].map((a) => `dynamodb:${a} ${table}`),
          // Lambda's poller: Receive, Delete, GetQueueAttributes. The worker: ChangeMessageVisibility (retry delays),
          // SendMessage (carrying a waiting job). No GetQueueUrl: nothing calls it.
          ...['ChangeMessageVisibility', 'DeleteMessage', 'GetQueueAttributes', 'ReceiveMessage', 'SendMessage'].map((a) => `sqs:${a} ${jobs}`),
          `sqs:SendMessage ${dlq}`,
          `secretsmanager:GetSecretValue ${secret}wa-registrar/dev/graph-token-??????`,
          `secretsmanager:GetSecretValue ${secret}wa-registrar/dev/pin/*`,
        ].sort(),
      );
    });

    it('scheduled redrive: drains the DLQ, sends to the job queue, reads holds and secret versions, nothing else', () => {
      // Prepare
      const table = arnOf(stack.ledger.table.tableArn);
      const secret = 'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:';
      // Act
      const grants = grantsOf(stack.redrive!.fn.role.node.findChild('DefaultPolicy'));
      // Assess: ListSecretVersionIds only (which version is current), never GetSecretValue; no ledger write. No
      // GetQueueAttributes: the redrive scans, releases and deletes, it never counts the queue.
      expect(grants).toEqual(
        [
          ...['ChangeMessageVisibility', 'DeleteMessage', 'ReceiveMessage'].map((a) => `sqs:${a} ${arnOf(stack.jobs.deadLetterQueue.queueArn)}`),
          `sqs:SendMessage ${arnOf(stack.jobs.queue.queueArn)}`,
          `dynamodb:BatchGetItem ${table}`,
          `dynamodb:GetItem ${table}`,
          `secretsmanager:ListSecretVersionIds ${secret}wa-registrar/dev/graph-token-??????`,
          `secretsmanager:ListSecretVersionIds ${secret}wa-registrar/dev/pin/*`,
        ].sort(),
      );
    });

    it('operators, read: status, dlq list and dlq show, and the reads of the other commands; nothing else', () => {
      // Prepare
      const table = arnOf(stack.ledger.table.tableArn);
      const dlq = arnOf(stack.jobs.deadLetterQueue.queueArn);
      // Act
      const grants = grantsOf(stack.operators.read);
      // Assess: ledger number() = BatchGetItem, history() = Query, appGates() = GetItem; the DLQ scan =
      // ReceiveMessage + ChangeMessageVisibilityBatch, dlq list's count = GetQueueAttributes; --stack = this stack.
      expect(grants).toEqual(
        [
          ...['BatchGetItem', 'GetItem', 'Query'].map((a) => `dynamodb:${a} ${table}`),
          ...['ChangeMessageVisibility', 'GetQueueAttributes', 'ReceiveMessage'].map((a) => `sqs:${a} ${dlq}`),
          'cloudformation:DescribeStacks <AWS::StackId>',
        ].sort(),
      );
    });

    it('operators, write: enqueue, redrive, purge and hold clear; nothing else', () => {
      // Prepare
      const secret = 'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:';
      // Act
      const grants = grantsOf(stack.operators.write);
      // Assess: SendMessage(Batch) to the job queue, DeleteMessage on the DLQ, hold clear's transaction of Put
      // items only (PutItem; no ConditionCheck item), and the redrive's hold check (ListSecretVersionIds: versions only).
      expect(grants).toEqual(
        [
          `sqs:SendMessage ${arnOf(stack.jobs.queue.queueArn)}`,
          `sqs:DeleteMessage ${arnOf(stack.jobs.deadLetterQueue.queueArn)}`,
          `dynamodb:PutItem ${arnOf(stack.ledger.table.tableArn)}`,
          `secretsmanager:ListSecretVersionIds ${secret}wa-registrar/dev/graph-token-??????`,
          `secretsmanager:ListSecretVersionIds ${secret}wa-registrar/dev/pin/*`,
        ].sort(),
      );
    });

    it('producers: send to the job queue only', () => {
      // Act
      const grants = grantsOf(stack.jobs.producerPolicy);
      // Assess
      expect(grants).toEqual(
        ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'].map((a) => `${a} ${arnOf(stack.jobs.queue.queueArn)}`),
      );
    });

    it.each(['worker', 'scheduled redrive'])('log permissions: the %s writes only to its own log group', (name) => {
      // Prepare
      const fn = name === 'worker' ? stack.worker : stack.redrive!.fn;
      // Act
      const logGrants = grantsOfAll(fn.role.node.findChild('DefaultPolicy')).filter((grant) => grant.startsWith('logs:'));
      // Assess
      expect(logGrants).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents'].map((a) => `${a} ${arnOf(fn.logGroup.logGroupArn)}`));
    });
  });
});
