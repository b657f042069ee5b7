import { decisionHold, nameApprovalMet, type JobDecision, type JobRecord, type LedgerChanges, type NumberRecord } from '../ledger/port.ts';
import { evaluateBudget, pruneSpent, type LimitedOperation } from './budget.ts';
import {
  REREGISTER_REASONS,
  baseJob,
  changesOf,
  decisionFor,
  goalReached,
  isConnected,
  iso,
  leaseOwnerOf,
  type DecideInput,
} from './job-context.ts';
import { HOUR_MS, MINUTE_MS } from '../clock.ts';
import type { NumberState } from '../graph/port.ts';
import { readFailed } from './read-failures.ts';
import { throttledApp, throttleFor, throttleIsNews } from './throttle.ts';
import { tokenGateOf, withTokenGate } from './token-gates.ts';
import { deadLetter, finished, releaseReservation, type Step } from './steps.ts';

export type { Step } from './steps.ts';

/** How often a register waiting for a PIN rotation looks again. */
const ROTATION_POLL_MS = 5 * MINUTE_MS;
/** A rotation this old is not coming back by itself (Secrets Manager retries a failed step within minutes). */
const ROTATION_STUCK_MS = HOUR_MS;

/**
 * Decides the next step of a job delivery from data alone: the ledger snapshot, the job, the secrets' versions,
 * this delivery's latest state read and the time. Every rule that protects an attempt lives here or in `settle`.
 */
