import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import type { ReceiverRequest, ReceiverResponse } from './receiver.ts';

/** A Function URL event as the transport-independent request: a base64 body is decoded to its raw bytes first. */
export function fromFunctionUrlEvent(event: LambdaFunctionURLEvent): ReceiverRequest {
  return {
    method: event.requestContext.http.method,
    headers: event.headers ?? {},
    rawBody: Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8'),
    query: event.queryStringParameters ?? {},
  };
}

export function toFunctionUrlResult(response: ReceiverResponse): LambdaFunctionURLResult {
  return { statusCode: response.status, headers: response.headers, body: response.body };
}
