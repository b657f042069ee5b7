import type { DeadLetterCategory } from '../jobs/dlq-envelope.v1.ts';

/**
 * What the worker does with a Graph error code. The single source of the error policy:
 * the README's table is this table. Keyed on `error.code` only, never on HTTP status or message.
 */
export type GraphErrorPolicy =
  /** 133016: Meta blocked the number for this operation. Record the block, dead-letter, never retry. */
  | { action: 'block'; category: 'rate_limited'; hint: string }
  /** Outcome unknown or a passing fault: retry with backoff; the retry reads the state before spending again. */
  | { action: 'retry'; kind: 'transient'; minDelaySeconds: number; checkStateFirst: boolean; hint: string }
  /** Throttled: retry no sooner than Meta's regain time (usage headers), else with backoff. */
  | { action: 'retry'; kind: 'throttled'; minDelaySeconds: number; checkStateFirst: false; hint: string }
  /** 133000: a previous deregistration did not finish: deregister, then register. */
  | { action: 'repair'; hint: string }
  /** 133010 on a deregister: the number is not registered, which is the goal. */
  | { action: 'goal_reached_if_deregister'; hint: string }
  /** Only a person can fix it: dead-letter at once. `parkSeconds` makes it eligible for redrive after that delay. */
  | { action: 'dead_letter'; category: DeadLetterCategory; hint: string; parkSeconds?: number };

const deadLetter = (hint: string, category: DeadLetterCategory = 'permanent_error'): GraphErrorPolicy => ({
  action: 'dead_letter',
  category,
  hint,
});
const transient = (hint: string, minDelaySeconds = 30): GraphErrorPolicy => ({
  action: 'retry',
  kind: 'transient',
  minDelaySeconds,
  checkStateFirst: true,
  hint,
});
const throttled: GraphErrorPolicy = {
  action: 'retry',
  kind: 'throttled',
  minDelaySeconds: 15 * 60,
  checkStateFirst: false,
  hint: 'Meta is throttling the app or WABA; the job waits for the regain time before trying again.',
};

const PERMISSION_HINT =
  'The token lacks a permission, the account is locked or restricted, or the number was deleted. ' +
  'Fix it in Business Manager, then redrive the job by id.';

/** Meta error code → policy. Codes not listed are permanent: an unknown error is never retried blindly. */
export const GRAPH_ERROR_POLICY: ReadonlyMap<number, GraphErrorPolicy> = new Map<number, GraphErrorPolicy>([
  [133016, {
    action: 'block',
    category: 'rate_limited',
    hint: 'Meta allows 10 register/deregister requests per number per 72 hours and has blocked this number. ' +
      'Nothing is sent for it until blockedUntil; the job is redriven automatically after that.',
  }],
  [133005, deadLetter(
    'Wrong two-step PIN. Check the PIN stored in Secrets Manager against WhatsApp Manager (or reset it there), ' +
      'then redrive the job by id. The job is never retried on its own: guessing PINs locks the number.',
  )],
  [133008, { action: 'dead_letter', category: 'rate_limited', parkSeconds: 12 * 3600,
    hint: 'Too many PIN attempts: Meta pauses PIN checks for this number. Verify the stored PIN before the redrive.' }],
  [133009, { action: 'dead_letter', category: 'rate_limited', parkSeconds: 12 * 3600,
    hint: 'PIN attempts were too fast: Meta pauses PIN checks for this number. Verify the stored PIN before the redrive.' }],
  [133006, deadLetter(
    'The number needs verification again (older than 14 days): call request_code, then verify_code with the code ' +
      'the owner receives, then redrive the job by id.',
    'needs_verification',
  )],
  [133000, { action: 'repair', hint: 'A previous deregistration did not finish; deregistering again, then registering.' }],
  [133010, { action: 'goal_reached_if_deregister', hint: 'The number is not registered.' }],
  [133015, transient('The number is still being deleted; retrying in at least 5 minutes.', 5 * 60)],
  [133004, transient('Meta reports the service temporarily unavailable.')],
  [131016, transient('Meta reports the service unavailable.')],
  [2, transient('Meta reports a temporary problem.')],
  [131000, transient('Meta reports an unknown error; the retry first checks whether the request took effect.')],
  [1, transient('Meta reports an unknown error; the retry first checks whether the request took effect.')],
  [131057, transient('The WhatsApp Business account is in maintenance.', 5 * 60)],
  [4, throttled], [17, throttled], [32, throttled], [613, throttled], [80007, throttled], [80008, throttled],
  [100, deadLetter('Meta rejected a parameter (or the phone number id does not belong to the token). Fix the job and re-enqueue it.')],
  [131008, deadLetter('A required parameter is missing. Fix the job and re-enqueue it.')],
  [131009, deadLetter('A parameter value is invalid. Fix the job and re-enqueue it.')],
  [190, deadLetter('The access token is invalid or expired. Store a new token in the token secret, then redrive.')],
  [0, deadLetter('Authentication failed. Store a new token in the token secret, then redrive.')],
  ...[3, 10, 131005, 131031, 368, 33].map((code): [number, GraphErrorPolicy] => [code, deadLetter(PERMISSION_HINT)]),
]);

/** Codes 200-299 are permission errors as a range. */
export function policyForCode(code: number): GraphErrorPolicy {
  const listed = GRAPH_ERROR_POLICY.get(code);
  if (listed) return listed;
  if (code >= 200 && code <= 299) return deadLetter(PERMISSION_HINT);
  return deadLetter(`Meta answered with error code ${code}, which wa-registrar does not know; a person must look at it before any retry.`);
}
