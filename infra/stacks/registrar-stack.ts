import { Aws, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { STACK_OUTPUT_KEYS } from '../../shared/stack-outputs.ts';
import type { RegistrarConfig } from '../config.ts';
import { RegistrarAlarms } from '../constructs/alarms.ts';
import { AttemptLedger } from '../constructs/attempt-ledger.ts';
import { DeadlineWatch } from '../constructs/deadline-watch.ts';
import { JobQueue } from '../constructs/job-queue.ts';
import { AlarmTopic, RegistrarDashboard } from '../constructs/observability.ts';
import { OperatorPolicies } from '../constructs/operator-policies.ts';
import { PinRotation } from '../constructs/pin-rotation.ts';
import { RegistrarEvents } from '../constructs/registrar-events.ts';
import { ScheduledRedrive } from '../constructs/scheduled-redrive.ts';
import { RegistrarFunction } from '../constructs/registrar-function.ts';
import { WebhookReceiver } from '../constructs/webhook-receiver.ts';
import { ENTRIES, RESOLVER_GRAPH_TIMEOUT_MS, RESOLVER_TIMEOUT_SECONDS, WORKER_MAX_DELIVERIES, WORKER_TIMEOUT_SECONDS } from '../definitions.ts';

/** Stack props plus the validated context (see infra/config.ts). */
export interface RegistrarStackProps extends StackProps {
  readonly config: RegistrarConfig;
}

/** The stack name for a stage; the ops CLI finds the outputs under it. */
export const stackNameFor = (stage: string) => `wa-registrar-${stage}`;

/**
 * wa-registrar: a FIFO job queue feeding the register worker, the attempt ledger, the scheduled redrive, the webhook
 * path (Meta's webhooks → the receiver → the event bus → the event resolver → jobs, and the name-deadline watch), and
 * the alarms and dashboard around them. Secrets are referenced, never created.
 */
export class RegistrarStack extends Stack {
  readonly jobs: JobQueue;
  readonly ledger: AttemptLedger;
  readonly worker: RegistrarFunction;
  readonly redrive: ScheduledRedrive | undefined;
  readonly events: RegistrarEvents;
  readonly webhooks: WebhookReceiver;
  readonly resolver: RegistrarFunction;
  readonly deadlineWatch: DeadlineWatch;
  readonly pinRotation: PinRotation;
  readonly alarmTopic: AlarmTopic;
  readonly alarms: RegistrarAlarms;
  readonly operators: OperatorPolicies;

  constructor(scope: Construct, id: string, props: RegistrarStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.jobs = new JobQueue(this, 'Jobs');
    this.ledger = new AttemptLedger(this, 'AttemptLedger');

    this.worker = new RegistrarFunction(this, 'Worker', {
      entry: ENTRIES.worker,
      description: 'wa-registrar: registers and deregisters WhatsApp numbers from the job queue',
      timeout: Duration.seconds(WORKER_TIMEOUT_SECONDS),
      memorySize: 512,
      environment: {
        GRAPH_API_BASE_URL: config.graphApiBaseUrl,
        GRAPH_API_VERSION: config.graphApiVersion,
        GRAPH_TIMEOUT_MS: '30000',
        ATTEMPT_LIMIT: String(config.attemptLimit),
        // Meta's documented window; not a deployment choice.
        ATTEMPT_WINDOW_HOURS: '72',
        ATTEMPT_BUDGET_SHARED: String(config.attemptBudgetShared),
        // Below the redrive policy's maxReceiveCount, so the worker's own envelope always wins.
        MAX_DELIVERIES: String(WORKER_MAX_DELIVERIES),
        // The worker starts a request only with room to finish it before this timeout.
        WORKER_TIMEOUT_SECONDS: String(WORKER_TIMEOUT_SECONDS),
      },
    })
      .useLedger(this.ledger, 'worker')
      .consumeJobs(this.jobs, { maxConcurrency: config.maxConcurrency })
      .deadLetterTo(this.jobs)
      .readSecrets(config);

    this.redrive = config.scheduledRedrive ? new ScheduledRedrive(this, 'ScheduledRedrive', { jobs: this.jobs, ledger: this.ledger, secrets: config }) : undefined;

    // Issue 10: Meta's webhooks become events on the bus, and the resolver turns them into holds, deadlines and jobs.
    this.events = new RegistrarEvents(this, 'Events');
    this.webhooks = new WebhookReceiver(this, 'Webhooks', { events: this.events, secrets: config, concurrency: config.webhookConcurrency });
    this.resolver = new RegistrarFunction(this, 'EventResolver', {
      entry: ENTRIES.eventResolver,
      description: 'wa-registrar: resolves registration events into ledger records and jobs',
      timeout: Duration.seconds(RESOLVER_TIMEOUT_SECONDS),
      memorySize: 512,
      environment: {
        GRAPH_API_BASE_URL: config.graphApiBaseUrl,
        GRAPH_API_VERSION: config.graphApiVersion,
        GRAPH_TIMEOUT_MS: String(RESOLVER_GRAPH_TIMEOUT_MS),
      },
    })
      .useLedger(this.ledger, 'resolver')
      // Few events at once: each may read a business's number list from Graph, which spends the WABA's budget.
      .consumeEvents(this.events, { maxConcurrency: 5 })
      .deadLetterEventsTo(this.events)
      .enqueueJobs(this.jobs)
      // A business's numbers are listed with its own token when it has one (Solution Partners), else the app's.
      .readToken(config)
      .readBusinessTokens(config);
    this.deadlineWatch = new DeadlineWatch(this, 'DeadlineWatch', { ledger: this.ledger });

    // Issue 11: Secrets Manager's rotation function for the PIN secrets. Deployed always (it does nothing until a PIN
    // secret's rotation names it); pinRotationDays is the schedule `wa-registrar pin rotate` attaches (0: none).
    this.pinRotation = new PinRotation(this, 'PinRotation', {
      ledger: this.ledger,
      secrets: config,
      graphApiBaseUrl: config.graphApiBaseUrl,
      graphApiVersion: config.graphApiVersion,
    });

    this.alarmTopic = new AlarmTopic(this, 'Alarms', { email: config.alarmEmail });
    this.alarms = new RegistrarAlarms(this, 'Alarm', {
      jobs: this.jobs,
      worker: this.worker,
      redrive: this.redrive?.fn,
      events: this.events,
      receiver: this.webhooks.fn,
      resolver: this.resolver,
      deadlineWatch: this.deadlineWatch.fn,
    });
    this.alarmTopic.route(...this.alarms.all);

    new RegistrarDashboard(this, 'Dashboard', {
      jobs: this.jobs,
      worker: this.worker.function,
      alarms: this.alarms,
      events: this.events,
      receiver: this.webhooks.fn.function,
      resolver: this.resolver.function,
    });

    this.operators = new OperatorPolicies(this, 'Operators', { jobs: this.jobs, ledger: this.ledger, secrets: config, events: this.events });

    // Output keys are read by the ops CLI and upstream systems: one definition, shared/stack-outputs.ts.
    const outputs: Record<keyof typeof STACK_OUTPUT_KEYS, [string, string]> = {
      jobQueueUrl: [this.jobs.queue.queueUrl, 'Producers send jobs here (FIFO; group = phone number id)'],
      jobQueueArn: [this.jobs.queue.queueArn, 'The job queue ARN'],
      deadLetterQueueUrl: [this.jobs.deadLetterQueue.queueUrl, 'Jobs that need a person; list and redrive with the ops CLI'],
      ledgerTableName: [this.ledger.table.tableName, 'The attempt ledger table'],
      tokenSecretId: [config.tokenSecretName, 'Secrets Manager name of the Graph token (create it yourself)'],
      pinSecretPrefix: [config.pinSecretPrefix, 'PIN secrets are named <prefix><phoneNumberId> (create them yourself)'],
      tokenSecretPrefix: [config.tokenSecretPrefix, "A business's own Graph token is <prefix><wabaId> (Solution Partners; create them yourself)"],
      producerPolicyArn: [this.jobs.producerPolicy.managedPolicyArn, 'Attach to upstream producers: SendMessage on the job queue only'],
      operatorReadPolicyArn: [this.operators.read.managedPolicyArn, 'Attach to operators: status, dlq list, dlq show (no secret values)'],
      operatorWritePolicyArn: [this.operators.write.managedPolicyArn, 'Attach with the read policy: enqueue, dlq redrive, dlq purge, hold clear'],
      operatorGraphPolicyArn: [this.operators.graph.managedPolicyArn, "Attach to operators who verify numbers: reads the Graph token (and businesses' own tokens) for verify and explain's live read"],
      alarmTopicArn: [this.alarmTopic.topic.topicArn, 'Every alarm notifies this topic; subscribe your paging system'],
      region: [Aws.REGION, 'Region of the deployment'],
      webhookUrl: [this.webhooks.url.url, "The callback URL for Meta's webhooks (App Dashboard > WhatsApp > Configuration)"],
      eventBusName: [this.events.bus.eventBusName, 'The event bus; other systems put ReRegistrationRequested here'],
      eventsDeadLetterQueueUrl: [this.events.deadLetterQueue.queueUrl, 'Events that need a person (unknown number, malformed, failing Graph reads)'],
      appSecretId: [config.appSecretName, 'Secrets Manager name of the Meta app secret, the webhook signature key (create it yourself)'],
      verifyTokenSecretId: [config.verifyTokenSecretName, "Secrets Manager name of the webhook verify token (create it yourself; give Meta the same value)"],
      pinRotationFunctionArn: [this.pinRotation.fn.function.functionArn, 'The PIN rotation function: wa-registrar pin rotate (or aws secretsmanager rotate-secret --rotation-lambda-arn) attaches it to a PIN secret'],
      pinRotationDays: [String(config.pinRotationDays), 'Days between automatic PIN rotations that wa-registrar pin rotate attaches to a PIN secret (0: none)'],
    };
    for (const [name, [value, description]] of Object.entries(outputs) as [keyof typeof STACK_OUTPUT_KEYS, [string, string]][]) {
      new CfnOutput(this, STACK_OUTPUT_KEYS[name], { value, description });
    }
  }
}
