import { Aws, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { alarmWhenAbove } from '../constructs/alarm.ts';
import type { Construct } from 'constructs';
import type { RegistrarConfig } from '../config.ts';
import { AttemptLedger } from '../constructs/attempt-ledger.ts';
import { JobQueue } from '../constructs/job-queue.ts';
import { AlarmTopic, RegistrarDashboard } from '../constructs/observability.ts';
import { ScheduledRedrive } from '../constructs/scheduled-redrive.ts';
import { RegistrarFunction } from '../constructs/worker-function.ts';
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
  readonly alarms: AlarmTopic;

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

    this.alarms = new AlarmTopic(this, 'Alarms', { email: config.alarmEmail });
    const workerFn = this.worker.function;
    const workerErrors = alarmWhenAbove(this, 'WorkerErrorsAlarm', {
      description: 'wa-registrar: the worker failed whole invocations (not single jobs). See its log group.',
      metric: workerFn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
    });
    const workerThrottles = alarmWhenAbove(this, 'WorkerThrottlesAlarm', {
      description: 'wa-registrar: the worker was throttled; the account or region is out of Lambda concurrency.',
      metric: workerFn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
    });
    this.alarms.route(
      this.jobs.deadLetterAlarm,
      this.jobs.oldestJobAlarm,
      workerErrors,
      workerThrottles,
      ...(this.redrive ? [this.redrive.errorsAlarm] : []),
    );

    new RegistrarDashboard(this, 'Dashboard', { jobs: this.jobs, worker: workerFn });

    // Output keys are read by the ops CLI and upstream systems: keep the names.
    const outputs: Record<string, [string, string]> = {
      JobQueueUrl: [this.jobs.queue.queueUrl, 'Producers send jobs here (FIFO; group = phone number id)'],
      JobQueueArn: [this.jobs.queue.queueArn, 'The job queue ARN'],
      DeadLetterQueueUrl: [this.jobs.deadLetterQueue.queueUrl, 'Jobs that need a person; list and redrive with the ops CLI'],
      LedgerTableName: [this.ledger.table.tableName, 'The attempt ledger table'],
      TokenSecretId: [config.tokenSecretName, 'Secrets Manager name of the Graph token (create it yourself)'],
      PinSecretPrefix: [config.pinSecretPrefix, 'PIN secrets are named <prefix><phoneNumberId> (create them yourself)'],
      ProducerPolicyArn: [this.jobs.producerPolicy.managedPolicyArn, 'Attach to upstream producers: SendMessage on the job queue only'],
      AlarmTopicArn: [this.alarms.topic.topicArn, 'Every alarm notifies this topic; subscribe your paging system'],
      Region: [Aws.REGION, 'Region of the deployment'],
    };
    for (const [key, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, key, { value, description });
    }
  }
}
