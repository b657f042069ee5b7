import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DEAD_LETTER_REASONS } from './domain/reasons.ts';
import type { JobOutcome } from './domain/run-job.ts';
import { rowForCode } from './graph/error-codes.ts';
import { METRICS, type AppGate } from './metrics.ts';
import { isSecretFieldName } from './secret-fields.ts';

/**
 * The service's structured JSON logger. Events and bodies are never logged. As a backstop (no code passes a secret
 * to it), the value of every field named like a secret (shared/secret-fields.ts) is masked.
 */
export function createLogger(): Logger {
  return new Logger({
    serviceName: METRICS.service,
    jsonReplacerFn: (key, value) => (isSecretFieldName(key) ? '[REDACTED]' : value),
  });
}

/** The worker's metrics (EMF), in the namespace and service the stack's alarms and dashboard read. */
export function createMetrics(): Metrics {
  return new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service });
}

/** The one log line per job outcome: number, action, outcome, code, attempt n of limit, fbtrace_id. */
export function logJobOutcome(logger: Pick<Logger, 'info' | 'warn'>, outcome: JobOutcome, attemptLimit: number, messageId: string): void {
  const line = {
    messageId,
    jobKey: outcome.jobKey,
    phoneNumberId: outcome.phoneNumberId,
    action: outcome.action,
    outcome: outcome.status,
    ...(outcome.status === 'dead_lettered' ? { category: outcome.category } : {}),
    ...(outcome.status === 'retry' ? { retryAfterSeconds: outcome.retryAfterSeconds } : {}),
    ...(outcome.status === 'wait' ? { waitUntil: new Date(outcome.until).toISOString() } : {}),
    ...(lastCode(outcome) !== undefined ? { code: lastCode(outcome) } : {}),
    ...(lastTrace(outcome) ? { fbtrace_id: lastTrace(outcome) } : {}),
    ...(outcome.status === 'dead_lettered' && outcome.envelope.budget ? { budget: `${outcome.envelope.budget.used} of ${attemptLimit}` } : {}),
    graphCalls: outcome.graphCalls,
    detail: outcome.detail,
  };
  if (outcome.status === 'completed' || outcome.status === 'duplicate' || outcome.status === 'wait') logger.info('job outcome', line);
  else logger.warn('job outcome', line);
}

const lastCode = (outcome: JobOutcome) => outcome.graphCalls.findLast((call) => call.code !== undefined)?.code;
const lastTrace = (outcome: JobOutcome) => outcome.graphCalls.findLast((call) => call.fbtraceId)?.fbtraceId;

/**
 * Whether this delivery ended with Meta's 133016 (the Graph error table's `blocked` row): a rate_limited dead letter
 * carrying the block (`blockedUntil`) and Meta's own error. A later job that only meets the block carries no Graph
 * error, so each block counts once.
 */
export function numberBlocked(outcome: JobOutcome): boolean {
  if (outcome.status !== 'dead_lettered' || outcome.category !== 'rate_limited' || outcome.envelope.blockedUntil === undefined) return false;
  const code = outcome.envelope.graphError?.code;
  return code !== undefined && rowForCode(code).meaning === 'blocked';
}

/**
 * A migration that Meta refused the PIN for (held as pin_rejected or pin_locked): the On-Premises client is down and
 * the number is not on Cloud API either, so a person must act now.
 */
function migrationIncident(outcome: JobOutcome): boolean {
  return outcome.action === 'migrate' && outcome.status === 'dead_lettered' && (outcome.category === 'pin_rejected' || outcome.category === 'pin_locked');
}

/** How the domain words a wait for Meta's throttle (shared/domain/decide.ts); a unit test runs `decide` to keep it so. */
const THROTTLE_WAIT = /^Meta throttles the app until /;

/**
 * The app-wide gate this delivery met, read from the outcome alone:
 * - `token`: dead-lettered as token_rejected (Meta refused the token now, or the gate was already closed);
 * - `throttle`: Meta answered a throttle code in this delivery (the Graph error table says which codes are
 *   throttles), or the job waits for, or was dead-lettered behind, a throttle the ledger already holds.
 */
