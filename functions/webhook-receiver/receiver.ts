import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { EventBridgePublisher, type EventPublisher } from '../../shared/events/publisher.ts';
import { createLogger, createMetrics } from '../../shared/observability.ts';
import type { ChangeLog } from '../../shared/webhooks/change-log.ts';
import { DynamoDbChangeLog } from '../../shared/webhooks/dynamodb-change-log.ts';
import { readWebhook, type ChangeReading } from '../../shared/webhooks/meta-webhook.ts';
import type { WebhookIgnoreReason, WebhookOutcome, WebhookRejectReason } from '../../shared/webhooks/outcome.ts';
import { publishChanges, type ChangesReport, type PublishChangesDeps } from '../../shared/webhooks/publish-changes.ts';
import { secretsEqual, verifySignature } from '../../shared/webhooks/signature.ts';
import { SecretsManagerWebhookSecrets, type WebhookSecret, type WebhookSecrets } from '../../shared/webhooks/webhook-secrets.ts';
import type { ReceiverConfig } from './config.ts';
import { logWebhookOutcome, recordWebhookMetrics } from './observability.ts';

/** An HTTP request as any transport delivers it (Lambda Function URL, node:http): the body as its raw bytes. */
export interface ReceiverRequest {
  method: string;
  headers: Record<string, string | undefined>;
  rawBody: Buffer;
  query: Record<string, string | undefined>;
}

export interface ReceiverResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface Receiver {
  logger: Logger;
  /** Bodies above this are refused with 413; a transport may stop reading there. */
  maxBodyBytes: number;
  handle(request: ReceiverRequest): Promise<ReceiverResponse>;
}

/** Parts tests, the benchmark and the local run may replace. */
export interface ReceiverOverrides {
  clock?: Clock;
  clients?: ReceiverClients;
  secrets?: WebhookSecrets;
  changeLog?: ChangeLog;
  publisher?: EventPublisher;
  logger?: Logger;
  metrics?: Metrics;
  sleep?: (ms: number) => Promise<void>;
  /** Every request's outcome, as a value: tests and the local run read outcomes here, never from log lines. */
  onOutcome?: (outcome: WebhookOutcome) => void;
}

/** A concurrent duplicate is looked at again this often while IN_PROGRESS_WAIT_MS lasts. */
const POLL_INTERVAL_MS = 100;
/** Meta's challenge is a short number; anything longer is not echoed. */
const MAX_CHALLENGE_LENGTH = 256;
const DAY_MS = 24 * 3_600_000;

/** The SDK clients the receiver's adapters use. */
export interface ReceiverClients {
  dynamodb: DynamoDBClient;
  eventBridge: EventBridgeClient;
  secretsManager: SecretsManagerClient;
}

/** Short timeouts: Meta waits for the answer, and a 500 costs only a redelivery. */
export function createReceiverClients(): ReceiverClients {
  const options = { maxAttempts: 3, requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 } };
  return { dynamodb: new DynamoDBClient(options), eventBridge: new EventBridgeClient(options), secretsManager: new SecretsManagerClient(options) };
}

