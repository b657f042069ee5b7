import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { ENTRIES, REDRIVE_TIMEOUT_SECONDS } from '../definitions.ts';
import type { AttemptLedger } from './attempt-ledger.ts';
import type { JobQueue } from './job-queue.ts';
import type { SecretNames } from './secret-arns.ts';
import { RegistrarFunction } from './registrar-function.ts';

/** Options of {@link ScheduledRedrive}. */
export interface ScheduledRedriveProps {
  readonly jobs: JobQueue;
  /** Held dead letters go back once the ledger no longer holds them... */
  readonly ledger: AttemptLedger;
  /** ...or once the refused PIN or token has a new version. */
  readonly secrets: SecretNames;
  /** How often the DLQ is checked for jobs that are due again. */
  readonly rate?: Duration;
}

/**
 * The scheduled redrive (issue 5): an EventBridge rule runs a function that moves due dead letters
 * back onto the job queue: rate-limited ones once their window reopens, held ones once their hold is lifted.
 * It reads holds on the ledger and secret versions (never values); it cannot write the ledger or call Meta.
 */
export class ScheduledRedrive extends Construct {
  readonly fn: RegistrarFunction;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: ScheduledRedriveProps) {
    super(scope, id);
    this.fn = new RegistrarFunction(this, 'Redrive', {
      entry: ENTRIES.scheduledRedrive,
      description: 'wa-registrar: moves due dead letters back onto the job queue',
      timeout: Duration.seconds(REDRIVE_TIMEOUT_SECONDS),
      memorySize: 256,
    })
      .redriveFrom(props.jobs)
      .checkHolds(props.ledger, props.secrets);
    // A failed run is retried twice; whatever is left is picked up by the next scheduled run.
    this.rule = new Rule(this, 'Schedule', {
      description: 'wa-registrar: scheduled DLQ redrive',
      schedule: Schedule.rate(props.rate ?? Duration.minutes(15)),
      targets: [new LambdaFunction(this.fn.function, { retryAttempts: 2, maxEventAge: Duration.minutes(10) })],
    });
  }
}