export function decide(input: DecideInput, attemptId: string): Step {
  const { job, snapshot, now, secrets } = input;
  const record = snapshot.job;
  const generation = input.delivery.redriveGeneration;

  // What a state read learned for every job (a refused token, a throttle) is written before anything else.
  const gate = appGateFromRead(input);
  if (gate) return gate;

  if (record?.jobHash !== undefined && record.jobHash !== input.jobHash) {
    const detail = `Key "${input.jobKey}" first ran as a different job; this one (${job.action} ${job.phoneNumberId}) was not run.`;
    return { kind: 'dead_letter', decision: decisionFor('key_conflict', detail), finish: false };
  }
  if (record && record.generation > generation) {
    return { kind: 'duplicate', detail: `a newer redrive (generation ${record.generation}) owns this job; nothing sent` };
  }
  if (record && record.generation === generation && record.status !== 'in_progress') {
    return { kind: 'duplicate', detail: `job already ${record.status.replace('_', '-')}; nothing sent` };
  }
  if (record && record.generation === generation && record.decision) {
    return { kind: 'dead_letter', decision: record.decision, finish: true };
  }
  if (record?.leaseOwner !== undefined && !mayTakeOver(record, input)) {
    return { kind: 'wait', until: record.leaseUntil!, detail: 'another delivery of this job is mid-request; waiting for it' };
  }

  const app = snapshot.app;
  const throttledUntil = throttleFor(app, snapshot.number.businessAccountId ?? job.businessAccountId, now);
  if (throttledUntil !== undefined) return waitForThrottle(input, throttledUntil);
  const accountHold = snapshot.number.accountHold;
  if (accountHold) {
    return deadLetter(input, decisionFor('account_held', `Held since ${iso(accountHold.since)} (${accountHold.detail}); nothing sent.`, { hold: decisionHold(accountHold) }));
  }
  const token = secrets.token;
  if (token.kind !== 'found') return deadLetter(input, decisionFor('missing_token', secretProblem('token', token)));
  let liftTokenGate = false;
  const tokenGate = tokenGateOf(app, token.scope);
  if (tokenGate) {
    if (tokenGate.tokenVersion === token.version) {
      if (!token.fresh) return { kind: 'refresh_secrets', token: true };
      const hold = { cause: 'token_rejected' as const, since: tokenGate.since, code: tokenGate.code, secretVersion: token.version, ...(token.scope ? { businessAccountId: token.scope } : {}) };
      const whose = token.scope ? `The token of business ${token.scope} was refused` : 'Refused';
      return deadLetter(input, decisionFor('token_held', `${whose} with ${tokenGate.code} at ${iso(tokenGate.since)}; nothing sent.`, { hold }));
    }
    liftTokenGate = true;
  }

  let current = baseJob(input);
  const registers = job.action !== 'deregister';
  const { progress } = current;
  // Meta said an earlier deregistration is incomplete: a register-bound job repairs first instead of hearing 133000,
  // unless a read shows the number registered since (the mark is stale, and is dropped with the next write).
  const registeredSince = input.read?.kind === 'state' && isConnected(input.read.state) === true;
  const marked = registers && snapshot.number.incompleteDeregister !== undefined && !registeredSince;
  if (marked && !progress.deregisterDone && !progress.repairTried) {
    current = { ...current, progress: { ...progress, repairTried: true, repairPending: true } };
  }
  const operation = nextOperation(input, current);
  const pin = secrets.pin;
  if (registers && pin?.kind === 'missing' && job.pinPolicy === 'provision-if-missing') return provisionOrNot(input);
  if (registers && pin?.kind !== 'found') return deadLetter(input, decisionFor('missing_pin', secretProblem(`PIN for ${job.phoneNumberId}`, pin ?? { kind: 'missing' })));
  const backup = secrets.backup;
  if (job.action === 'migrate' && backup?.kind !== 'found') {
    return deadLetter(input, decisionFor('missing_backup', secretProblem(`On-Premises backup for ${job.phoneNumberId}`, backup ?? { kind: 'missing' })));
  }

  let number: NumberRecord = snapshot.number;
  // A job that knows the number's business teaches it to the ledger (per-business gates need it).
  if (number.businessAccountId === undefined && job.businessAccountId !== undefined) number = { ...number, businessAccountId: job.businessAccountId };
  if (registeredSince && number.incompleteDeregister) {
    const { incompleteDeregister: _stale, ...rest } = number;
    number = rest;
  }
  // A PIN rotation is under way: Meta may already have the pending PIN. Registers wait for it to finish.
  const rotation = number.pinRotation;
  if (registers && rotation) {
    if (input.now - rotation.since > ROTATION_STUCK_MS) {
      return deadLetter(input, decisionFor('pin_rotation_stuck', `Rotation to version ${rotation.pendingVersion} started ${iso(rotation.since)}; nothing sent.`));
    }
    return { kind: 'wait', until: input.now + ROTATION_POLL_MS, detail: `a PIN rotation started ${iso(rotation.since)} is not finished; nothing sent until it is` };
  }
  if (registers && pin?.kind === 'found') {
    const held = checkPinHold(input, number, pin);
    if (held.step) return held.step;
    number = held.number;
  }

  // An earlier request of this job may have taken effect: read before spending again.
  const last = current.lastAttempt;
  if (last && (last.outcome === 'pending' || last.outcome === 'unknown')) {
    if (!input.read) return { kind: 'read_state', why: `an earlier ${last.operation} has an unknown outcome` };
    if (input.read.kind !== 'state') return readFailed(input, input.read);
    const reached = goalReached(last.operation, input.read.state);
    if (reached === undefined) return readFailed(input, undefined);
    // A re-register of a number that was already connected cannot be confirmed by its state: it is retried.
    const confirmable = !(last.operation === 'register' && current.progress.connectedBefore);
    if (reached && confirmable) return confirmUncertain(input, current, number, last.operation);
  }

  if (registers && number.hold?.cause === 'needs_verification') {
    if (!input.read) return { kind: 'read_state', why: 'the number is held for verification' };
    if (input.read.kind === 'state' && input.read.state.codeVerificationStatus === 'VERIFIED') {
      const { hold: _lifted, ...rest } = number;
      number = rest;
    }
  }

  if (operation === 'register' || (operation === 'deregister' && isSagaDeregister(input, current))) {
    const preflight = preFlight(input, current, number, operation);
    if (preflight) return preflight;
  } else if (operation === 'deregister' && !current.progress.repairPending) {
    // A number that is not registered needs no deregister (and a revoked token shows on the read, not on a request).
    if (!input.read) return { kind: 'read_state', why: 'pre-flight before the deregister' };
    if (input.read.kind !== 'state') return readFailed(input, input.read);
    if (goalReached('deregister', input.read.state) === true) {
      return completeWithoutRequest(input, current, number, `number already deregistered (state ${input.read.state.status}); nothing sent`);
    }
  }

  if (current.uncertain >= input.policy.transientAttempts) {
    return deadLetter(input, decisionFor('transient_budget_spent', `${current.uncertain} request(s) with an unknown or transient outcome; nothing more sent.`));
  }
  const saga = operation === 'deregister' && isSagaDeregister(input, current);
  // A cached secret may have been deleted or replaced since: before taking a number offline, both are read anew.
  if (saga && !(token.fresh && pin?.kind === 'found' && pin.fresh)) return { kind: 'refresh_secrets', token: true, pin: true };
  const needs: LimitedOperation[] = saga ? ['deregister', 'register'] : [operation];
  const verdict = evaluateBudget(number, needs, now, input.policy.budget, input.jobKey);
  if (!verdict.allowed) {
    const blocked = verdict.why === 'blocked';
    const detail = blocked
      ? `Blocked until ${iso(verdict.until)}; nothing sent.`
      : `${verdict.used} of ${input.policy.budget.limit} slots taken; ${needs.join(' + ')} needed; nothing sent.`;
    return deadLetter(input, decisionFor(blocked ? 'number_blocked' : 'budget_full', detail, { eligibleAt: verdict.until, ...(blocked ? { blockedUntil: verdict.until } : {}) }));
  }
  return reserve(input, current, number, operation, needs, attemptId, liftTokenGate);
}

