import { Aws, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { STACK_OUTPUT_KEYS } from '../../shared/stack-outputs.ts';
import type { RegistrarConfig } from '../config.ts';
import { RegistrarAlarms } from '../constructs/alarms.ts';
import { AttemptLedger } from '../constructs/attempt-ledger.ts';
import { JobQueue } from '../constructs/job-queue.ts';
import { AlarmTopic, RegistrarDashboard } from '../constructs/observability.ts';
import { OperatorPolicies } from '../constructs/operator-policies.ts';
import { ScheduledRedrive } from '../constructs/scheduled-redrive.ts';
import { RegistrarFunction } from '../constructs/registrar-function.ts';
import { ENTRIES, WORKER_MAX_DELIVERIES, WORKER_TIMEOUT_SECONDS } from '../definitions.ts';

/** Stack props plus the validated context (see infra/config.ts). */
export interface RegistrarStackProps extends StackProps {
  readonly config: RegistrarConfig;
}

/** The stack name for a stage; the ops CLI finds the outputs under it. */
export const stackNameFor = (stage: string) => `wa-registrar-${stage}`;

/**
 * wa-registrar: a FIFO job queue feeding the register worker, the attempt ledger, the scheduled
 * redrive, and the alarms and dashboard around them. Secrets are referenced, never created.
 */
export class RegistrarStack extends Stack {
  readonly jobs: JobQueue;
  readonly ledger: AttemptLedger;
  readonly worker: RegistrarFunction;
  readonly redrive: ScheduledRedrive | undefined;
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
      .useLedger(this.ledger)
      .consumeJobs(this.jobs, { maxConcurrency: config.maxConcurrency })
      .deadLetterTo(this.jobs)
      .readSecrets(config);

    this.redrive = config.scheduledRedrive ? new ScheduledRedrive(this, 'ScheduledRedrive', { jobs: this.jobs, ledger: this.ledger, secrets: config }) : undefined;

    this.alarmTopic = new AlarmTopic(this, 'Alarms', { email: config.alarmEmail });
    this.alarms = new RegistrarAlarms(this, 'Alarm', { jobs: this.jobs, worker: this.worker, redrive: this.redrive?.fn });
    this.alarmTopic.route(...this.alarms.all);

    new RegistrarDashboard(this, 'Dashboard', { jobs: this.jobs, worker: this.worker.function, alarms: this.alarms });

    this.operators = new OperatorPolicies(this, 'Operators', { jobs: this.jobs, ledger: this.ledger, secrets: config });

    // Output keys are read by the ops CLI and upstream systems: one definition, shared/stack-outputs.ts.
    const outputs: Record<keyof typeof STACK_OUTPUT_KEYS, [string, string]> = {
      jobQueueUrl: [this.jobs.queue.queueUrl, 'Producers send jobs here (FIFO; group = phone number id)'],
      jobQueueArn: [this.jobs.queue.queueArn, 'The job queue ARN'],
      deadLetterQueueUrl: [this.jobs.deadLetterQueue.queueUrl, 'Jobs that need a person; list and redrive with the ops CLI'],
      ledgerTableName: [this.ledger.table.tableName, 'The attempt ledger table'],
      tokenSecretId: [config.tokenSecretName, 'Secrets Manager name of the Graph token (create it yourself)'],
      pinSecretPrefix: [config.pinSecretPrefix, 'PIN secrets are named <prefix><phoneNumberId> (create them yourself)'],
      producerPolicyArn: [this.jobs.producerPolicy.managedPolicyArn, 'Attach to upstream producers: SendMessage on the job queue only'],
      operatorReadPolicyArn: [this.operators.read.managedPolicyArn, 'Attach to operators: status, dlq list, dlq show (no secret values)'],
      operatorWritePolicyArn: [this.operators.write.managedPolicyArn, 'Attach with the read policy: enqueue, dlq redrive, dlq purge, hold clear'],
      alarmTopicArn: [this.alarmTopic.topic.topicArn, 'Every alarm notifies this topic; subscribe your paging system'],
      region: [Aws.REGION, 'Region of the deployment'],
    };
    for (const [name, [value, description]] of Object.entries(outputs) as [keyof typeof STACK_OUTPUT_KEYS, [string, string]][]) {
      new CfnOutput(this, STACK_OUTPUT_KEYS[name], { value, description });
    }
  }
}
