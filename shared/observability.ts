import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { JobOutcome } from './domain/run-job.ts';

export const SERVICE_NAME = 'wa-registrar';
export const METRICS_NAMESPACE = 'WaRegistrar';

/** Keys whose values are masked in every log line: a backstop, since no code passes secrets to the logger. */
const SECRET_KEY = /^(pin|token|access_?token|accesstoken|authorization|password|secretstring)$/i;

/** The service's structured JSON logger. Events and bodies are never logged. */
export function createLogger(): Logger {
  return new Logger({
    serviceName: SERVICE_NAME,
    jsonReplacerFn: (key, value) => (SECRET_KEY.test(key) ? '[REDACTED]' : value),
  });
}

export function createMetrics(): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
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

/** Adds a batch's outcomes and Graph latencies to the metrics (published by the caller at the end of the invocation). */
export function recordJobMetrics(metrics: Metrics, outcomes: JobOutcome[]): void {
  const counts = new Map<string, number>();
  const latencies = new Map<string, number[]>();
  for (const outcome of outcomes) {
    const category = outcome.status === 'dead_lettered' ? outcome.category : 'none';
    const key = `${outcome.status}|${category}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    for (const call of outcome.graphCalls) {
      if (call.operation === 'read_state' || call.durationMs === undefined) continue;
      latencies.set(call.operation, [...(latencies.get(call.operation) ?? []), call.durationMs]);
    }
  }
  for (const [key, count] of counts) {
    const [status, category] = key.split('|') as [string, string];
    const single = metrics.singleMetric();
    single.addDimension('outcome', status);
    if (category !== 'none') single.addDimension('category', category);
    single.addMetric('JobOutcome', MetricUnit.Count, count);
  }
  for (const [operation, values] of latencies) {
    const single = metrics.singleMetric();
    single.addDimension('operation', operation);
    for (const value of values) single.addMetric('GraphLatency', MetricUnit.Milliseconds, value);
  }
}
