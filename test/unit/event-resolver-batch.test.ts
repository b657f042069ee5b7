import { describe, expect, it } from 'vitest';
import { loadEventResolverConfig } from '../../functions/event-resolver/config.ts';
import { createResolver } from '../../functions/event-resolver/resolver.ts';
import { ConfigError } from '../../shared/config.ts';
import { ManualClock } from '../../shared/clock.ts';
import type { NumberListResult } from '../../shared/graph/port.ts';
import { METRICS } from '../../shared/metrics.ts';
import type { SQSEvent } from 'aws-lambda';
import { T0, bridgeBody, nameUpdated, pinEvent } from '../support/event-factories.ts';
import { InMemoryAttemptLedger } from '../support/in-memory-ledger.ts';
import { RecordingMetrics } from '../support/recording-metrics.ts';

const required = {
  LEDGER_TABLE_NAME: 'ledger',
  JOB_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/jobs.fifo',
  EVENTS_DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/events-dlq',
  TOKEN_SECRET_ID: 'wa/token',
};

describe('loadEventResolverConfig', () => {
  it('applies the defaults', () => {
    expect(loadEventResolverConfig(required)).toMatchObject({
      GRAPH_API_BASE_URL: 'https://graph.facebook.com',
      GRAPH_API_VERSION: 'v25.0',
      NAME_DEADLINE_DAYS: 14,
      LIST_REFRESH_MINUTES: 5,
      SECRET_CACHE_SECONDS: 300,
    });
  });

  it('names every bad variable, never a value, and keeps the token off plain http to other hosts', () => {
    let error: unknown;
    try {
      loadEventResolverConfig({ ...required, EVENTS_DEAD_LETTER_QUEUE_URL: undefined, GRAPH_API_BASE_URL: 'http://graph.example.com', NAME_DEADLINE_DAYS: 'x-secret' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    for (const name of ['EVENTS_DEAD_LETTER_QUEUE_URL', 'GRAPH_API_BASE_URL', 'NAME_DEADLINE_DAYS']) expect((error as Error).message).toContain(name);
    expect((error as Error).message).not.toContain('x-secret');
    expect(loadEventResolverConfig({ ...required, GRAPH_API_BASE_URL: 'http://127.0.0.1:8080' }).GRAPH_API_BASE_URL).toBe('http://127.0.0.1:8080');
  });
});

describe('createResolver: one batch', () => {
  it('reports the records that must come back, and charts every outcome', async () => {
    // Prepare: the first list read fails; the job queue refuses the approval's job
    const script: NumberListResult[] = [{ kind: 'unknown', why: 'number list answered HTTP 500', httpStatus: 500 }];
    const metrics = new RecordingMetrics();
    const resolver = createResolver(loadEventResolverConfig(required), {
      clock: new ManualClock(T0 + 60_000),
      ledger: new InMemoryAttemptLedger(),
      graph: { listPhoneNumbers: async () => script.shift() ?? { kind: 'known', numbers: [{ id: '106540352242922', displayPhoneNumber: '+1 555-078-3881' }] } },
      secrets: { accessToken: async () => ({ kind: 'found', value: 'EAAG-unit', version: 'v1', fresh: false }), evict: () => undefined },
      jobs: { send: () => Promise.reject(new Error('SQS is down')) },
      deadLetters: { send: async () => undefined },
      metrics,
    });
    const record = (messageId: string, body: string) => ({ messageId, body, attributes: { ApproximateReceiveCount: '1' } }) as unknown as SQSEvent['Records'][number];

    // Act
    const response = await resolver.handleBatch({
      Records: [
        record('retry', bridgeBody('PinChanged', pinEvent())),
        record('held', bridgeBody('PinChanged', pinEvent())),
        record('throws', bridgeBody('PhoneNumberNameUpdated', nameUpdated())),
        record('invalid', '{"detail-type":"Nope"}'),
      ],
    });

    // Assess
    expect(new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier))).toEqual(new Set(['retry', 'throws']));
    expect(metrics.totals(METRICS.eventOutcome)).toEqual({
      'detailType=PinChanged,outcome=retry': 1,
      'detailType=PinChanged,outcome=applied': 1,
      'detailType=PhoneNumberNameUpdated,outcome=failed': 1,
      'detailType=other,outcome=dead_lettered': 1,
    });
    expect(metrics.totals(METRICS.eventDeadLettered)).toEqual({ 'reason=invalid_event': 1 });
    expect(metrics.totals(METRICS.numberListRead)).toEqual({ '': 2 });
  });
});
