/**
 * The naive consumer the benchmarks set beside wa-registrar: a plain Lambda that calls `/register` or
 * `/deregister` as soon as a job arrives and reports every failure, so SQS delivers the job again until the
 * queue's maxReceiveCount moves it. No ledger, no state read, no error policy: what wa-registrar replaces.
 * Shared by `worker.bench.ts` (retry storm) and `wasted-attempts.bench.ts`, so both compare with the same consumer.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { processFifoBatch } from '../shared/domain/fifo-batch.ts';

/** One request the naive consumer sent and what Graph answered (codes only, never a secret). */
export interface NaiveAnswer {
  messageId: string;
  jobKey?: string;
  phoneNumberId: string;
  operation: 'register' | 'deregister';
  /** HTTP status; 0 when no answer came (timeout, dropped connection). */
  status: number;
  /** Meta's `error.code`, when the body had one. */
  code?: number;
}

export interface NaiveConsumerOptions {
  baseUrl: string;
  /** Graph API version in the path (default v25.0). */
  version?: string;
  /** The access token, as the function would read it. */
  token(): string | Promise<string>;
  /** The number's two-step PIN, as the function would read it. */
  pin(phoneNumberId: string): string | Promise<string>;
  /**
   * A FIFO queue: one number's records in order, and after a failure the rest of its group reported failed
   * unprocessed, as AWS asks of FIFO consumers. Otherwise (a standard queue) each record on its own, in turn.
   */
  fifo?: boolean;
  timeoutMs?: number;
  onAnswer?(answer: NaiveAnswer): void;
}

interface NaiveJob {
  action?: 'register' | 'deregister' | 'set_localization';
  phoneNumberId: string;
  dataLocalizationRegion?: string;
  idempotencyKey?: string;
}

/** The naive Lambda handler: `set_localization` is a deregister then a register; any non-2xx fails the record. */
export function naiveConsumer(options: NaiveConsumerOptions): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const version = options.version ?? 'v25.0';

  const call = async (record: SQSRecord, job: NaiveJob, operation: NaiveAnswer['operation']): Promise<boolean> => {
    const token = await options.token();
    const body =
      operation === 'register'
        ? JSON.stringify({
            messaging_product: 'whatsapp',
            pin: await options.pin(job.phoneNumberId),
            ...(job.dataLocalizationRegion ? { data_localization_region: job.dataLocalizationRegion } : {}),
          })
        : undefined;
    let status = 0;
    let code: number | undefined;
    try {
      const response = await fetch(`${options.baseUrl}/${version}/${job.phoneNumberId}/${operation}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body } : {}),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
      });
      status = response.status;
      const text = await response.text();
      if (!response.ok) code = errorCode(text);
    } catch {
      status = 0;
    }
    options.onAnswer?.({
      messageId: record.messageId,
      ...(job.idempotencyKey ? { jobKey: job.idempotencyKey } : {}),
      phoneNumberId: job.phoneNumberId,
      operation,
      status,
      ...(code === undefined ? {} : { code }),
    });
    return status >= 200 && status < 300;
  };

  const handle = async (record: SQSRecord): Promise<boolean> => {
    const job = JSON.parse(record.body) as NaiveJob;
    const operations: Array<NaiveAnswer['operation']> =
      job.action === 'deregister' ? ['deregister'] : job.action === 'set_localization' ? ['deregister', 'register'] : ['register'];
    for (const operation of operations) if (!(await call(record, job, operation))) return false;
    return true;
  };

  return async (event) => {
    if (options.fifo) {
      const records = event.Records.map((record) => ({ record, messageId: record.messageId, groupId: record.attributes.MessageGroupId ?? record.messageId }));
      const { failedIds } = await processFifoBatch(records, async ({ record }) => ((await handle(record)) ? 'done' : 'failed'));
      return { batchItemFailures: failedIds.map((itemIdentifier) => ({ itemIdentifier })) };
    }
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) if (!(await handle(record))) failures.push({ itemIdentifier: record.messageId });
    return { batchItemFailures: failures };
  };
}

function errorCode(text: string): number | undefined {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'number' ? code : undefined;
  } catch {
    return undefined;
  }
}