/** Builds the receiver once per container: clients, adapters and the secret cache live as long as the container. */
export function createReceiver(config: ReceiverConfig, overrides: ReceiverOverrides = {}): Receiver {
  const clock = overrides.clock ?? systemClock;
  // Built only for the adapters not overridden (the benchmark replaces all three).
  let built: ReceiverClients | undefined;
  const clients = () => (built ??= overrides.clients ?? createReceiverClients());
  const secrets =
    overrides.secrets ??
    new SecretsManagerWebhookSecrets(clients().secretsManager, {
      appSecretId: config.APP_SECRET_ID,
      verifyTokenSecretId: config.VERIFY_TOKEN_SECRET_ID,
      maxAgeMs: config.SECRET_CACHE_SECONDS * 1000,
      clock,
    });
  const deps: PublishChangesDeps = {
    changeLog: overrides.changeLog ?? new DynamoDbChangeLog(clients().dynamodb, config.WEBHOOK_CHANGES_TABLE_NAME),
    publisher: overrides.publisher ?? new EventBridgePublisher(clients().eventBridge, config.EVENT_BUS_NAME),
    clock,
    sleep: overrides.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    policy: {
      claimTimeoutMs: config.CLAIM_TIMEOUT_SECONDS * 1000,
      retainMs: config.CHANGE_RECORD_DAYS * DAY_MS,
      inProgressPolls: Math.ceil(config.IN_PROGRESS_WAIT_MS / POLL_INTERVAL_MS),
      pollIntervalMs: POLL_INTERVAL_MS,
    },
  };
  const logger = overrides.logger ?? createLogger();
  logger.appendPersistentKeys({ component: 'webhook-receiver' });
  const metrics = overrides.metrics ?? createMetrics();

  async function handle(request: ReceiverRequest): Promise<ReceiverResponse> {
    const method = request.method.toUpperCase();
    const { outcome, response, ignoredChanges } =
      method === 'GET' ? await handshake(request) : method === 'POST' ? await delivery(request) : refuse(405, 'method_not_allowed', { allow: 'GET, POST' });
    recordWebhookMetrics(metrics, outcome);
    logWebhookOutcome(logger, outcome, ignoredChanges);
    overrides.onOutcome?.(outcome);
    return response;
  }

  /** Meta's subscription check: the challenge back, only for `subscribe` with our verify token. */
  async function handshake(request: ReceiverRequest): Promise<Handled> {
    const token = request.query['hub.verify_token'];
    if (request.query['hub.mode'] !== 'subscribe' || !token) return refuse(403, 'handshake_refused');
    const matches = await againIfRotated(
      (options) => secrets.verifyToken(options),
      (secret) => secretsEqual(token, secret.value),
      (matched) => !matched,
    );
    if (matches === 'unavailable') return unavailable();
    if (!matches) return refuse(403, 'handshake_refused');
    const challenge = request.query['hub.challenge'];
    if (!challenge || challenge.length > MAX_CHALLENGE_LENGTH) return { outcome: { kind: 'handshake', status: 400 }, response: text(400, 'missing or oversized hub.challenge') };
    return { outcome: { kind: 'handshake', status: 200 }, response: text(200, challenge) };
  }

  /** A webhook: size, then signature over the raw bytes, and only then the JSON. */
  async function delivery(request: ReceiverRequest): Promise<Handled> {
    if (request.rawBody.length > config.MAX_WEBHOOK_BYTES) return refuse(413, 'too_large');
    const header = headerValue(request.headers, 'x-hub-signature-256');
    if (!header) return refuse(401, 'signature_missing');
    const check = await againIfRotated(
      (options) => secrets.appSecret(options),
      (secret) => verifySignature(request.rawBody, header, secret.value),
      // Only a mismatch can mean a rotated secret; a malformed header stays malformed.
      (result) => result === 'mismatch',
    );
    if (check === 'unavailable') return unavailable();
    if (check !== 'valid') return refuse(401, check === 'malformed' ? 'signature_malformed' : 'signature_mismatch');

    const reading = readWebhook(request.rawBody);
    if (reading.kind === 'ignored') return delivered({ published: [], duplicates: [], failed: [], unmarked: [] }, [reading.reason]);
    const ignoredChanges = reading.changes.filter((change) => change.kind === 'ignored');
    const events = reading.changes.flatMap((change) => (change.kind === 'event' ? [{ changeId: change.changeId, detailType: change.detailType, detail: change.detail }] : []));
    const report = await publishChanges(events, deps);
    return { ...delivered(report, ignoredChanges.map((change) => change.reason)), ignoredChanges };
  }

  /**
   * Evaluates a request against the cached secret, and once more against a fresh read when the cached one fails in a
   * way a rotation would explain. 'unavailable' when Secrets Manager cannot give the secret.
   */
  async function againIfRotated<T>(
    read: (options: { fresh?: boolean }) => Promise<WebhookSecret>,
    evaluate: (secret: WebhookSecret) => T,
    maybeRotated: (result: T) => boolean,
  ): Promise<T | 'unavailable'> {
    try {
      const cached = await read({});
      const result = evaluate(cached);
      if (cached.fresh || !maybeRotated(result)) return result;
      return evaluate(await read({ fresh: true }));
    } catch (error) {
      logger.error('could not read a webhook secret', { error: error instanceof Error ? { name: error.name, message: error.message } : 'unknown' });
      return 'unavailable';
    }
  }

  return { logger, maxBodyBytes: config.MAX_WEBHOOK_BYTES, handle };
}

interface Handled {
  outcome: WebhookOutcome;
  response: ReceiverResponse;
  ignoredChanges?: ChangeReading[];
}

function delivered(report: ChangesReport, ignored: WebhookIgnoreReason[]): Handled {
  const status = report.failed.length > 0 ? 500 : 200;
  return { outcome: { kind: 'delivery', status, ignored, ...report }, response: text(status, status === 200 ? 'ok' : 'not all changes were published; redeliver') };
}

function refuse(status: 401 | 403 | 405 | 413, reason: WebhookRejectReason, headers: Record<string, string> = {}): Handled {
  return { outcome: { kind: 'rejected', status, reason }, response: text(status, reason.replaceAll('_', ' '), headers) };
}

function unavailable(): Handled {
  return { outcome: { kind: 'failed', status: 500, stage: 'secret' }, response: text(500, 'temporarily unavailable') };
}

function text(status: number, body: string, headers: Record<string, string> = {}): ReceiverResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', ...headers }, body };
}

/** Header names are case-insensitive; Function URLs lower-case them, other transports may not. */
function headerValue(headers: ReceiverRequest['headers'], name: string): string | undefined {
  if (headers[name] !== undefined) return headers[name];
  return Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
}
