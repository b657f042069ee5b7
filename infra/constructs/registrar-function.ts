import { fileURLToPath } from 'node:url';
import { Duration, Names, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS } from '../../shared/metrics.ts';
import { BUNDLE } from '../definitions.ts';
import type { AttemptLedger, LedgerAccess } from './attempt-ledger.ts';
import type { JobQueue } from './job-queue.ts';
import type { RegistrarEvents } from './registrar-events.ts';
import { acknowledgePrefix, secretArn, secretPrefixArn, type SecretNames, type SecretPrefixKey, type WebhookSecretNames } from './secret-arns.ts';
import type { WebhookChangeLog } from './webhook-change-log.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Options of {@link RegistrarFunction}; everything else is a project default. */
export interface RegistrarFunctionProps {
  /** Handler entry, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize?: number;
  /** Environment that needs no grant. Variables tied to a resource are set by the method that grants it. */
  readonly environment?: Record<string, string>;
  /** Reserved concurrency: a cap, and a share of the account's pool no other function can take. None when absent. */
  readonly reservedConcurrentExecutions?: number | undefined;
}

/**
 * A wa-registrar Lambda with the project's defaults set once: Node.js 24 on arm64, an ESM bundle
 * with the tested SDK inside, source maps, its own log group and a role that may only write there.
 * Every other permission comes from a method below that grants it and sets its variable together.
 */
