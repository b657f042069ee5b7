import type { JobDecision, JobRecord, LedgerChanges, NumberRecord } from '../ledger/port.ts';
import type { LimitedOperation } from './budget.ts';
import { baseJob, changesOf, type DecideInput } from './job-context.ts';

/** The next thing a delivery does. `decide` returns one; the loop performs it and reads the ledger again. */
export type Step =
  | { kind: 'duplicate'; detail: string }
  /** Spends nothing and is no failure: the job goes back on the queue until `until` (its receive count starts over). */
  | { kind: 'wait'; until: number; detail: string; changes?: LedgerChanges }
  /** A failure that spent nothing (a state read failed): the message returns after the delay and its receive counts. */
  | { kind: 'retry'; delaySeconds: number; detail: string }
  | { kind: 'read_state'; why: string }
  /** Read these secrets from Secrets Manager, not the cache (a hold or gate names the cached version). */
  | { kind: 'refresh_secrets'; token?: true; pin?: true }
  /** Store a new random PIN as the number's PIN secret (pinPolicy provision-if-missing), then decide again. */
  | { kind: 'provision_pin'; why: string }
  /** Write progress that needed no request; `complete` ends the job. */
  | { kind: 'write'; changes: LedgerChanges; then: 'continue' | 'complete'; detail: string }
  /** Dead-letter: `changes` (when present) store the decision first, so a redelivery only resends the envelope. */
  | { kind: 'dead_letter'; decision: JobDecision; changes?: LedgerChanges; finish: boolean }
  /** Reserve (the changes) and send one request. */
  | { kind: 'send'; operation: LimitedOperation; changes: LedgerChanges; attemptId: string };

/** A dead letter whose decision is stored first: a redelivery resends the envelope and decides nothing again. */
export function deadLetter(input: DecideInput, decision: JobDecision): Step {
  const job = { ...baseJob(input), decision };
  return { kind: 'dead_letter', decision, finish: true, changes: changesOf(input, { job }) };
}

export function finished(job: JobRecord, status: 'completed' | 'dead_lettered'): JobRecord {
  const { leaseOwner: _owner, leaseUntil: _until, ...rest } = job;
  return { ...rest, status };
}

export function releaseReservation(number: NumberRecord, jobKey: string): NumberRecord {
  return number.reserved.some((slot) => slot.jobKey === jobKey) ? { ...number, reserved: number.reserved.filter((slot) => slot.jobKey !== jobKey) } : number;
}

