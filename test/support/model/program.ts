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
  /** WhatsApp Business Accounts in the simulator: number i belongs to business i % businesses. */
  businesses: 1 | 2;
  /** Lambda's batch size and how many invocations run at once (different message groups). */
  batchSize: number;
  concurrency: 1 | 2;
  tokenStored: boolean;
  /** Businesses (bit b: business #b) that start with their own token (TOKEN_SECRET_PREFIX + WABA id), valid at Meta. */
  ownTokens: number;
}

/**
 * Something Meta decides or sees, that its webhooks report as one change (with the model clock's time, in whole
 * seconds, as `entry[].time`). `n` is a number index, `b` a business index (both taken modulo the count).
 */
export type MetaFact =
  | { kind: 'name'; n: number; decision: 'APPROVED' | 'REJECTED' | 'DEFERRED' | 'PENDING' | 'UNHEARD_OF' }
  /** PIN_CHANGED: someone changed the PIN in WhatsApp Manager (the simulator's PIN changes). PIN_RESET_REQUEST changes nothing yet. */
  | { kind: 'security'; n: number; event: 'PIN_CHANGED' | 'PIN_RESET_REQUEST' }
  | { kind: 'account'; b: number; update: AccountUpdate };

/** account_update kinds: restrict, disable and delete restrict; lift and reinstate lift; the others only inform. */
export type AccountUpdate = 'restrict' | 'lift' | 'disable' | 'reinstate' | 'delete' | 'schedule_disable' | 'violation';

/** How a webhook POST is signed: validly, or in one of the ways the receiver must refuse (401, nothing changed). */
export type Signature = 'valid' | 'wrong_secret' | 'malformed' | 'missing' | 'tampered';

/** `n` is a number index, taken modulo the number count (so shrinking the setup keeps steps valid). */
export type Step =
  /** `withBusiness`: the job names its number's business account (else the worker learns it from the ledger, or not). */
  | { kind: 'enqueue'; n: number; action: JobAction; reason: JobReason; region?: string; key: number; runAfter: boolean; withBusiness?: boolean }
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
  /** Meta revokes business #b's own token (the one stored now). */
  | { kind: 'revoke_business_token'; b: number }
  /** The operator stores a new version of business #b's own token (valid at Meta, or not). */
  | { kind: 'store_business_token'; b: number; valid: boolean }
  /**
   * `wa-registrar pin rotate`: Secrets Manager's rotation steps for the number's PIN secret (resuming an unfinished
   * rotation with its own token). `crashAt`: the rotation dies before its `crashAt`th call of the vault, the ledger or
   * Graph (never resumed unless a later step rotates again). `setFault`: Meta's answer to setSecret's POST. `echo`: when
   * Meta's PIN changed, Meta's PIN_CHANGED webhook for it arrives now (and is resolved) or waits for the resolver.
   */
  | { kind: 'rotate_pin'; n: number; crashAt?: number; setFault?: SimulatedFault; echo: 'now' | 'later' }
  /** `wa-registrar verify request <id>`: Meta sends a code by SMS. */
  | { kind: 'verify_request'; n: number }
  /**
   * `wa-registrar verify confirm <id> <code>` with the code Meta sent (or a wrong one), after `verify request` when
   * `requestFirst`; then (`redrive`) the redrive of the number's needs_verification dead letters.
   */
  | { kind: 'verify_confirm'; n: number; requestFirst: boolean; code: 'right' | 'wrong'; redrive: boolean }
  | { kind: 'store_pin'; n: number; value: 'correct' | 'wrong' | 'malformed' | 'delete' }
  /** `wa-registrar hold clear <id> [--force]`, or `hold clear --token`. */
  | { kind: 'hold_clear'; n: number; force: boolean }
  | { kind: 'hold_clear_token' }
  /** The `nth` call of a port from now fails; or, with `afterAnswer` (a RegExp source), its first call after such a Graph answer. */
  | { kind: 'infra_fault'; port: 'ledger' | 'secrets' | 'deadLetters' | 'jobQueue'; nth: number; effect: 'error' | 'crash'; when: 'before' | 'after'; afterAnswer?: string }
  | { kind: 'clock'; ms: number }
  /**
   * Meta decided or saw something `ageMinutes` ago (its event time; the webhook is late, so a change can arrive after a
   * newer one); its webhook arrives `copies` times now (0: later, by a `webhook` step; copies after
   * the first are serialised with their keys in another order). `publishFails`: the first publish fails (500, Meta
   * redelivers). `olderBy` (minutes): Meta also made an earlier change about the same number or business (another
   * approval, another PIN event, the opposite account update) that much before this one, and its late webhook arrives
   * right after this one's. `resolve`: the resolver then takes every waiting event (`twice`: the first of them is
   * delivered twice, as a standard queue may), or not yet (`later`: they wait, to be reordered).
   */
  | { kind: 'meta'; fact: MetaFact; ageMinutes: number; olderBy?: number; copies: number; publishFails: boolean; resolve: 'now' | 'twice' | 'later' }
  /** Meta (re)delivers earlier changes (`picks` index the changes so far, one body), `copies` times, signed as `signature`. */
  | { kind: 'webhook'; picks: number[]; copies: number; signature: Signature; resolve: boolean }
  /** The resolver's queue delivers what waits: in order or reversed, and with one event delivered twice (at least once). */
  | { kind: 'resolve_events'; order: 'fifo' | 'reverse'; duplicate: boolean };

export interface Program {
  setup: Setup;
  steps: Step[];
}

/** The phone number ids of a setup's numbers: 101, 102, … */
export const numberIds = (setup: Setup): string[] => setup.numbers.map((_, index) => `10${index + 1}`);

