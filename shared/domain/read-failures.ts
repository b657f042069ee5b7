import type { ReadInterpretation } from './interpret.ts';
import { baseJob, decisionFor, type DecideInput } from './job-context.ts';
import { deadLetter, type Step } from './steps.ts';

/** Retry delay for a failure: 30 s doubling per delivery, at most 15 minutes. */
export function backoffSeconds(count: number): number {
  return Math.min(900, 30 * 2 ** Math.max(0, count - 1));
}

/**
 * A state read that gave no usable state: nothing is sent on it. A 190 or a throttle was already written as an
 * app gate by `decide`; a permanent code (100: Meta does not know the number) ends the job; anything else is
 * retried a few deliveries. `failure` is undefined when the read answered without a field the decision needs.
 */
export function readFailed(input: DecideInput, failure: Extract<ReadInterpretation, { kind: 'failed' }> | undefined): Step {
  // A saga that may have taken the number offline keeps trying to read (within MAX_DELIVERIES) rather than give up on
  // one odd answer: giving up would leave the number deregistered.
  if (failure?.meaning === 'permanent' && !mayBeOfflineByThisJob(input)) {
    const code = failure.graphError?.code;
    if (code === 100) return deadLetter(input, decisionFor('unknown_number', 'Nothing sent.', failure.graphError ? { graphError: failure.graphError } : {}));
    return deadLetter(input, {
      category: failure.row.category ?? 'permanent_error',
      reason: `${failure.what}; nothing sent.`,
      hint: failure.row.hint,
      ...(failure.graphError ? { graphError: failure.graphError } : {}),
    });
  }
  const why = failure ? failure.what : 'the state read lacked a field the decision needs';
  if (input.delivery.receiveCount >= input.policy.maxDeliveries) {
    return deadLetter(input, decisionFor('reads_failing', `Last: ${why}.`));
  }
  return { kind: 'retry', delaySeconds: backoffSeconds(input.delivery.receiveCount), detail: `${why}; nothing is sent on an unknown state` };
}

/** A saga whose deregister took effect, or may have (its outcome is not known yet). */
function mayBeOfflineByThisJob(input: DecideInput): boolean {
  if (input.job.action === 'deregister') return false;
  const job = baseJob(input);
  const last = job.lastAttempt;
  return job.progress.deregisterDone === true || (last?.operation === 'deregister' && (last.outcome === 'pending' || last.outcome === 'unknown'));
}