/** A state read refused for the whole app: the gate or throttle to record, unless the ledger already has it. */
function appGateFromRead(input: DecideInput): Step | undefined {
  const { read, snapshot, secrets, now } = input;
  if (read?.kind !== 'failed') return undefined;
  const app = snapshot.app;
  const token = secrets.token;
  const scope = token.kind === 'found' ? token.scope : undefined;
  if (read.meaning === 'token_rejected' && token.kind === 'found' && tokenGateOf(app, scope)?.tokenVersion !== token.version) {
    const gate = { tokenVersion: token.version, since: now, code: read.graphError?.code ?? 190 };
    return { kind: 'write', changes: changesOf(input, { app: withTokenGate(app, scope, gate) }), then: 'continue', detail: 'the token was refused on a state read' };
  }
  if (read.meaning === 'throttled') {
    const until = now + Math.max(read.regainAfterSeconds ?? 0, read.row.minDelaySeconds ?? 900) * 1000;
    // A throttle the header does not place is the token's: a business's own token, or the whole app's.
    const businesses = read.throttledBusinesses ?? (scope ? [scope] : undefined);
    if (throttleIsNews(app, until, businesses)) {
      return { kind: 'write', changes: changesOf(input, { app: throttledApp(app, until, businesses, now) }), then: 'continue', detail: 'the state read was throttled' };
    }
  }
  return undefined;
}

/** Which request comes next, from the job's persisted progress. */
function nextOperation(input: Pick<DecideInput, 'job'>, job: JobRecord): LimitedOperation {
  const { progress } = job;
  if (input.job.action === 'deregister') return 'deregister';
  if (progress.repairPending) return 'deregister';
  if (input.job.action === 'register' || input.job.action === 'migrate') return 'register';
  return progress.deregisterDone || progress.noDeregisterNeeded ? 'register' : 'deregister';
}

/** A deregister that a register must follow: set_localization's, or a register's 133000 repair. */
export function isSagaDeregister(input: Pick<DecideInput, 'job'>, _job?: JobRecord): boolean {
  return input.job.action !== 'deregister';
}

function mayTakeOver(record: JobRecord, input: DecideInput): boolean {
  const me = leaseOwnerOf(input.delivery);
  if (record.leaseOwner === me || (record.leaseUntil ?? 0) <= input.now) return true;
  if (record.generation < input.delivery.redriveGeneration) return true;
  const [messageId, count] = (record.leaseOwner ?? '').split('#');
  return messageId === input.delivery.messageId && Number(count) < input.delivery.receiveCount;
}

function waitForThrottle(input: DecideInput, until: number): Step {
  if (until - input.now <= input.policy.maxWaitMs) return { kind: 'wait', until, detail: `Meta throttles the app until ${iso(until)}; nothing sent until then` };
  return deadLetter(input, decisionFor('throttle_too_long', `Throttled until ${iso(until)}.`, { eligibleAt: until }));
}

