import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import { systemClock } from '../../shared/clock.ts';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import { METRICS } from '../../shared/metrics.ts';
import { createLogger, createMetrics } from '../../shared/observability.ts';
import { loadDeadlineWatchConfig } from './config.ts';
import { watchDeadlines, type DeadlineReport } from './watch.ts';

const config = loadDeadlineWatchConfig(process.env);
const ledger = new DynamoDbAttemptLedger(new DynamoDBClient({ maxAttempts: 3 }), config.LEDGER_TABLE_NAME);
const logger = createLogger();
const metrics = createMetrics();

/**
 * EventBridge (hourly) → the name-approval deadlines: a number approved for a new display name must be registered
 * again within 14 days. Emits NameDeadlineAtRisk (unmet, less than DEADLINE_WARN_DAYS away or passed) every run, so
 * the alarm stays red while one is at risk, and logs each such number.
 */
export const handler = middy(async (): Promise<{ atRisk: number; missed: number; met: number; open: number }> => {
  const reports = await watchDeadlines(ledger, systemClock.now(), config.DEADLINE_WARN_DAYS);
  const count = (standing: DeadlineReport['standing']) => reports.filter((report) => report.standing === standing).length;
  const summary = { atRisk: count('at_risk'), missed: count('missed'), met: count('met'), open: count('open') };
  const urgent = reports.filter((report) => report.standing === 'at_risk' || report.standing === 'missed');
  for (const report of urgent) {
    logger.warn('name approval needs a re-register', { ...report, approvedAt: new Date(report.approvedAt).toISOString(), deadline: new Date(report.deadline).toISOString() });
  }
  const single = metrics.singleMetric();
  single.addMetric(METRICS.nameDeadlineAtRisk, MetricUnit.Count, urgent.length);
  logger.info('name-approval deadlines checked', summary);
  return summary;
}).use(injectLambdaContext(logger, { resetKeys: true }));