export class RegistrarFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: RegistrarFunctionProps) {
    super(scope, id);

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: RetentionDays.THREE_MONTHS,
      // Logs are the audit trail of register attempts (with fbtrace ids); keep them if the stack goes.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Our own role instead of AWSLambdaBasicExecutionRole, whose log permissions cover every log group.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: `${repoRoot}${props.entry}`,
      handler: 'handler',
      projectRoot: repoRoot,
      depsLockFilePath: `${repoRoot}package-lock.json`,
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      ...(props.reservedConcurrentExecutions ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: METRICS.service,
        POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: BUNDLE.target,
        minify: BUNDLE.minify,
        sourceMap: BUNDLE.sourcemap,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: BUNDLE.sourcesContent,
        mainFields: [...BUNDLE.mainFields],
        banner: BUNDLE.banner,
        // Ship the SDK version the tests ran against, not whatever the runtime carries this month.
        bundleAwsSDK: true,
        // esbuild is a local dev dependency: synth never needs Docker.
        forceDockerBundling: false,
      },
    });
    // The role must exist with its log permissions before the function first runs.
    this.function.node.addDependency(this.role);
  }

  /** Use the attempt ledger with exactly the calls `access` makes (see attempt-ledger.ts); sets LEDGER_TABLE_NAME. */
  useLedger(ledger: AttemptLedger, access: LedgerAccess): this {
    ledger.grantAccess(this.role, access);
    this.function.addEnvironment('LEDGER_TABLE_NAME', ledger.table.tableName);
    return this;
  }

  /**
   * Consume the job queue with partial batch failures; sets JOB_QUEUE_URL and JOB_QUEUE_MAX_RECEIVES.
   * Exactly what is used, instead of CDK's `grantConsumeMessages` (which adds GetQueueUrl, used by nobody):
   * ReceiveMessage, DeleteMessage and GetQueueAttributes for Lambda's poller (the event source mapping runs
   * under this role), ChangeMessageVisibility for the worker's retry delays, and SendMessage to carry a waiting
   * job forward as a fresh message.
   */
  consumeJobs(jobs: JobQueue, options: { maxConcurrency: number }): this {
    // The id CDK's SqsEventSource gives the mapping, so the deployed mapping is updated in place, not replaced.
    this.function.addEventSourceMapping(`SqsEventSource:${Names.nodeUniqueId(jobs.queue.node)}`, {
      eventSourceArn: jobs.queue.queueArn,
      batchSize: 10,
      reportBatchItemFailures: true,
      maxConcurrency: options.maxConcurrency,
      // No maxBatchingWindow: Lambda does not support a batching window on FIFO queues
      // (CDK rejects it with BatchingWindowSupportedQueues). FIFO batches are filled from what is ready.
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'PollJobs',
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'],
        resources: [jobs.queue.queueArn],
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ sid: 'CarryWaitingJobs', actions: ['sqs:SendMessage'], resources: [jobs.queue.queueArn] }),
    );
    this.function.addEnvironment('JOB_QUEUE_URL', jobs.queue.queueUrl);
    // The worker checks MAX_DELIVERIES against it at cold start, so SQS never moves a job before the worker's envelope.
    this.function.addEnvironment('JOB_QUEUE_MAX_RECEIVES', String(jobs.maxReceiveCount));
    return this;
  }

  /** Send dead letters (the worker's own envelopes) to the DLQ; sets DEAD_LETTER_QUEUE_URL. */
  deadLetterTo(jobs: JobQueue): this {
    jobs.grantDeadLetterSend(this.role);
    this.function.addEnvironment('DEAD_LETTER_QUEUE_URL', jobs.deadLetterQueue.queueUrl);
    return this;
  }

  /**
   * The worker's secrets, which live outside the stack: GetSecretValue on the Graph token, on businesses' own tokens,
   * on the per-number PIN secrets and on the On-Premises backups, those names and prefixes only; and CreateSecret on
   * the PIN prefix, for a register job with pinPolicy provision-if-missing (CreateSecret fails on a secret that exists,
   * so no PIN is ever overwritten: no PutSecretValue). Sets TOKEN_SECRET_ID, TOKEN_SECRET_PREFIX, PIN_SECRET_PREFIX and
   * BACKUP_SECRET_PREFIX.
   */
  readSecrets(secrets: SecretNames): this {
    this.readToken(secrets).readBusinessTokens(secrets);
    const pins = secretPrefixArn(this, secrets, 'pinSecretPrefix');
    this.role.addToPrincipalPolicy(new PolicyStatement({ sid: 'ReadPins', actions: ['secretsmanager:GetSecretValue'], resources: [pins] }));
    this.role.addToPrincipalPolicy(new PolicyStatement({ sid: 'ProvisionPins', actions: ['secretsmanager:CreateSecret'], resources: [pins] }));
    this.function.addEnvironment('PIN_SECRET_PREFIX', secrets.pinSecretPrefix);
    acknowledgePrefix(this.role, secrets, 'pinSecretPrefix', ['secretsmanager:GetSecretValue', 'secretsmanager:CreateSecret']);
    return this.#readPrefix('ReadBackups', secrets, 'backupSecretPrefix', 'BACKUP_SECRET_PREFIX');
  }

  /** Read the Graph token only (the event resolver reads numbers lists, never a PIN); sets TOKEN_SECRET_ID. */
  readToken(secrets: Pick<SecretNames, 'tokenSecretName'>): this {
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ sid: 'ReadGraphToken', actions: ['secretsmanager:GetSecretValue'], resources: [secretArn(this, secrets.tokenSecretName)] }),
    );
    this.function.addEnvironment('TOKEN_SECRET_ID', secrets.tokenSecretName);
    return this;
  }

  /**
   * Read businesses' own Graph tokens (Solution Partners: `<tokenSecretPrefix><wabaId>`, used instead of the token
   * secret when it exists): GetSecretValue on that prefix only; sets TOKEN_SECRET_PREFIX.
   */
  readBusinessTokens(secrets: Pick<SecretNames, 'tokenSecretPrefix'>): this {
    return this.#readPrefix('ReadBusinessTokens', secrets, 'tokenSecretPrefix', 'TOKEN_SECRET_PREFIX');
  }

  /** GetSecretValue on every secret under one prefix, acknowledged exactly; sets the variable naming the prefix. */
  #readPrefix<K extends SecretPrefixKey>(sid: string, secrets: Pick<SecretNames, K>, key: K, variable: string): this {
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ sid, actions: ['secretsmanager:GetSecretValue'], resources: [secretPrefixArn(this, secrets, key)] }),
    );
    this.function.addEnvironment(variable, secrets[key]);
    acknowledgePrefix(this.role, secrets, key, ['secretsmanager:GetSecretValue']);
    return this;
  }

  /**
   * Enqueue jobs (the event resolver: a re-register after a name approval or a request): SendMessage on the job
   * queue, nothing else; sets JOB_QUEUE_URL.
   */
  enqueueJobs(jobs: JobQueue): this {
    this.role.addToPrincipalPolicy(new PolicyStatement({ sid: 'SendJobs', actions: ['sqs:SendMessage'], resources: [jobs.queue.queueArn] }));
    this.function.addEnvironment('JOB_QUEUE_URL', jobs.queue.queueUrl);
    return this;
  }

  /**
   * The webhook receiver's secrets, which live outside the stack: GetSecretValue on the Meta app secret and the verify
   * token, exactly those names; sets APP_SECRET_ID and VERIFY_TOKEN_SECRET_ID.
   */
  readWebhookSecrets(secrets: WebhookSecretNames): this {
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ReadWebhookSecrets',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secretArn(this, secrets.appSecretName), secretArn(this, secrets.verifyTokenSecretName)],
      }),
    );
    this.function.addEnvironment('APP_SECRET_ID', secrets.appSecretName);
    this.function.addEnvironment('VERIFY_TOKEN_SECRET_ID', secrets.verifyTokenSecretName);
    return this;
  }

  /** Claim webhook changes in the change log (see webhook-receiver.ts); sets WEBHOOK_CHANGES_TABLE_NAME. */
  claimChanges(changes: WebhookChangeLog): this {
    changes.grantClaims(this.role);
    this.function.addEnvironment('WEBHOOK_CHANGES_TABLE_NAME', changes.table.tableName);
    return this;
  }

  /** Put events on the registrar's bus: events:PutEvents on that bus only; sets EVENT_BUS_NAME. */
  publishEvents(events: RegistrarEvents): this {
    events.bus.grantPutEventsTo(this.role);
    this.function.addEnvironment('EVENT_BUS_NAME', events.bus.eventBusName);
    return this;
  }

  /**
   * Consume the event buffer with partial batch failures, batches of 10. Lambda's poller runs under this role:
   * ReceiveMessage, DeleteMessage and GetQueueAttributes, nothing else (a failed event returns after the visibility
   * timeout; the resolver never changes it).
   */
  consumeEvents(events: RegistrarEvents, options: { maxConcurrency: number }): this {
    this.function.addEventSourceMapping(`SqsEventSource:${Names.nodeUniqueId(events.bufferQueue.node)}`, {
      eventSourceArn: events.bufferQueue.queueArn,
      batchSize: 10,
      reportBatchItemFailures: true,
      maxConcurrency: options.maxConcurrency,
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'PollEvents',
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        resources: [events.bufferQueue.queueArn],
      }),
    );
    return this;
  }

  /**
   * Send the resolver's own dead letters (an unknown number, a malformed event) to the event path's dead-letter queue:
   * SendMessage there, nothing else; sets EVENTS_DEAD_LETTER_QUEUE_URL.
   */
  deadLetterEventsTo(events: RegistrarEvents): this {
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ sid: 'SendEventDeadLetters', actions: ['sqs:SendMessage'], resources: [events.deadLetterQueue.queueArn] }),
    );
    this.function.addEnvironment('EVENTS_DEAD_LETTER_QUEUE_URL', events.deadLetterQueue.queueUrl);
    return this;
  }

  /**
   * See whether held dead letters may go back (the scheduled redrive): read the number's hold and the app's gates
   * on the ledger, and which version of the token, of a business's own token and of the PIN secrets is current.
   * ListSecretVersionIds returns metadata only, so this role can never read a token or a PIN. Sets LEDGER_TABLE_NAME,
   * TOKEN_SECRET_ID, TOKEN_SECRET_PREFIX and PIN_SECRET_PREFIX.
   */
  checkHolds(ledger: AttemptLedger, secrets: SecretNames): this {
    ledger.grantAccess(this.role, 'holdReads');
    const prefixes = ['tokenSecretPrefix', 'pinSecretPrefix'] as const satisfies readonly SecretPrefixKey[];
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'SeeSecretVersions',
        actions: ['secretsmanager:ListSecretVersionIds'],
        resources: [secretArn(this, secrets.tokenSecretName), ...prefixes.map((key) => secretPrefixArn(this, secrets, key))],
      }),
    );
    this.function.addEnvironment('LEDGER_TABLE_NAME', ledger.table.tableName);
    this.function.addEnvironment('TOKEN_SECRET_ID', secrets.tokenSecretName);
    this.function.addEnvironment('TOKEN_SECRET_PREFIX', secrets.tokenSecretPrefix);
    this.function.addEnvironment('PIN_SECRET_PREFIX', secrets.pinSecretPrefix);
    for (const key of prefixes) acknowledgePrefix(this.role, secrets, key, ['secretsmanager:ListSecretVersionIds']);
    return this;
  }

  /**
   * Move dead letters back onto the job queue, as shared/ops/redrive.ts does: ReceiveMessage (the scan),
   * ChangeMessageVisibility (ChangeMessageVisibilityBatch: releasing what stays) and DeleteMessage on the DLQ,
   * SendMessage on the job queue; sets DEAD_LETTER_QUEUE_URL and JOB_QUEUE_URL. No GetQueueAttributes: only
   * `dlq list` counts the queue.
   */
  redriveFrom(jobs: JobQueue): this {
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'DrainDeadLetters',
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'],
        resources: [jobs.deadLetterQueue.queueArn],
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ sid: 'RequeueJobs', actions: ['sqs:SendMessage'], resources: [jobs.queue.queueArn] }),
    );
    this.function.addEnvironment('DEAD_LETTER_QUEUE_URL', jobs.deadLetterQueue.queueUrl);
    this.function.addEnvironment('JOB_QUEUE_URL', jobs.queue.queueUrl);
    return this;
  }
}