/** PIN holds: the cached PIN is re-read when a hold names its version; a new version lifts the hold. */
function checkPinHold(input: DecideInput, number: NumberRecord, pin: { version: string; fresh: boolean; createdAt?: number }): { step?: Step; number: NumberRecord } {
  const hold = number.hold;
  if (hold?.cause === 'pin_locked' && (hold.until ?? 0) > input.now) {
    return { step: deadLetter(input, decisionFor('pin_locked_held', `Locked until ${iso(hold.until!)}; nothing sent.`, { eligibleAt: hold.until!, hold: decisionHold(hold) })), number };
  }
  if (hold?.cause === 'deregister_stuck') {
    return { step: deadLetter(input, decisionFor('deregister_stuck_held', `Held since ${iso(hold.since)}; nothing sent.`, { hold: decisionHold(hold) })), number };
  }
  // A cached PIN older than the last one sent, or than the last one wa-registrar set at Meta (a rotation), is read again.
  const staleCache = [number.lastPinVersion, number.lastPinSet?.version].some((version) => version !== undefined && version !== pin.version);
  if (!pin.fresh && staleCache) return { step: { kind: 'refresh_secrets', pin: true }, number };
  if (hold?.cause === 'pin_changed') {
    // Meta says the PIN changed at `since`: only a PIN version stored after that can be the current one.
    if (pin.createdAt !== undefined && pin.createdAt > hold.since) {
      const { hold: _lifted, ...rest } = number;
      return { number: rest };
    }
    if (!pin.fresh) return { step: { kind: 'refresh_secrets', pin: true }, number };
    const stored = pin.createdAt === undefined ? 'its creation time is unknown' : `it was stored ${iso(pin.createdAt)}`;
    return { step: deadLetter(input, decisionFor('pin_changed_held', `Changed ${iso(hold.since)} (${hold.detail}); the stored PIN version is older (${stored}); nothing sent.`, { hold: decisionHold(hold) })), number };
  }
  const pinHold = hold?.cause === 'pin_rejected' || hold?.cause === 'pin_locked';
  if (!pin.fresh && pinHold && hold.pinVersion === pin.version) return { step: { kind: 'refresh_secrets', pin: true }, number };
  if (!pinHold) return { number };
  // Meta said the PIN changed while this refusal stood: only a version stored after that change can be the PIN.
  const olderThanChange = hold.changedAt !== undefined && !((pin.createdAt ?? 0) > hold.changedAt);
  if (olderThanChange && !pin.fresh) return { step: { kind: 'refresh_secrets', pin: true }, number };
  if (hold.pinVersion === pin.version || olderThanChange) {
    const key = hold.cause === 'pin_locked' ? 'pin_locked_held' : 'pin_held';
    const changed = olderThanChange ? ` The PIN changed at Meta ${iso(hold.changedAt!)}; the stored version is older.` : '';
    return { step: deadLetter(input, decisionFor(key, `Held since ${iso(hold.since)} (${hold.detail}).${changed} Nothing sent.`, { hold: decisionHold(hold) })), number };
  }
  const { hold: _lifted, ...rest } = number;
  return { number: rest };
}

