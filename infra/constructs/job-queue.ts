import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { ManagedPolicy, PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEAD_LETTER_QUEUE, JOB_QUEUE } from '../definitions.ts';

/**
 * The FIFO job queue, its FIFO dead-letter queue and the producers' send-only policy (their alarms are in
 * `RegistrarAlarms`, with the others).
 * Message group = phone number id (one number's jobs run in order); the producer sets the deduplication id.
 */
export class JobQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  /** Receives before SQS moves a job to the dead-letter queue (the redrive policy): the worker must dead-letter first. */
  readonly maxReceiveCount: number = JOB_QUEUE.maxReceiveCount;
  /** Attach to upstream producers: they may only send jobs onto the job queue. */
  readonly producerPolicy: ManagedPolicy;
  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      fifo: true,
      contentBasedDeduplication: DEAD_LETTER_QUEUE.contentBasedDeduplication,
      retentionPeriod: Duration.seconds(DEAD_LETTER_QUEUE.retentionSeconds),
      visibilityTimeout: Duration.seconds(DEAD_LETTER_QUEUE.visibilityTimeoutSeconds),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Dead letters are jobs a person has not handled yet: deleting or replacing the stack must not drop them.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // cdk-nag's SQS3 asks every queue for a DLQ of its own. A dead-letter queue of a dead-letter
    // queue would only hide jobs further away from the people who must act on them.
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the dead-letter queue of the job queue. Its messages wait 14 days for an operator and are redriven by the ops CLI or the scheduled redrive; a further DLQ would hide them.',
    });

    this.queue = new Queue(this, 'Queue', {
      fifo: true,
      contentBasedDeduplication: JOB_QUEUE.contentBasedDeduplication,
      retentionPeriod: Duration.seconds(JOB_QUEUE.retentionSeconds),
      visibilityTimeout: Duration.seconds(JOB_QUEUE.visibilityTimeoutSeconds),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
    });

    this.producerPolicy = new ManagedPolicy(this, 'ProducerPolicy', {
      description: 'Lets an upstream system enqueue wa-registrar jobs, and nothing else.',
      statements: [
        new PolicyStatement({
          sid: 'SendJobs',
          actions: ['sqs:SendMessage', 'sqs:GetQueueUrl', 'sqs:GetQueueAttributes'],
          resources: [this.queue.queueArn],
        }),
      ],
    });
  }

  /** Lets a function dead-letter jobs itself: SendMessage on the DLQ, nothing else (it has the URL). */
  grantDeadLetterSend(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ sid: 'SendDeadLetters', actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }),
    );
  }
}
