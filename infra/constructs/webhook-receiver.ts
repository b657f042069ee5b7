import { Duration } from 'aws-cdk-lib';
import { type FunctionUrl, FunctionUrlAuthType, InvokeMode } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENTRIES, RECEIVER_CLAIM_TIMEOUT_SECONDS, RECEIVER_TIMEOUT_SECONDS } from '../definitions.ts';
import { RegistrarFunction } from './registrar-function.ts';
import type { RegistrarEvents } from './registrar-events.ts';
import type { WebhookSecretNames } from './secret-arns.ts';
import { WebhookChangeLog } from './webhook-change-log.ts';

/** What {@link WebhookReceiver} needs. */
export interface WebhookReceiverProps {
  readonly events: RegistrarEvents;
  readonly secrets: WebhookSecretNames;
  /** Reserved concurrency; 0 reserves none. */
  readonly concurrency: number;
}

/**
 * Meta's webhooks (issue 10): a public Lambda Function URL in front of the receiver, which checks each request's
 * `X-Hub-Signature-256` against the Meta app secret before it reads anything, claims each change in its change log,
 * and puts one event per change on the bus.
 *
 * The URL's auth type is NONE on purpose. Meta's servers call it and cannot sign AWS requests (AWS_IAM), and Meta sends
 * no credential but the signature: the HMAC of the body under the app secret, which only Meta and this stack's receiver
 * know. The receiver answers 401 to a request without a valid signature, before parsing it or touching a table or the
 * bus, and 413 to a body over MAX_WEBHOOK_BYTES before hashing it; the subscription handshake (GET) needs the verify
 * token. The reserved concurrency caps what a flood of unsigned requests can take from the account's Lambda pool.
 */
export class WebhookReceiver extends Construct {
  readonly changes: WebhookChangeLog;
  readonly fn: RegistrarFunction;
  /** The callback URL to give Meta (App Dashboard > WhatsApp > Configuration). */
  readonly url: FunctionUrl;

  constructor(scope: Construct, id: string, props: WebhookReceiverProps) {
    super(scope, id);
    this.changes = new WebhookChangeLog(this, 'Changes');
    this.fn = new RegistrarFunction(this, 'Receiver', {
      entry: ENTRIES.webhookReceiver,
      description: "wa-registrar: receives Meta's webhooks, verifies them and puts their events on the bus",
      timeout: Duration.seconds(RECEIVER_TIMEOUT_SECONDS),
      memorySize: 512,
      reservedConcurrentExecutions: props.concurrency,
      environment: {
        // Above the function's timeout (infra/definitions.ts checks it), so only a dead delivery's claim is taken over.
        CLAIM_TIMEOUT_SECONDS: String(RECEIVER_CLAIM_TIMEOUT_SECONDS),
      },
    })
      .readWebhookSecrets(props.secrets)
      .claimChanges(this.changes)
      .publishEvents(props.events);
    // No CORS: Meta calls it server to server, never a browser. BUFFERED: the answer is small and whole.
    this.url = this.fn.function.addFunctionUrl({ authType: FunctionUrlAuthType.NONE, invokeMode: InvokeMode.BUFFERED });
  }
}