/** Before a register (and before a saga's deregister): the state must say the register can succeed. */
function preFlight(input: DecideInput, current: JobRecord, number: NumberRecord, operation: LimitedOperation): Step | undefined {
  const read = input.read;
  if (!read) return { kind: 'read_state', why: `pre-flight before the ${operation}` };
  if (read.kind !== 'state') return readFailed(input, read);
  const state = read.state;
  const connected = isConnected(state);
  if (connected === undefined || state.codeVerificationStatus === undefined) return readFailed(input, undefined);
  if (state.codeVerificationStatus !== 'VERIFIED') {
    const hold = { cause: 'needs_verification' as const, since: input.now, detail: `verification ${state.codeVerificationStatus}` };
    const decision = decisionFor('not_verified', `Verification is ${state.codeVerificationStatus}; nothing sent.`, { hold: decisionHold(hold) });
    const job = { ...baseJob(input), decision };
    const held = number.hold?.cause === 'needs_verification' ? number : { ...number, hold };
    return { kind: 'dead_letter', decision, finish: true, changes: changesOf(input, { number: held, job }) };
  }
  if (['NONE', 'EXPIRED'].includes((state.nameStatus ?? '').toUpperCase())) {
    return deadLetter(input, decisionFor('name_not_approved', `Name status ${state.nameStatus}; nothing sent.`));
  }
  const { job } = input;
  if (operation === 'deregister') {
    // set_localization on a number that is not registered: nothing to deregister, go straight to the register.
    if (connected || current.progress.repairPending) return undefined;
    const next = { ...current, progress: { ...current.progress, noDeregisterNeeded: true } };
    return { kind: 'write', changes: changesOf(input, { job: next, number }), then: 'continue', detail: 'not registered: no deregister needed' };
  }
  if (job.action === 'migrate') return migrationPreFlight(input, current, number, state);
  if (!connected) return undefined;
  if (job.action === 'set_localization') return deadLetter(input, decisionFor('registered_meanwhile', 'Nothing sent.'));
  if (job.dataLocalizationRegion !== undefined) return deadLetter(input, decisionFor('region_on_registered', `Region ${job.dataLocalizationRegion}; nothing sent.`));
  // A name approval takes effect with one register after it: a second job for the same approval sends nothing.
  if (job.reason === 'name_change' && nameApprovalMet(number)) {
    return completeWithoutRequest(input, current, number, `registered after the name approval of ${iso(number.nameApproval!.approvedAt)}; nothing sent`);
  }
  if (REREGISTER_REASONS.has(job.reason) && !current.progress.deregisterDone) return undefined;
  return completeWithoutRequest(input, current, number, `number already registered on Cloud API (state ${state.status}); nothing sent`);
}

/**
 * A migration registers a number that is on the On-Premises API. Already on Cloud API and connected: done. On Cloud
 * API but not connected, or not on the On-Premises API at all: a backup has nothing to restore, so nothing is sent.
 */
function migrationPreFlight(input: DecideInput, current: JobRecord, number: NumberRecord, state: NumberState): Step | undefined {
  if (state.platformType === 'ON_PREMISE') return undefined;
  if (isConnected(state) === true) return completeWithoutRequest(input, current, number, 'the number is already on Cloud API and connected; nothing sent');
  return deadLetter(input, decisionFor('not_on_premises', `Platform ${state.platformType ?? 'unknown'}, status ${state.status}; nothing sent.`));
}

/**
 * pinPolicy provision-if-missing, for a number with no PIN secret: only when a read shows two-step verification off
 * and the number not registered does the PIN sent at registration become its PIN. Otherwise a new PIN would be
 * refused (133005), so nothing is stored and nothing sent.
 */
function provisionOrNot(input: DecideInput): Step {
  const read = input.read;
  if (!read) return { kind: 'read_state', why: 'a PIN may be provisioned: is two-step verification off?' };
  if (read.kind !== 'state') return readFailed(input, read);
  const state = read.state;
  if (state.isPinEnabled === false && isConnected(state) === false) return { kind: 'provision_pin', why: 'no PIN stored, two-step verification off' };
  const why =
    state.isPinEnabled === undefined || isConnected(state) === undefined
      ? 'the state read did not say whether two-step verification is on'
      : state.isPinEnabled
        ? 'two-step verification is on at Meta, so only the PIN already set there can register the number'
        : 'the number is registered';
  return deadLetter(input, decisionFor('missing_pin', `No PIN is stored and none was provisioned: ${why}; nothing sent.`));
}

/** The earlier request took effect after all: record it, and go on or finish. */
function confirmUncertain(input: DecideInput, current: JobRecord, number: NumberRecord, operation: LimitedOperation): Step {
  const last = current.lastAttempt!;
  const job: JobRecord = { ...current, uncertain: Math.max(0, current.uncertain - 1), lastAttempt: { ...last, outcome: 'success' } };
  const next = { ...number, lastSuccess: { operation, at: last.at } };
  const continues = operation === 'deregister' && isSagaDeregister(input, current);
  // The number is offline by this job's hand: its register gets a transient budget of its own.
  if (continues) Object.assign(job, { uncertain: 0, progress: { ...job.progress, deregisterDone: true, repairPending: false } });
  const detail = `the earlier ${operation} took effect; no second request sent`;
  const attempt = { attemptId: last.attemptId, phoneNumberId: input.job.phoneNumberId, operation, at: last.at, reason: input.job.reason, jobKey: input.jobKey, outcome: 'success' as const };
  const changes = changesOf(input, {
    job: continues ? job : finished(job, 'completed'),
    number: continues ? next : releaseReservation(next, input.jobKey),
    // TTL may have removed an old request's item: never recreate it.
    ...(last.at + input.policy.budget.windowMs > input.now ? { attempt: { update: attempt } } : {}),
  });
  return { kind: 'write', changes, then: continues ? 'continue' : 'complete', detail };
}

