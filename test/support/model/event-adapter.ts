/**
 * The one place where the model meets the events path's construction APIs: the real webhook receiver (on the
 * in-memory change log and webhook secrets, publishing to the model's bus) and the real event resolver (on the model's
 * ledger, the Graph simulator, another container's view of the secrets and the model's job queue), with the resolver's
 * SQS buffer queue modelled as a standard queue the program may reorder and duplicate. A change in those APIs is a
 * change in this file only.
 */
import { createResolver, type EventResolver } from '../../../functions/event-resolver/resolver.ts';
import { loadEventResolverConfig } from '../../../functions/event-resolver/config.ts';
import { createReceiver, type Receiver, type ReceiverRequest } from '../../../functions/webhook-receiver/receiver.ts';
import { loadReceiverConfig } from '../../../functions/webhook-receiver/config.ts';
import { createAwsClients, type AwsClients } from '../../../shared/aws-clients.ts';
import type { Clock } from '../../../shared/clock.ts';
import { EVENT_SOURCE } from '../../../shared/events/registrar-events.v1.ts';
import type { OutgoingEvent, PublishResult } from '../../../shared/events/publisher.ts';
import type { EventOutcome } from '../../../shared/events/run-event.ts';
import { HttpGraphClient } from '../../../shared/graph/http-graph-client.ts';
import { toJobMessage } from '../../../shared/jobs/enqueue.ts';
import type { AttemptLedger } from '../../../shared/ledger/port.ts';
import { createLogger, createMetrics } from '../../../shared/observability.ts';
import { signBody } from '../../../shared/webhooks/signature.ts';
import { EVENT_BUFFER_QUEUE } from '../../../infra/definitions.ts';
import { toRecord } from '../../../tools/sqs-poller.ts';
import { InMemoryChangeLog, InMemoryWebhookSecrets } from '../in-memory-webhook-ports.ts';
import type { Records, ResolvedEvent, WebhookPost } from './records.ts';
import type { SecretCatalog } from './secret-scan.ts';
import type { ModelSecretStore } from './secret-store.ts';
import type { JobMessage } from './world.ts';

/** The Meta app secret that signs the model's webhooks (in the secret catalog: it must never appear in any output). */
const APP_SECRET = 'model-app-secret-3f9c1d';
const VERIFY_TOKEN = 'model-verify-token-77a1';
const BUFFER_URL = 'https://sqs.model.local/000000000000/events';

/** What the events path needs from the world. */
export interface EventWorld {
  clock: Clock;
  records: Records;
  catalog: SecretCatalog;
  ledger: AttemptLedger;
  secrets: ModelSecretStore;
  sendJob(message: JobMessage, how: string): void;
  /** Every ledger item, as the in-memory ledger dumps them. */
  ledgerDump(): unknown;
  /** Job messages sent so far (by anyone). */
  sent: readonly unknown[];
}

interface BufferedEvent {
  messageId: string;
  body: string;
  detailType: string;
  changeId: string;
  receiveCount: number;
  visibleAt: number;
}

/** Every adapter the receiver and the resolver would build from these is replaced; built once, never called. */
let unusedClients: AwsClients | undefined;

/** A webhook POST as Meta sends it: `signature` is the header (absent when undefined). */
export function webhookRequest(rawBody: Buffer, signature: string | undefined): ReceiverRequest {
  return { method: 'POST', headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'x-hub-signature-256': signature }) }, rawBody, query: {} };
}

/** The header Meta would send for these bytes, or (`secret`) one signed with another key. */
export const metaSignature = (rawBody: Buffer, secret = APP_SECRET) => signBody(rawBody, secret);

/**
 * The events path of one model run: Meta's POSTs go to the real receiver, its events to a buffer queue the program
 * drains (in order, reversed, with duplicates), and each buffered event to the real resolver, one per invocation.
 */
export class EventPath {
  readonly #world: EventWorld;
  readonly #changeLog = new InMemoryChangeLog();
  readonly #receiver: Receiver;
  readonly #resolver: EventResolver;
  readonly #buffer: BufferedEvent[] = [];
  #failPublishes = 0;
  #events = 0;
  /** The delivery the resolver is on: the jobs it sends are recorded on it. */
  #current: ResolvedEvent | undefined;
  #outcome: EventOutcome | undefined;
  #receiverOutcome: unknown;

