import { Aws } from 'aws-cdk-lib';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { AttemptLedger } from './attempt-ledger.ts';
import type { JobQueue } from './job-queue.ts';
import type { RegistrarEvents } from './registrar-events.ts';
import { acknowledgePrefix, secretArn, secretPrefixArn, type SecretNames } from './secret-arns.ts';

/**
 * What the ops CLI reads, by resource: `status`, `dlq list` and `dlq show`, and the reads of the other commands.
 * - ledger: BatchGetItem (`DynamoDbAttemptLedger.number()`: status, enqueue's budget check, hold clear, the hold
 *   probe), Query (`history()`: status), GetItem (`appGates()`: status, hold clear --token, the hold probe);
 * - dead-letter queue: ReceiveMessage (the scan), ChangeMessageVisibility (ChangeMessageVisibilityBatch: the scan
 *   releases what it read), GetQueueAttributes (`dlq list` counts the queue);
 * - this stack: DescribeStacks (`--stack` reads the outputs);
 * - the events dead-letter queue, the same peek as the job DLQ's (`aws sqs receive-message`, then releasing with
 *   `change-message-visibility`, or `get-queue-attributes` to count): no CLI command reads it yet.
 */
const OPERATOR_READ_ACTIONS = {
  ledger: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'],
  deadLetterQueue: ['sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'],
  eventsDeadLetterQueue: ['sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'],
  stack: ['cloudformation:DescribeStacks'],
} as const;

/**
 * What the ops CLI changes, by resource: `enqueue`, `dlq redrive`, `dlq purge` and `hold clear`.
 * - job queue: SendMessage (SendMessageBatch too: enqueue, redrive);
 * - dead-letter queue: DeleteMessage (redrive, purge);
 * - ledger: PutItem (hold clear's TransactWriteItems holds Put items only; a transaction needs no action of its own);
 * - secrets: ListSecretVersionIds (redrive --eligible/--all: is a refused PIN or token replaced by a new version?), which
 *   returns metadata, never a value;
 * - events dead-letter queue: DeleteMessage (an event dead letter acted on, by `enqueue` of its job, is removed by hand).
 */
const OPERATOR_WRITE_ACTIONS = {
  jobQueue: ['sqs:SendMessage'],
  deadLetterQueue: ['sqs:DeleteMessage'],
  eventsDeadLetterQueue: ['sqs:DeleteMessage'],
  ledger: ['dynamodb:PutItem'],
  secrets: ['secretsmanager:ListSecretVersionIds'],
} as const;

/**
 * What `verify` and `explain`'s live state read need to call Graph themselves: the token's value (GetSecretValue), from
 * the token secret or, for a business with a token of its own, from `<tokenSecretPrefix><wabaId>`. The only operator
 * grant that reads a secret value; never a PIN, a backup or a webhook secret.
 */
const OPERATOR_GRAPH_ACTIONS = {
  tokens: ['secretsmanager:GetSecretValue'],
} as const;

/** What {@link OperatorPolicies} grants on. */
export interface OperatorPoliciesProps {
  readonly jobs: JobQueue;
  readonly ledger: AttemptLedger;
  readonly secrets: SecretNames;
  readonly events: RegistrarEvents;
}

/**
 * Three managed policies for people running the ops CLI against this stage, exact actions on exact resources:
 * `read` (status, dlq list, dlq show) and `write` (enqueue, dlq redrive, dlq purge, hold clear), which is attached
 * together with `read` (every write command reads first); neither can read a secret value (no GetSecretValue). And
 * `graph`, for the people who verify numbers: the Graph token's value, which `verify` and `explain`'s live read send
 * to Graph, and nothing else.
 */
export class OperatorPolicies extends Construct {
  readonly read: ManagedPolicy;
  readonly write: ManagedPolicy;
  readonly graph: ManagedPolicy;

  constructor(scope: Construct, id: string, props: OperatorPoliciesProps) {
    super(scope, id);
    const { jobs, ledger, events, secrets } = props;
    const table = ledger.table.tableArn;

    this.read = new ManagedPolicy(this, 'Read', {
      description: 'wa-registrar operators: status, dlq list and dlq show, and a peek at event dead letters (reads only; no secret values).',
      statements: [
        new PolicyStatement({ sid: 'ReadLedger', actions: [...OPERATOR_READ_ACTIONS.ledger], resources: [table] }),
        new PolicyStatement({ sid: 'PeekDeadLetters', actions: [...OPERATOR_READ_ACTIONS.deadLetterQueue], resources: [jobs.deadLetterQueue.queueArn] }),
        new PolicyStatement({
          sid: 'PeekEventDeadLetters',
          actions: [...OPERATOR_READ_ACTIONS.eventsDeadLetterQueue],
          resources: [events.deadLetterQueue.queueArn],
        }),
        // This stack's own ARN (with its unique id): `--stack` resolves the outputs of this stage only.
        new PolicyStatement({ sid: 'ReadStackOutputs', actions: [...OPERATOR_READ_ACTIONS.stack], resources: [Aws.STACK_ID] }),
      ],
    });

    const tokenArn = secretArn(this, secrets.tokenSecretName);
    this.write = new ManagedPolicy(this, 'Write', {
      description: 'wa-registrar operators: enqueue, dlq redrive, dlq purge and hold clear. Attach with the read policy. No secret values.',
      statements: [
        new PolicyStatement({ sid: 'SendJobs', actions: [...OPERATOR_WRITE_ACTIONS.jobQueue], resources: [jobs.queue.queueArn] }),
        new PolicyStatement({ sid: 'RemoveDeadLetters', actions: [...OPERATOR_WRITE_ACTIONS.deadLetterQueue], resources: [jobs.deadLetterQueue.queueArn] }),
        new PolicyStatement({
          sid: 'RemoveEventDeadLetters',
          actions: [...OPERATOR_WRITE_ACTIONS.eventsDeadLetterQueue],
          resources: [events.deadLetterQueue.queueArn],
        }),
        new PolicyStatement({ sid: 'ClearHolds', actions: [...OPERATOR_WRITE_ACTIONS.ledger], resources: [table] }),
        new PolicyStatement({
          sid: 'SeeSecretVersions',
          actions: [...OPERATOR_WRITE_ACTIONS.secrets],
          resources: [tokenArn, secretPrefixArn(this, secrets, 'pinSecretPrefix'), secretPrefixArn(this, secrets, 'tokenSecretPrefix')],
        }),
      ],
    });
    acknowledgePrefix(this.write, secrets, 'pinSecretPrefix', OPERATOR_WRITE_ACTIONS.secrets);
    acknowledgePrefix(this.write, secrets, 'tokenSecretPrefix', OPERATOR_WRITE_ACTIONS.secrets);

    this.graph = new ManagedPolicy(this, 'Graph', {
      description:
        'wa-registrar operators who verify numbers: the Graph token (and businesses\' own tokens) for verify and explain\'s live read. Reads those secret values only.',
      statements: [
        new PolicyStatement({
          sid: 'ReadGraphTokens',
          actions: [...OPERATOR_GRAPH_ACTIONS.tokens],
          resources: [tokenArn, secretPrefixArn(this, secrets, 'tokenSecretPrefix')],
        }),
      ],
    });
    acknowledgePrefix(this.graph, secrets, 'tokenSecretPrefix', OPERATOR_GRAPH_ACTIONS.tokens);
  }
}
