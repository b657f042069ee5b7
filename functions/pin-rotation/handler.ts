import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { loadPinRotationConfig } from './config.ts';
import { createPinRotation } from './rotation.ts';

// Once per container: a bad environment fails the cold start, naming every bad variable.
const rotation = createPinRotation(loadPinRotationConfig(process.env));

/**
 * Secrets Manager → one step of a PIN secret's rotation (createSecret, setSecret, testSecret, finishSecret); see
 * shared/pins/rotation.ts for the steps and why a crash at any point leaves no PIN nobody knows.
 */
export const handler = middy(rotation.handleStep).use(injectLambdaContext(rotation.logger, { resetKeys: true }));
