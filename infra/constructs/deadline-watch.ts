import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { DEADLINE_WARN_DAYS, DEADLINE_WATCH_TIMEOUT_SECONDS, ENTRIES } from '../definitions.ts';
import type { AttemptLedger } from './attempt-ledger.ts';
import { RegistrarFunction } from './registrar-function.ts';

/** How often the deadlines are checked: the at-risk alarm reads one data point per run. */
export const DEADLINE_WATCH_RATE = Duration.hours(1);

/**
 * The name-approval deadline watch (issue 10): after Meta approves a number's new display name, the number must be
 * registered again within 14 days. An hourly EventBridge rule runs a function that reads the listed deadlines on the
 * ledger, unlists the met ones and emits NameDeadlineAtRisk (the count of unmet ones less than DEADLINE_WARN_DAYS away
 * or passed) on every run. It cannot call Meta, send a job or read a secret.
 */
export class DeadlineWatch extends Construct {
  readonly fn: RegistrarFunction;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: { ledger: AttemptLedger }) {
    super(scope, id);
    this.fn = new RegistrarFunction(this, 'Watch', {
      entry: ENTRIES.deadlineWatch,
      description: 'wa-registrar: watches name-approval re-register deadlines',
      timeout: Duration.seconds(DEADLINE_WATCH_TIMEOUT_SECONDS),
      memorySize: 256,
      environment: { DEADLINE_WARN_DAYS: String(DEADLINE_WARN_DAYS) },
    }).useLedger(props.ledger, 'deadlineWatch');
    // A failed run is retried twice; past that, the next hourly run checks again.
    this.rule = new Rule(this, 'Schedule', {
      description: 'wa-registrar: hourly name-approval deadline check',
      schedule: Schedule.rate(DEADLINE_WATCH_RATE),
      targets: [new LambdaFunction(this.fn.function, { retryAttempts: 2, maxEventAge: Duration.minutes(30) })],
    });
  }
}