export function closedGate(outcome: JobOutcome): AppGate | undefined {
  if (outcome.status === 'dead_lettered' && outcome.category === 'token_rejected') return 'token';
  if (outcome.graphCalls.some((call) => call.code !== undefined && rowForCode(call.code).meaning === 'throttled')) return 'throttle';
  if (outcome.status === 'wait' && THROTTLE_WAIT.test(outcome.detail)) return 'throttle';
  if (outcome.status === 'dead_lettered' && outcome.category === 'rate_limited' && outcome.envelope.reason.startsWith(DEAD_LETTER_REASONS.throttle_too_long.summary)) {
    return 'throttle';
  }
  return undefined;
}

/**
 * Adds a batch's metrics, each published at once (single-metric EMF lines, so an invocation that times out later
 * loses none): `JobOutcome` by outcome (and category), `GraphLatency` by operation, `DeadLettered` by category,
 * `NumberBlocked`, `MigrationIncident`, `AppGateClosed` by gate, and `BusinessJobOutcome` by business and outcome.
 */
export function recordJobMetrics(metrics: Metrics, outcomes: JobOutcome[]): void {
  const { dimensions } = METRICS;
  const counts = new Map<string, number>();
  const deadLettered = new Map<string, number>();
  const gates = new Map<AppGate, number>();
  const latencies = new Map<string, number[]>();
  let blocked = 0;
  let incidents = 0;
  const perBusiness = new Map<string, number>();
  const bump = <K>(map: Map<K, number>, key: K) => map.set(key, (map.get(key) ?? 0) + 1);
  for (const outcome of outcomes) {
    const category = outcome.status === 'dead_lettered' ? outcome.category : 'none';
    bump(counts, `${outcome.status}|${category}`);
    if (outcome.status === 'dead_lettered') bump(deadLettered, outcome.category);
    if (numberBlocked(outcome)) blocked += 1;
    if (migrationIncident(outcome)) incidents += 1;
    // One series per business and ending: the dashboard finds them all with one SEARCH.
    if (outcome.businessAccountId !== undefined && (outcome.status === 'completed' || outcome.status === 'dead_lettered')) {
      bump(perBusiness, `${outcome.businessAccountId}|${outcome.status}`);
    }
    const gate = closedGate(outcome);
    if (gate) bump(gates, gate);
    for (const call of outcome.graphCalls) {
      if (call.operation === 'read_state' || call.durationMs === undefined) continue;
      latencies.set(call.operation, [...(latencies.get(call.operation) ?? []), call.durationMs]);
    }
  }
  const emit = (name: string, value: number, dimension?: [string, string]) => {
    const single = metrics.singleMetric();
    if (dimension) single.addDimension(dimension[0], dimension[1]);
    single.addMetric(name, MetricUnit.Count, value);
  };
  for (const [key, count] of counts) {
    const [status, category] = key.split('|') as [string, string];
    const single = metrics.singleMetric();
    single.addDimension(dimensions.outcome, status);
    if (category !== 'none') single.addDimension(dimensions.category, category);
    single.addMetric(METRICS.jobOutcome, MetricUnit.Count, count);
  }
  for (const [category, count] of deadLettered) emit(METRICS.deadLettered, count, [dimensions.category, category]);
  if (blocked > 0) emit(METRICS.numberBlocked, blocked);
  if (incidents > 0) emit(METRICS.migrationIncident, incidents);
  for (const [key, count] of perBusiness) {
    const [business, status] = key.split('|') as [string, string];
    const single = metrics.singleMetric();
    single.addDimension(dimensions.businessAccountId, business);
    single.addDimension(dimensions.outcome, status);
    single.addMetric(METRICS.businessJobOutcome, MetricUnit.Count, count);
  }
  for (const [gate, count] of gates) emit(METRICS.appGateClosed, count, [dimensions.gate, gate]);
  for (const [operation, values] of latencies) {
    const single = metrics.singleMetric();
    single.addDimension(dimensions.operation, operation);
    for (const value of values) single.addMetric(METRICS.graphLatency, MetricUnit.Milliseconds, value);
  }
}

/** One delivery failed on infrastructure (the worker's catch): published at once, like the batch's metrics. */
export function recordInfrastructureFailure(metrics: Metrics): void {
  metrics.singleMetric().addMetric(METRICS.infrastructureFailure, MetricUnit.Count, 1);
}
