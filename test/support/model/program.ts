import fc from 'fast-check';
import { DATA_LOCALIZATION_REGIONS, JOB_REASONS, type JobAction, type JobReason } from '../../../shared/jobs/job.v1.ts';
import type { SimulatedFault, SimulatedReadFault } from '../../../tools/graph-simulator.ts';
import { errorTableCodes } from './worker-adapter.ts';

/** How one number starts. */
export interface NumberSetup {
  registered: boolean;
  verification: 'VERIFIED' | 'EXPIRED' | 'NOT_VERIFIED';
  /** What Secrets Manager holds for its PIN, compared with the PIN Meta has. */
  storedPin: 'correct' | 'wrong' | 'none' | 'malformed';
  /** Two-step verification on at Meta (else the first PIN registered becomes the PIN). */
  pinEnabled: boolean;
}

export interface Setup {
  numbers: NumberSetup[];
  /** Lambda's batch size and how many invocations run at once (different message groups). */
  batchSize: number;
  concurrency: 1 | 2;
  tokenStored: boolean;
}

/** `n` is a number index, taken modulo the number count (so shrinking the setup keeps steps valid). */
export type Step =
  | { kind: 'enqueue'; n: number; action: JobAction; reason: JobReason; region?: string; key: number; runAfter: boolean }
  /** The exact message of an earlier send again: a duplicate, or a late redelivery once the job ended. */
  | { kind: 'resend'; pick: number }
  /** `dlq redrive <id>` (with `--force` or not) for one dead letter: the job again with generation + 1. */
  | { kind: 'redrive'; pick: number; force: boolean }
  | { kind: 'graph_faults'; n: number; faults: SimulatedFault[]; repeat: number }
  | { kind: 'read_faults'; n: number; faults: SimulatedReadFault[] }
  | { kind: 'verification'; n: number; status: NumberSetup['verification'] }
  /** Someone registered or deregistered the number outside wa-registrar. */
  | { kind: 'external'; n: number; registered: boolean }
  | { kind: 'incomplete_deregistration'; n: number; stuck: boolean }
  | { kind: 'pin_lock'; n: number; hours: number }
  | { kind: 'new_name_status'; n: number; status: string }
  | { kind: 'revoke_token' }
  | { kind: 'store_token'; valid: boolean }
  | { kind: 'store_pin'; n: number; value: 'correct' | 'wrong' | 'malformed' | 'delete' }
  /** `wa-registrar hold clear <id> [--force]`, or `hold clear --token`. */
  | { kind: 'hold_clear'; n: number; force: boolean }
  | { kind: 'hold_clear_token' }
  /** The `nth` call of a port from now fails; or, with `afterAnswer` (a RegExp source), its first call after such a Graph answer. */
  | { kind: 'infra_fault'; port: 'ledger' | 'secrets' | 'deadLetters' | 'jobQueue'; nth: number; effect: 'error' | 'crash'; when: 'before' | 'after'; afterAnswer?: string }
  | { kind: 'clock'; ms: number };

export interface Program {
  setup: Setup;
  steps: Step[];
}

/** The phone number ids of a setup's numbers: 101, 102, … */
export const numberIds = (setup: Setup): string[] => setup.numbers.map((_, index) => `10${index + 1}`);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const THROTTLE_CODES = new Set([4, 17, 32, 613, 80007, 80008]);
/** HTTP statuses from Meta's old table (§3); others answer 400. */
const HTTP_STATUS: Record<number, number> = { 190: 401, 131000: 500, 133000: 500, 131016: 500, 133004: 503 };

/** A Graph error answer for a code, with the headers and details Meta sends with it. */
function graphErrorFault(code: number, regainMinutes = 20): SimulatedFault & { type: 'graph_error' } {
  return {
    type: 'graph_error',
    code,
    httpStatus: HTTP_STATUS[code] ?? 400,
    ...(code === 613 ? { subcode: 1996 } : {}),
    ...(code === 133008 || code === 133009 ? { details: 'Too many PIN attempts. Try again in 12 hours' } : {}),
    ...(THROTTLE_CODES.has(code)
      ? {
          headers: {
            'X-Business-Use-Case-Usage': JSON.stringify({
              '102290129340398': [{ type: 'whatsapp_business_management', call_count: 100, total_cputime: 4, total_time: 6, estimated_time_to_regain_access: regainMinutes }],
            }),
          },
        }
      : {}),
  };
}

