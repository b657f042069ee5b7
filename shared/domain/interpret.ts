import { rowForCode, type GraphCodeRow, type GraphMeaning } from '../graph/error-codes.ts';
import type { GraphCallResult, GraphError, NumberState, StateReadResult } from '../graph/port.ts';
import type { JobDecision } from '../ledger/port.ts';
import type { LimitedOperation } from './budget.ts';

/** A request or read that got no usable answer: it may have reached Meta. */
export const NO_ANSWER_ROW: GraphCodeRow = {
  codes: [],
  meaning: 'transient',
  category: 'retries_exhausted',
  outcome: 'unknown',
  minDelaySeconds: 30,
  hint: 'No usable answer (timeout, network, HTTP 5xx): the request counts as spent; the job reads the state and retries within its transient budget.',
};

/** What a Graph answer means, read through the error table. The only reader of that table. */
export type Interpretation =
  | { kind: 'took_effect'; httpStatus?: number }
  | { kind: 'state'; state: NumberState }
  | {
      kind: 'failed';
      meaning: GraphMeaning;
      row: GraphCodeRow;
      /** What the ledger records for the request. */
      outcome: 'rejected' | 'unknown';
      /** Throttles: Meta's regain time, when its usage headers say. */
      regainAfterSeconds?: number;
      /** Throttles: the businesses the usage headers name; absent means the whole app. */
      throttledBusinesses?: string[];
      /** PIN lockouts: the wait parsed from Meta's details, when it could be. */
      lockSeconds?: number;
      graphError?: NonNullable<JobDecision['graphError']>;
      /** Words for the log and the dead letter. */
      what: string;
      httpStatus?: number;
    };

/** What a state read means: a state, or a failure the table explains. */
export type ReadInterpretation = Extract<Interpretation, { kind: 'state' | 'failed' }>;

/** Reads a state read's answer through the same table as requests (a 190 or a throttle means the same there). */
export function interpretRead(result: StateReadResult): ReadInterpretation {
  return interpret('read_state', result) as ReadInterpretation;
}

/** Reads one Graph answer: a register, a deregister or a state read. */
export function interpret(operation: LimitedOperation | 'read_state', result: GraphCallResult | StateReadResult): Interpretation {
  if (result.kind === 'success') return { kind: 'took_effect', httpStatus: result.httpStatus };
  if (result.kind === 'known') return { kind: 'state', state: result.state };
  if (result.kind === 'no_answer') {
    return {
      kind: 'failed',
      meaning: 'transient',
      row: NO_ANSWER_ROW,
      outcome: 'unknown',
      what: `no usable answer (${result.why}${result.httpStatus ? ` ${result.httpStatus}` : ''})`,
      ...(result.httpStatus !== undefined ? { httpStatus: result.httpStatus } : {}),
    };
  }
  if (result.kind === 'unknown') {
    // A state read that failed. Without a code it is a passing fault; with one, the table says what it means.
    if (result.code === undefined) return { kind: 'failed', meaning: 'transient', row: NO_ANSWER_ROW, outcome: 'unknown', what: result.why };
    return failedBy(result.code, `the state read failed with error ${result.code}`, {
      ...throttleOf(result),
      graphError: { code: result.code, ...(result.fbtraceId ? { fbtraceId: result.fbtraceId } : {}), ...(result.httpStatus ? { httpStatus: result.httpStatus } : {}) },
    });
  }
  // Not registered is exactly what a deregister wants.
  if (rowForCode(result.error.code).meaning === 'not_registered' && operation === 'deregister') return { kind: 'took_effect', httpStatus: result.httpStatus };
  return failedBy(result.error.code, `Meta refused the ${operation} with error ${result.error.code}`, {
    ...throttleOf(result),
    ...(result.error.retryAfterSeconds === undefined ? {} : { lockSeconds: result.error.retryAfterSeconds }),
    graphError: graphErrorOf(result.error, result.httpStatus),
    httpStatus: result.httpStatus,
  });
}

type Failure = Extract<Interpretation, { kind: 'failed' }>;

/** A failure with Meta's code, read through the table: the one place a row turns into a meaning. */
function failedBy(code: number, what: string, extra: Partial<Failure>): Failure {
  const row = rowForCode(code);
  return { kind: 'failed', meaning: row.meaning, row, outcome: row.outcome, what, ...extra };
}

function graphErrorOf(error: GraphError, httpStatus: number): NonNullable<JobDecision['graphError']> {
  return {
    code: error.code,
    ...(error.subcode !== undefined ? { subcode: error.subcode } : {}),
    ...(error.message ? { message: error.message } : {}),
    ...(error.details ? { details: error.details } : {}),
    ...(error.fbtraceId ? { fbtraceId: error.fbtraceId } : {}),
    httpStatus,
  };
}

/** The throttle facts of an answer, as the usage headers gave them. */
function throttleOf(result: { regainAfterSeconds?: number; throttledBusinesses?: string[] }): { regainAfterSeconds?: number; throttledBusinesses?: string[] } {
  return {
    ...(result.regainAfterSeconds === undefined ? {} : { regainAfterSeconds: result.regainAfterSeconds }),
    ...(result.throttledBusinesses === undefined ? {} : { throttledBusinesses: result.throttledBusinesses }),
  };
}
