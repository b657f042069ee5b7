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
      'a table ARN pattern on the change log',
      (stack) =>
        stack.webhooks.fn.role.addToPrincipalPolicy(
          new PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [`${stack.webhooks.changes.table.tableArn}*`] }),
        ),
      /dynamodb:PutItem on <WebhooksChangesTable.*\.Arn>\*/,
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

  describe('only the functions that use a secret can read its value', () => {
    it('allows secretsmanager:GetSecretValue (or a wildcard covering it) to the worker, the webhook receiver, the event resolver, the PIN rotation and the operators\' Graph policy alone', () => {
      // Act
      const readers = new Set(statementsAllowing(deployed, 'secretsmanager:GetSecretValue').map((s) => s.logicalId));
      // Assess: the functions that use a secret, and the operators' Graph policy, because `verify` and `explain`'s live
      // read call Graph themselves with the token (attached only to the people who verify numbers). Not the operators'
      // read or write policy, not the scheduled redrive, not the deadline watch, not the producers. Which secrets each
      // may read is in 'grants exactly what each role needs'.
      expect([...readers].sort()).toEqual(
        [
          ...[stack.worker, stack.webhooks.fn, stack.resolver, stack.pinRotation.fn].map((fn) => logicalIdOf(fn.role.node.findChild('DefaultPolicy'))),
          logicalIdOf(stack.operators.graph),
        ].sort(),
      );
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
          // The app's token, a business's own token (Solution Partners), the number's PIN and its On-Premises backup
          // (migrations): read only. CreateSecret on the PIN prefix alone (pinPolicy provision-if-missing; it fails on a
          // secret that exists, and there is no PutSecretValue, so no PIN is ever overwritten).
          `secretsmanager:GetSecretValue ${secret}wa-registrar/dev/graph-token-??????`,
          `secretsmanager:GetSecretValue ${secret}wa-registrar/dev/token/*`,
          `secretsmanager:GetSecretValue ${secret}wa-registrar/dev/pin/*`,
          `secretsmanager:CreateSecret ${secret}wa-registrar/dev/pin/*`,
          `secretsmanager:GetSecretValue ${secret}wa-registrar/dev/backup/*`,
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
          // A business's own token: its token_rejected hold lifts with a new version of that secret.
          `secretsmanager:ListSecretVersionIds ${secret}wa-registrar/dev/token/*`,
          `secretsmanager:ListSecretVersionIds ${secret}wa-registrar/dev/pin/*`,
        ].sort(),
      );
    });

    it('operators, read: status, dlq list and dlq show, the reads of the other commands and a peek at event dead letters; nothing else', () => {
      // Prepare
      const table = arnOf(stack.ledger.table.tableArn);
      const dlq = arnOf(stack.jobs.deadLetterQueue.queueArn);
      const eventDlq = arnOf(stack.events.deadLetterQueue.queueArn);
      // Act
      const grants = grantsOf(stack.operators.read);
      // Assess: ledger number() = BatchGetItem, history() = Query, appGates() = GetItem; the DLQ scan =
      // ReceiveMessage + ChangeMessageVisibilityBatch, dlq list's count = GetQueueAttributes; --stack = this stack. The
      // events DLQ gets the same peek (aws sqs receive-message); nothing on the buffer queue or the bus.
      expect(grants).toEqual(
        [
          ...['BatchGetItem', 'GetItem', 'Query'].map((a) => `dynamodb:${a} ${table}`),
          ...['ChangeMessageVisibility', 'GetQueueAttributes', 'ReceiveMessage'].map((a) => `sqs:${a} ${dlq}`),
          ...['ChangeMessageVisibility', 'GetQueueAttributes', 'ReceiveMessage'].map((a) => `sqs:${a} ${eventDlq}`),
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
          // An event dead letter acted on (its job enqueued by hand) is deleted by hand.
          `sqs:DeleteMessage ${arnOf(stack.events.deadLetterQueue.queueArn)}`,
          `dynamodb:PutItem ${arnOf(stack.ledger.table.tableArn)}`,
          `secretsmanager:ListSecretVersionIds ${secret}wa-registrar/dev/graph-token-??????`,
          `secretsmanager:ListSecretVersionIds ${secret}wa-registrar/dev/pin/*`,
          // A business token's gate lifts with a new version of its own secret.
          `secretsmanager:ListSecretVersionIds ${secret}wa-registrar/dev/token/*`,
        ].sort(),
      );
    });

    it('operators, Graph: the token\'s value for verify and explain\'s live read (the app\'s and businesses\' own); nothing else', () => {
      // Prepare
      const secret = 'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:';
      // Act
      const grants = grantsOf(stack.operators.graph);
      // Assess: GetSecretValue on the token secret and the business-token prefix only. Never a PIN, a backup or a
      // webhook secret; no write, no queue, no table (the read and write policies carry those).
      expect(grants).toEqual(
        [
          `secretsmanager:GetSecretValue ${secret}wa-registrar/dev/graph-token-??????`,
          `secretsmanager:GetSecretValue ${secret}wa-registrar/dev/token/*`,
        ].sort(),
      );
    });

    it('webhook receiver: its two secrets by name, the change log\'s claim calls, and PutEvents on the bus; nothing else', () => {
      // Prepare
      const changes = arnOf(stack.webhooks.changes.table.tableArn);
      const secret = 'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:';
      // Act
      const grants = grantsOf(stack.webhooks.fn.role.node.findChild('DefaultPolicy'));
      // Assess: claim = conditional PutItem, markPublished = UpdateItem, release = DeleteItem (no GetItem: a failed
      // claim returns the old item). Not the ledger, not a queue, not the Graph token or a PIN.
      expect(grants).toEqual(
        [
          ...['DeleteItem', 'PutItem', 'UpdateItem'].map((a) => `dynamodb:${a} ${changes}`),
          `events:PutEvents ${arnOf(stack.events.bus.eventBusArn)}`,
          `secretsmanager:GetSecretValue ${secret}wa-registrar/dev/meta-app-secret-??????`,
          `secretsmanager:GetSecretValue ${secret}wa-registrar/dev/webhook-verify-token-??????`,
        ].sort(),
      );
    });

    it('event resolver: what its ledger calls use, the buffer\'s poller, send-only on the job queue and the events DLQ, and the tokens; nothing else', () => {
      // Prepare
      const table = arnOf(stack.ledger.table.tableArn);
      const buffer = arnOf(stack.events.bufferQueue.queueArn);
      const secret = 'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:';
      // Act
      const grants = grantsOf(stack.resolver.role.node.findChild('DefaultPolicy'));
      // Assess: number() = BatchGetItem, business() = GetItem, commit() of Put items and recordEvent() = PutItem. No
      // Query, DeleteItem or ConditionCheckItem: the resolver never calls them. Never a PIN or a backup: the token's
      // name, and the business-token prefix (a business's numbers are listed with its own token when it has one).
      expect(grants).toEqual(
        [
          ...['BatchGetItem', 'GetItem', 'PutItem'].map((a) => `dynamodb:${a} ${table}`),
          ...['DeleteMessage', 'GetQueueAttributes', 'ReceiveMessage'].map((a) => `sqs:${a} ${buffer}`),
          `sqs:SendMessage ${arnOf(stack.jobs.queue.queueArn)}`,
          `sqs:SendMessage ${arnOf(stack.events.deadLetterQueue.queueArn)}`,
          `secretsmanager:GetSecretValue ${secret}wa-registrar/dev/graph-token-??????`,
          `secretsmanager:GetSecretValue ${secret}wa-registrar/dev/token/*`,
        ].sort(),
      );
    });

    it('deadline watch: lists deadlines, reads numbers and drops met deadlines on the ledger; nothing else', () => {
      // Prepare
      const table = arnOf(stack.ledger.table.tableArn);
      // Act
      const grants = grantsOf(stack.deadlineWatch.fn.role.node.findChild('DefaultPolicy'));
      // Assess: deadlines() = Query, number() = BatchGetItem, dropDeadline() = DeleteItem. No secret, no queue, no write
      // but the conditional delete.
      expect(grants).toEqual(['BatchGetItem', 'DeleteItem', 'Query'].map((a) => `dynamodb:${a} ${table}`));
    });

    it('PIN rotation: the rotation calls on the PIN secrets, the token, and the number\'s item and requests on the ledger; nothing else', () => {
      // Prepare
      const table = arnOf(stack.ledger.table.tableArn);
      const secret = 'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:';
      // Act
      const grants = grantsOf(stack.pinRotation.fn.role.node.findChild('DefaultPolicy'));
      // Assess: number() = BatchGetItem, history() = Query, commit() of the number item = PutItem. On the PIN secrets exactly what the vault
      // calls (no CreateSecret, DeleteSecret, RotateSecret or GetRandomPassword); on the token, a read. No queue.
      expect(grants).toEqual(
        [
          ...['BatchGetItem', 'PutItem', 'Query'].map((a) => `dynamodb:${a} ${table}`),
          ...['DescribeSecret', 'GetSecretValue', 'PutSecretValue', 'UpdateSecretVersionStage'].map((a) => `secretsmanager:${a} ${secret}wa-registrar/dev/pin/*`),
          `secretsmanager:GetSecretValue ${secret}wa-registrar/dev/graph-token-??????`,
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

    const functions = {
      worker: (s: RegistrarStack) => s.worker,
      'scheduled redrive': (s: RegistrarStack) => s.redrive!.fn,
      'webhook receiver': (s: RegistrarStack) => s.webhooks.fn,
      'event resolver': (s: RegistrarStack) => s.resolver,
      'deadline watch': (s: RegistrarStack) => s.deadlineWatch.fn,
      'PIN rotation': (s: RegistrarStack) => s.pinRotation.fn,
    };
    it.each(Object.keys(functions) as (keyof typeof functions)[])('log permissions: the %s writes only to its own log group', (name) => {
      // Prepare
      const fn = functions[name](stack);
      // Act
      const logGrants = grantsOfAll(fn.role.node.findChild('DefaultPolicy')).filter((grant) => grant.startsWith('logs:'));
      // Assess
      expect(logGrants).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents'].map((a) => `${a} ${arnOf(fn.logGroup.logGroupArn)}`));
    });
  });
});