/** The model's business accounts (WABA ids); the first is the one the throttle faults' usage header names. */
export const BUSINESS_IDS = ['102290129340398', '102290129340399'] as const;

/** The business account of a number index. */
export const businessOf = (setup: Setup, index: number): string => BUSINESS_IDS[index % setup.businesses]!;

/** A number's display number as Meta's webhooks write it (digits); the simulator lists it formatted. */
export const displayDigitsOf = (index: number): string => `1555010010${index + 1}`;

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
              [BUSINESS_IDS[0]]: [{ type: 'whatsapp_business_management', call_count: 100, total_cputime: 4, total_time: 6, estimated_time_to_regain_access: regainMinutes }],
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
  withBusiness: fc.oneof({ weight: 2, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
}).map((step): Step => {
  // A region is part of register and set_localization jobs only; deregister jobs with one are invalid.
  const { region, ...rest } = step;
  return step.action === 'deregister' || region === undefined ? rest : { ...rest, region };
});

const metaFactArb: fc.Arbitrary<MetaFact> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('name' as const),
      n,
      decision: fc.oneof(
        { weight: 4, arbitrary: fc.constant<'APPROVED'>('APPROVED') },
        { weight: 1, arbitrary: fc.constantFrom<'REJECTED' | 'DEFERRED' | 'PENDING' | 'UNHEARD_OF'>('REJECTED', 'DEFERRED', 'PENDING', 'UNHEARD_OF') },
      ),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('security' as const), n, event: fc.constantFrom<'PIN_CHANGED' | 'PIN_RESET_REQUEST'>('PIN_CHANGED', 'PIN_CHANGED', 'PIN_RESET_REQUEST') }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('account' as const),
      b: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) }),
      update: fc.constantFrom<AccountUpdate>('restrict', 'restrict', 'restrict', 'lift', 'lift', 'lift', 'disable', 'reinstate', 'delete', 'schedule_disable', 'violation'),
    }),
  },
);

const metaArb = fc.record({
  kind: fc.constant('meta' as const),
  fact: metaFactArb,
  ageMinutes: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(1, 10, 90, 26 * 60) }),
  copies: fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.integer({ min: 2, max: 3 }) }, { weight: 2, arbitrary: fc.constant(0) }),
  olderBy: fc.option(fc.constantFrom(0, 1, 30, 25 * 60), { nil: undefined, freq: 2 }),
  publishFails: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  resolve: fc.constantFrom<'now' | 'twice' | 'later'>('now', 'now', 'twice', 'later', 'later'),
}).map((step): Step => {
  const { olderBy, ...rest } = step;
  return olderBy === undefined ? rest : { ...rest, olderBy };
});

const webhookArb = fc.record({
  kind: fc.constant('webhook' as const),
  picks: fc.array(fc.nat(7), { minLength: 1, maxLength: 2 }),
  copies: fc.integer({ min: 1, max: 2 }),
  signature: fc.oneof(
    { weight: 3, arbitrary: fc.constant<Signature>('valid') },
    { weight: 2, arbitrary: fc.constantFrom<Signature>('wrong_secret', 'malformed', 'missing', 'tampered') },
  ),
  resolve: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
});

/** Meta's answers to a rotation's setSecret: unknown outcomes (retry, pending stays) and refusals (rollback). */
const setFaultArb: fc.Arbitrary<SimulatedFault> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom<SimulatedFault>({ type: 'http500' }, { type: 'drop' }, { type: 'apply_then_http500' }, { type: 'hang' }, { type: 'apply_then_hang' }) },
  { weight: 2, arbitrary: fc.constantFrom(133005, 100, 131000, 190).map((code) => graphErrorFault(code)) },
);

const rotateArb = fc.record({
  kind: fc.constant('rotate_pin' as const),
  n,
  crashAt: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.nat(14) }),
  setFault: fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: setFaultArb }),
  echo: fc.constantFrom<'now' | 'later'>('now', 'later'),
}).map((step): Step => {
  const { crashAt, setFault, ...rest } = step;
  return { ...rest, ...(crashAt === undefined ? {} : { crashAt }), ...(setFault === undefined ? {} : { setFault }) };
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
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revoke_business_token' as const), b: fc.nat(1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('store_business_token' as const), b: fc.nat(1), valid: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }) }) },
  { weight: 4, arbitrary: rotateArb },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('verify_request' as const), n }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('verify_confirm' as const),
      n,
      requestFirst: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      code: fc.constantFrom<'right' | 'wrong'>('right', 'right', 'wrong'),
      redrive: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    }),
  },
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
  { weight: 10, arbitrary: metaArb },
  { weight: 3, arbitrary: webhookArb },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('resolve_events' as const), order: fc.constantFrom<'fifo' | 'reverse'>('fifo', 'reverse'), duplicate: fc.boolean() }) },
);

const setupArb: fc.Arbitrary<Setup> = fc.record({
  numbers: fc.array(numberSetupArb, { minLength: 1, maxLength: 4 }),
  businesses: fc.constantFrom<1 | 2>(1, 2),
  batchSize: fc.oneof(fc.constant(10), fc.integer({ min: 1, max: 10 })),
  concurrency: fc.constantFrom<1 | 2>(1, 2),
  tokenStored: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  ownTokens: fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }) }),
});

/** Random programs of 1 to `maxSteps` steps over 1-4 numbers (lengths spread over the whole range). */
export function programArb(options: { maxSteps: number }): fc.Arbitrary<Program> {
  return fc.record({ setup: setupArb, steps: fc.array(stepArb, { minLength: 1, maxLength: options.maxSteps, size: 'max' }) });
}
