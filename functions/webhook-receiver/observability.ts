import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS } from '../../shared/metrics.ts';
import type { ChangeReading } from '../../shared/webhooks/meta-webhook.ts';
import type { WebhookOutcome } from '../../shared/webhooks/outcome.ts';

/**
 * The receiver's metrics, one single-metric EMF line each (published at once, as the worker does):
 * `WebhookRejected` by reason, `WebhookIgnored` by reason, `WebhookEventPublished` by detailType,
 * `WebhookDuplicate`, and `WebhookFailed` by stage.
 */
export function recordWebhookMetrics(metrics: Metrics, outcome: WebhookOutcome): void {
  const { dimensions } = METRICS;
  const emit = (name: string, value: number, dimension?: [string, string]) => {
    if (value === 0) return;
    const single = metrics.singleMetric();
    if (dimension) single.addDimension(dimension[0], dimension[1]);
    single.addMetric(name, MetricUnit.Count, value);
  };
  const countBy = <T extends string>(values: T[]) => values.reduce((counts, value) => counts.set(value, (counts.get(value) ?? 0) + 1), new Map<T, number>());
  if (outcome.kind === 'rejected') emit(METRICS.webhookRejected, 1, [dimensions.reason, outcome.reason]);
  if (outcome.kind === 'failed') emit(METRICS.webhookFailed, 1, [dimensions.stage, outcome.stage]);
  if (outcome.kind !== 'delivery') return;
  for (const [reason, count] of countBy(outcome.ignored)) emit(METRICS.webhookIgnored, count, [dimensions.reason, reason]);
  for (const [detailType, count] of countBy(outcome.published.map((event) => event.detailType))) emit(METRICS.webhookEventPublished, count, [dimensions.detailType, detailType]);
  emit(METRICS.webhookDuplicate, outcome.duplicates.length);
  for (const [stage, count] of countBy(outcome.failed.map((failure) => failure.stage))) emit(METRICS.webhookFailed, count, [dimensions.stage, stage]);
}

/**
 * One line per request: status, reason and change ids (hashes) with what became of them. Never the body, a header,
 * a secret or the signature; ignored changes name only their reason, field and the schema paths at fault.
 */
export function logWebhookOutcome(logger: Pick<Logger, 'info' | 'warn' | 'error'>, outcome: WebhookOutcome, ignoredChanges: ChangeReading[] = []): void {
  const line = { ...outcome };
  if (outcome.status >= 500) logger.error('webhook request failed; Meta redelivers it', line);
  else if (outcome.kind === 'rejected' || outcome.status === 400) logger.warn('webhook request refused', line);
  else if (outcome.kind === 'delivery' && outcome.unmarked.length > 0) logger.warn('webhook published, but some markers were not written; a copy may publish again', line);
  else logger.info('webhook request', line);
  for (const change of ignoredChanges) {
    if (change.kind === 'ignored') logger.warn('webhook change ignored', { reason: change.reason, changeId: change.changeId, field: change.field, problems: change.problems });
  }
}
