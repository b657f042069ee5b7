import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS } from '../../shared/metrics.ts';

/** One EMF document the worker published, reduced to what CloudWatch turns into data points. */
export interface EmittedMetric {
  namespace: string;
  name: string;
  /** Every dimension of the data point, `service` included. */
  dimensions: Record<string, string>;
  /** One value, or several when one document carries many (Powertools groups values of one name). */
  value: number | number[];
}

/**
 * A real Powertools `Metrics` in the worker's namespace and service whose output is recorded instead of printed
 * (tests run with POWERTOOLS_METRICS_DISABLED). Everything up to the EMF document is Powertools' own: validation,
 * default dimensions, single-metric publishing, serialization.
 */
export class RecordingMetrics extends Metrics {
  readonly emitted: EmittedMetric[];

  constructor(emitted: EmittedMetric[] = [], options: { singleMetric?: boolean } = {}) {
    super({ namespace: METRICS.namespace, serviceName: METRICS.service, ...options });
    this.emitted = emitted;
  }

  override singleMetric(): Metrics {
    return new RecordingMetrics(this.emitted, { singleMetric: true });
  }

  override publishStoredMetrics(): this {
    if (this.hasStoredMetrics()) {
      const document = this.serializeMetrics() as unknown as Record<string, unknown> & {
        _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> };
      };
      for (const directive of document._aws.CloudWatchMetrics) {
        const dimensionNames = [...new Set(directive.Dimensions.flat())];
        const dimensions = Object.fromEntries(dimensionNames.map((name) => [name, String(document[name])]));
        for (const { Name } of directive.Metrics) {
          this.emitted.push({ namespace: directive.Namespace, name: Name, dimensions, value: document[Name] as number | number[] });
        }
      }
    }
    this.clearMetrics();
    this.clearDimensions();
    this.clearMetadata();
    return this;
  }

  /** Data points of one metric name, summed per dimension set (`a=1,b=2` → total). */
  totals(name: string): Record<string, number> {
    const totals: Record<string, number> = {};
    for (const metric of this.emitted.filter((m) => m.name === name)) {
      const key = Object.entries(metric.dimensions)
        .filter(([dimension]) => dimension !== 'service')
        .map(([dimension, value]) => `${dimension}=${value}`)
        .sort()
        .join(',');
      const sum = [metric.value].flat().reduce((a, b) => a + b, 0);
      totals[key] = (totals[key] ?? 0) + sum;
    }
    return totals;
  }
}