const codeArb = fc.constantFrom(...errorTableCodes());
const graphFaultArb: fc.Arbitrary<SimulatedFault> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(codeArb, fc.integer({ min: 0, max: 90 })).map(([code, minutes]) => graphErrorFault(code, minutes)) },
  { weight: 2, arbitrary: fc.constant<SimulatedFault>({ type: 'http500' }) },
  { weight: 1, arbitrary: fc.constant<SimulatedFault>({ type: 'drop' }) },
  { weight: 1, arbitrary: fc.constant<SimulatedFault>({ type: 'hang' }) },
  { weight: 1, arbitrary: fc.constant<SimulatedFault>({ type: 'apply_then_http500' }) },
  { weight: 1, arbitrary: fc.constant<SimulatedFault>({ type: 'apply_then_hang' }) },
  { weight: 2, arbitrary: fc.constant<SimulatedFault>({ type: 'pass' }) },
);
const readFaultArb: fc.Arbitrary<SimulatedReadFault> = fc.oneof(
  fc.constantFrom<SimulatedReadFault>({ type: 'http500' }, { type: 'drop' }, { type: 'hang' }, { type: 'partial_body' }, { type: 'pass' }),
  fc.constantFrom(131000, 190, 100, 4, 80008).map((code) => graphErrorFault(code) as SimulatedReadFault),
  fc.constantFrom('code_verification_status', 'status', 'platform_type', 'is_pin_enabled').map((field): SimulatedReadFault => ({ type: 'missing_fields', fields: [field] })),
);
const verificationArb = fc.constantFrom<NumberSetup['verification']>('VERIFIED', 'EXPIRED', 'NOT_VERIFIED');
const n = fc.nat(3);

const numberSetupArb: fc.Arbitrary<NumberSetup> = fc.record({
  registered: fc.boolean(),
  verification: fc.oneof({ weight: 5, arbitrary: fc.constant<NumberSetup['verification']>('VERIFIED') }, { weight: 1, arbitrary: verificationArb }),
  storedPin: fc.oneof(
    { weight: 6, arbitrary: fc.constant<NumberSetup['storedPin']>('correct') },
    { weight: 1, arbitrary: fc.constantFrom<NumberSetup['storedPin']>('wrong', 'none', 'malformed') },
  ),
  pinEnabled: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
});

const enqueueArb = fc.record({
  kind: fc.constant('enqueue' as const),
  n,
  action: fc.constantFrom<JobAction>('register', 'register', 'deregister', 'set_localization'),
  reason: fc.constantFrom(...JOB_REASONS),
  region: fc.option(fc.constantFrom(...DATA_LOCALIZATION_REGIONS.slice(0, 4)), { nil: undefined }),
  key: fc.nat(7),
  runAfter: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
}).map((step): Step => {
  // A region is part of register and set_localization jobs only; deregister jobs with one are invalid.
  const { region, ...rest } = step;
  return step.action === 'deregister' || region === undefined ? rest : { ...rest, region };
});

const clockArb = fc.oneof(
  fc.constantFrom(MINUTE, 5 * MINUTE, 16 * MINUTE, HOUR, 12 * HOUR, 25 * HOUR, 72 * HOUR, 72 * HOUR + 10 * MINUTE, 4 * DAY),
  fc.integer({ min: MINUTE, max: 7 * DAY }),
);

/** One step of a program, weighted towards jobs, faults and time. */
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 24, arbitrary: enqueueArb },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('resend' as const), pick: fc.nat(20) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('redrive' as const), pick: fc.nat(20), force: fc.boolean() }) },
  { weight: 7, arbitrary: fc.record({ kind: fc.constant('graph_faults' as const), n, faults: fc.array(graphFaultArb, { minLength: 1, maxLength: 3 }), repeat: fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 8 }) }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read_faults' as const), n, faults: fc.array(readFaultArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('verification' as const), n, status: verificationArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('external' as const), n, registered: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('incomplete_deregistration' as const), n, stuck: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pin_lock' as const), n, hours: fc.integer({ min: 1, max: 24 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('new_name_status' as const), n, status: fc.constantFrom('APPROVED', 'PENDING_REVIEW', 'NONE', 'EXPIRED') }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'revoke_token' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('store_token' as const), valid: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('store_pin' as const), n, value: fc.constantFrom<'correct' | 'wrong' | 'malformed' | 'delete'>('correct', 'correct', 'wrong', 'malformed', 'delete') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('hold_clear' as const), n, force: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'hold_clear_token' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('infra_fault' as const),
      port: fc.constantFrom<'ledger' | 'secrets' | 'deadLetters' | 'jobQueue'>('ledger', 'ledger', 'secrets', 'deadLetters', 'jobQueue'),
      nth: fc.nat(12),
      effect: fc.constantFrom<'error' | 'crash'>('error', 'crash'),
      when: fc.constantFrom<'before' | 'after'>('before', 'after'),
    }),
  },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('clock' as const), ms: clockArb }) },
);

const setupArb: fc.Arbitrary<Setup> = fc.record({
  numbers: fc.array(numberSetupArb, { minLength: 1, maxLength: 4 }),
  batchSize: fc.oneof(fc.constant(10), fc.integer({ min: 1, max: 10 })),
  concurrency: fc.constantFrom<1 | 2>(1, 2),
  tokenStored: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
});

/** Random programs of 1 to `maxSteps` steps over 1-4 numbers (lengths spread over the whole range). */
export function programArb(options: { maxSteps: number }): fc.Arbitrary<Program> {
  return fc.record({ setup: setupArb, steps: fc.array(stepArb, { minLength: 1, maxLength: options.maxSteps, size: 'max' }) });
}
