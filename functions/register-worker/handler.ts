import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { loadConfig } from '../../shared/config.ts';
import { createWorker } from './worker.ts';

// Once per container: a bad environment fails the cold start, naming every bad variable.
const worker = createWorker(loadConfig(process.env));

/**
 * SQS → register/deregister jobs, with partial batch failures. Every metric is published as it is recorded
 * (single EMF lines), so no metrics middleware flushes an empty buffer and warns on each invocation.
 */
export const handler = middy(worker.handleBatch).use(injectLambdaContext(worker.logger, { resetKeys: true }));
