import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { loadReceiverConfig } from './config.ts';
import { fromFunctionUrlEvent, toFunctionUrlResult } from './function-url.ts';
import { createReceiver } from './receiver.ts';

// Once per container: a bad environment fails the cold start, naming every bad variable.
const receiver = createReceiver(loadReceiverConfig(process.env));

/** Meta's webhooks through a Lambda Function URL: verify, deduplicate, publish on EventBridge, answer. */
export const handler = middy(async (event: LambdaFunctionURLEvent) => toFunctionUrlResult(await receiver.handle(fromFunctionUrlEvent(event)))).use(
  injectLambdaContext(receiver.logger, { resetKeys: true }),
);
