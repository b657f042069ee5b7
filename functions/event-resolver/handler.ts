import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { loadEventResolverConfig } from './config.ts';
import { createResolver } from './resolver.ts';

// Once per container: a bad environment fails the cold start, naming every bad variable.
const resolver = createResolver(loadEventResolverConfig(process.env));

/**
 * SQS (the buffer of the events bus) → ledger records and jobs, with partial batch failures. Metrics are published as
 * they are recorded (single EMF lines), as in the worker.
 */
export const handler = middy(resolver.handleBatch).use(injectLambdaContext(resolver.logger, { resetKeys: true }));