  constructor(world: EventWorld, graphBaseUrl: string) {
    this.#world = world;
    world.catalog.addToken(APP_SECRET, 'the Meta app secret');
    world.catalog.addToken(VERIFY_TOKEN, 'the webhook verify token');
    const receiverConfig = loadReceiverConfig({ APP_SECRET_ID: 'model/app-secret', VERIFY_TOKEN_SECRET_ID: 'model/verify-token', EVENT_BUS_NAME: 'model-bus', WEBHOOK_CHANGES_TABLE_NAME: 'model-changes' });
    this.#receiver = createReceiver(receiverConfig, {
      clock: world.clock,
      secrets: new InMemoryWebhookSecrets({ appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN }),
      changeLog: this.#changeLog,
      publisher: { publish: (events) => this.#publish(events) },
      logger: debugLogger(),
      metrics: createMetrics(),
      // A concurrent duplicate cannot happen in the model (deliveries run one after the other): no real waiting.
      sleep: async () => undefined,
      onOutcome: (outcome) => {
        this.#receiverOutcome = outcome;
      },
    });
    const resolverConfig = loadEventResolverConfig({
      GRAPH_API_BASE_URL: graphBaseUrl,
      GRAPH_API_VERSION: 'v25.0',
      LEDGER_TABLE_NAME: 'model-ledger',
      JOB_QUEUE_URL: 'https://sqs.model.local/000000000000/jobs.fifo',
      TOKEN_SECRET_ID: 'model/token',
      EVENTS_DEAD_LETTER_QUEUE_URL: 'https://sqs.model.local/000000000000/event-dead-letters',
    });
    this.#resolver = createResolver(resolverConfig, {
      clock: world.clock,
      clients: (unusedClients ??= createAwsClients({ region: 'eu-west-1' })),
      ledger: world.ledger,
      graph: new HttpGraphClient({ baseUrl: graphBaseUrl, version: 'v25.0', timeoutMs: 1_000 }),
      secrets: world.secrets.otherContainer(),
      jobs: {
        send: async (job) => {
          world.catalog.scan('a job the resolver sent', job);
          this.#current?.jobs.push({ idempotencyKey: job.idempotencyKey, action: job.action, ...(job.reason ? { reason: job.reason } : {}), phoneNumberId: job.phoneNumberId });
          world.sendJob(toJobMessage(job), `resolver sends`);
        },
      },
      deadLetters: {
        send: async (envelope) => {
          world.catalog.scan('an event dead letter', envelope);
          world.records.note(`      event dead letter: ${envelope.reason}: ${envelope.detail}`);
        },
      },
      logger: debugLogger(),
      metrics: createMetrics(),
      onOutcome: (outcome) => {
        this.#outcome = outcome;
      },
    });
  }

  /** The next publish call fails (every event in it), as a PutEvents error would. */
  failNextPublish(): void {
    this.#failPublishes = 1;
  }

  /** One POST to the real receiver; recorded with the receiver's outcome. */
  async post(request: ReceiverRequest, record: Pick<WebhookPost, 'changeIds' | 'signature'>): Promise<WebhookPost> {
    const refused = record.signature !== 'valid';
    const before = refused ? this.fingerprint() : undefined;
    this.#receiverOutcome = undefined;
    const response = await this.#receiver.handle(request);
    const outcome = (this.#receiverOutcome ?? {}) as { published?: Array<{ changeId: string }>; duplicates?: string[]; unmarked?: string[]; failed?: Array<{ changeId: string }>; ignored?: string[] };
    const post: WebhookPost = {
      seq: this.#world.records.nextSeq(),
      ...record,
      status: response.status,
      published: (outcome.published ?? []).map((event) => event.changeId),
      duplicates: outcome.duplicates ?? [],
      unmarked: outcome.unmarked ?? [],
      failed: (outcome.failed ?? []).map((failure) => failure.changeId),
      ignored: outcome.ignored ?? [],
      ...(refused ? { before, after: this.fingerprint() } : {}),
    };
    this.#world.records.posts.push(post);
    return post;
  }

  /** Everything a webhook could change, as text: the change log, the bus, the resolver's queue, job sends and the ledger. */
  fingerprint(): string {
    return JSON.stringify({
      changeLog: [...this.#changeLog.markers.entries()].map(([id, marker]) => [id, marker.state, marker.claimId]),
      published: this.#world.records.published.length,
      buffer: this.#buffer.map((event) => event.messageId),
      jobsSent: this.#world.sent.length,
      ledger: this.#world.ledgerDump(),
    });
  }

  /** When the next waiting event becomes visible. */
  nextVisibleAt(): number | undefined {
    return this.#buffer.length === 0 ? undefined : Math.min(...this.#buffer.map((event) => event.visibleAt));
  }

  /**
   * The resolver's event source: every visible event, one per invocation, in order or reversed; with `duplicate`, the
   * first of them is delivered once more at the end (SQS standard queues deliver at least once). An event the resolver
   * wants back stays for the visibility timeout; after `maxReceiveCount` receives SQS moves it to the dead-letter queue.
   */
  async resolve(options: { order: 'fifo' | 'reverse'; duplicate: boolean }): Promise<void> {
    const now = this.#world.clock.now();
    const visible = this.#buffer.filter((event) => event.visibleAt <= now);
    if (options.order === 'reverse') visible.reverse();
    const deliveries = options.duplicate && visible.length > 0 ? [...visible, visible[0]!] : visible;
    for (const event of deliveries) {
      if (event.receiveCount >= EVENT_BUFFER_QUEUE.maxReceiveCount) {
        this.#remove(event);
        this.#world.records.note(`    event ${event.messageId} (${event.detailType}) moved to the events dead-letter queue by SQS after ${event.receiveCount} receives`);
        continue;
      }
      event.receiveCount += 1;
      const failed = await this.#deliver(event);
      if (failed) event.visibleAt = this.#world.clock.now() + EVENT_BUFFER_QUEUE.visibilityTimeoutSeconds * 1000;
      else this.#remove(event);
    }
  }

  async #deliver(event: BufferedEvent): Promise<boolean> {
    const { records, clock } = this.#world;
    const record: ResolvedEvent = { startSeq: records.nextSeq(), seq: 0, at: clock.now(), messageId: event.messageId, changeId: event.changeId, detailType: event.detailType, phoneNumberIds: [], jobs: [] };
    this.#current = record;
    this.#outcome = undefined;
    records.note(`  resolver: ${event.messageId} ${event.detailType} ${event.changeId.slice(0, 8)} (receive ${event.receiveCount})`);
    const sqsRecord = toRecord(
      { MessageId: event.messageId, ReceiptHandle: `rh-${event.messageId}-${event.receiveCount}`, Body: event.body, Attributes: { ApproximateReceiveCount: String(event.receiveCount), SentTimestamp: String(clock.now()), ApproximateFirstReceiveTimestamp: String(clock.now()) } },
      BUFFER_URL,
    );
    const response = await this.#resolver.handleBatch({ Records: [sqsRecord] });
    this.#current = undefined;
    const outcome = this.#outcome as EventOutcome | undefined;
    record.seq = records.nextSeq();
    if (outcome) {
      record.status = outcome.status;
      record.phoneNumberIds = outcome.phoneNumberIds;
      record.detail = outcome.detail;
    }
    records.resolved.push(record);
    records.note(`    resolved: ${outcome ? `${outcome.status}: ${outcome.detail}` : 'the resolver threw'}`);
    return response.batchItemFailures.length > 0;
  }

  async #publish(events: OutgoingEvent[]): Promise<PublishResult[]> {
    const { records, clock, catalog } = this.#world;
    if (this.#failPublishes > 0) {
      this.#failPublishes -= 1;
      records.note(`    publish fails (${events.length} event(s))`);
      return events.map(() => ({ ok: false, error: 'InternalException' }));
    }
    return events.map((event) => {
      catalog.scan('a published event', event);
      this.#events += 1;
      const messageId = `ev${this.#events}`;
      const body = JSON.stringify({
        version: '0',
        id: `model-event-${this.#events}`,
        'detail-type': event.detailType,
        source: EVENT_SOURCE,
        account: '000000000000',
        time: new Date(clock.now()).toISOString(),
        region: 'eu-west-1',
        resources: [],
        detail: event.detail,
      });
      this.#buffer.push({ messageId, body, detailType: event.detailType, changeId: event.changeId, receiveCount: 0, visibleAt: clock.now() });
      records.published.push({ seq: records.nextSeq(), changeId: event.changeId, detailType: event.detailType });
      records.note(`    published ${event.detailType} ${event.changeId.slice(0, 8)} as ${messageId}`);
      return { ok: true };
    });
  }

  #remove(event: BufferedEvent): void {
    const index = this.#buffer.indexOf(event);
    if (index >= 0) this.#buffer.splice(index, 1);
  }
}

/** The real logger at DEBUG: everything it writes is captured and scanned for secrets. */
function debugLogger() {
  const logger = createLogger();
  logger.setLogLevel('DEBUG');
  return logger;
}