function completeWithoutRequest(input: DecideInput, current: JobRecord, number: NumberRecord, detail: string): Step {
  return { kind: 'write', changes: changesOf(input, { job: finished(current, 'completed'), number: releaseReservation(number, input.jobKey) }), then: 'complete', detail };
}

/** The reservation: the attempt, the job's lease, and (for a saga) the register slot, in one transaction. */
function reserve(input: DecideInput, current: JobRecord, number: NumberRecord, operation: LimitedOperation, needs: LimitedOperation[], attemptId: string, liftTokenGate: boolean): Step {
  const { now, policy, job, secrets } = input;
  const pinVersion = operation === 'register' && secrets.pin?.kind === 'found' ? secrets.pin.version : undefined;
  const tokenVersion = secrets.token.kind === 'found' ? secrets.token.version : undefined;
  const reserved = number.reserved.filter((slot) => slot.jobKey !== input.jobKey && slot.until > now);
  // A saga keeps a register slot from its deregister until its register succeeds: a retry of a failed register
  // must never find the slot taken by another job while the number is offline.
  const offline = operation === 'register' && current.progress.deregisterDone === true;
  const roomForRetry = evaluateBudget(number, ['register', 'register'], now, policy.budget, input.jobKey).allowed;
  if (needs.length === 2 || (offline && roomForRetry)) reserved.push({ jobKey: input.jobKey, operation: 'register', at: now, until: now + policy.budget.windowMs });
  const nextNumber: NumberRecord = {
    ...number,
    spent: [...pruneSpent(number.spent, now, policy.budget), { at: now, operation }],
    reserved,
    ...(pinVersion ? { lastPinVersion: pinVersion } : {}),
    // Meta's PIN_CHANGED for the PIN this register sets first is wa-registrar's own doing, not someone else's.
    ...(pinVersion && secrets.provisioned ? { lastPinSet: { at: now, version: pinVersion, by: 'provision' as const } } : {}),
  };
  const connectedBefore = operation === 'register' && input.read?.kind === 'state' && isConnected(input.read.state) === true;
  const nextJob: JobRecord = {
    ...current,
    progress: { ...current.progress, connectedBefore },
    status: 'in_progress',
    jobHash: input.jobHash,
    leaseOwner: leaseOwnerOf(input.delivery),
    leaseUntil: now + policy.leaseMs,
    uncertain: current.uncertain + 1,
    lastAttempt: { attemptId, at: now, operation, outcome: 'pending' },
  };
  const tokenScope = secrets.token.kind === 'found' ? secrets.token.scope : undefined;
  const openApp = withTokenGate(input.snapshot.app, tokenScope, undefined);
  const attempt = {
    create: {
      attemptId, phoneNumberId: job.phoneNumberId, operation, at: now, reason: job.reason, jobKey: input.jobKey, outcome: 'pending' as const,
      ...(pinVersion ? { pinVersion } : {}),
      ...(tokenVersion ? { tokenVersion } : {}),
      ...(tokenScope ? { tokenScope } : {}),
    },
  };
  const changes = changesOf(input, { number: nextNumber, job: nextJob, attempt, ...(liftTokenGate ? { app: openApp } : { checkApp: input.snapshot.app.version }) });
  return { kind: 'send', operation, changes, attemptId };
}

function secretProblem(what: string, lookup: { kind: 'missing' } | { kind: 'malformed'; problem: string }): string {
  return lookup.kind === 'missing' ? `No ${what} is stored; nothing sent.` : `The ${what} secret is unusable: ${lookup.problem}; nothing sent.`;
}

