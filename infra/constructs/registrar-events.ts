import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { type Archive, EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_DETAIL_TYPES, EVENT_SOURCE, WEBHOOK_DETAIL_TYPES } from '../../shared/events/registrar-events.v1.ts';
import { EVENT_BUFFER_QUEUE, EVENTS_DEAD_LETTER_QUEUE } from '../definitions.ts';

/**
 * The detail types other systems may put from any source: every detail type of the contract that the webhook receiver
 * does not publish (today ReRegistrationRequested). Derived from the one definition, so a new one is routed.
 */
const OPEN_DETAIL_TYPES = EVENT_DETAIL_TYPES.filter((type) => !(WEBHOOK_DETAIL_TYPES as readonly string[]).includes(type));

/** Days the archive keeps every event: longer than Meta's 14-day name-approval deadline, so its events can be replayed. */
const EVENT_ARCHIVE_DAYS = 30;

/**
 * wa-registrar's events (issue 10): a custom EventBridge bus named like the stack, an archive of it, and two rules
 * feeding a standard SQS buffer queue that the event resolver consumes:
 * - the webhook receiver's events: source `wa-registrar`, detail type one of WEBHOOK_DETAIL_TYPES;
 * - ReRegistrationRequested, from any source (other systems ask for a re-registration).
 * The buffer's dead-letter queue takes what no retry resolved: events SQS moved after EVENT_BUFFER_QUEUE.maxReceiveCount
 * receives, events EventBridge could not deliver to the buffer, and the resolver's own envelopes (an unknown number, a
 * malformed event; shared/events/event-dead-letter.v1.ts).
 */
export class RegistrarEvents extends Construct {
  readonly bus: EventBus;
  readonly archive: Archive;
  readonly bufferQueue: Queue;
  readonly deadLetterQueue: Queue;
  /** The rules that feed the buffer queue: the webhook events, and the requests from any source. */
  readonly rules: { webhookEvents: Rule; openRequests: Rule };

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const stack = Stack.of(this);

    // Named after the stack (wa-registrar-<stage>): publishers outside the stack find it by name.
    this.bus = new EventBus(this, 'Bus', { eventBusName: stack.stackName, description: `wa-registrar (${stack.stackName}): registration events` });
    // Replay after an incident (a resolver bug, a purged queue): `aws events start-replay` sends archived events through
    // the rules again, and the resolver is idempotent (a change ends in one job key; a repeat writes nothing). Every event
    // put on this bus is from this account: the bus has no resource policy.
    this.archive = this.bus.archive('Archive', {
      description: `wa-registrar (${stack.stackName}): every event, for replay`,
      eventPattern: { account: [stack.account] },
      retention: Duration.days(EVENT_ARCHIVE_DAYS),
    });

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.seconds(EVENTS_DEAD_LETTER_QUEUE.retentionSeconds),
      visibilityTimeout: Duration.seconds(EVENTS_DEAD_LETTER_QUEUE.visibilityTimeoutSeconds),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Events a person has not handled yet: deleting or replacing the stack must not drop them.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the dead-letter queue of the event buffer (and of the rules feeding it). Its messages wait 14 days for an operator, ' +
        'who puts the event on the bus again or enqueues the job by hand; a further DLQ would hide them.',
    });

    this.bufferQueue = new Queue(this, 'BufferQueue', {
      retentionPeriod: Duration.seconds(EVENT_BUFFER_QUEUE.retentionSeconds),
      visibilityTimeout: Duration.seconds(EVENT_BUFFER_QUEUE.visibilityTimeoutSeconds),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: EVENT_BUFFER_QUEUE.maxReceiveCount },
    });

    // The target adds a queue policy letting events.amazonaws.com send for this rule only (aws:SourceArn), on the buffer
    // and on the dead-letter queue, where EventBridge puts an event it could not deliver after its retries.
    const toBuffer = () => new SqsQueue(this.bufferQueue, { deadLetterQueue: this.deadLetterQueue });
    this.rules = {
      webhookEvents: new Rule(this, 'WebhookEvents', {
        eventBus: this.bus,
        description: 'wa-registrar: events of Meta webhooks, from the webhook receiver, to the event resolver',
        eventPattern: { source: [EVENT_SOURCE], detailType: [...WEBHOOK_DETAIL_TYPES] },
        targets: [toBuffer()],
      }),
      openRequests: new Rule(this, 'OpenRequests', {
        eventBus: this.bus,
        description: `wa-registrar: ${OPEN_DETAIL_TYPES.join(', ')} from any source, to the event resolver`,
        eventPattern: { detailType: [...OPEN_DETAIL_TYPES] },
        targets: [toBuffer()],
      }),
    };
  }
}
