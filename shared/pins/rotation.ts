import type { Clock } from '../clock.ts';
import type { BudgetPolicy } from '../domain/budget.ts';
import { rowForCode } from '../graph/error-codes.ts';
import type { GraphClient } from '../graph/port.ts';
import type { AttemptLedger, NumberHold, NumberRecord } from '../ledger/port.ts';
import type { SecretLookup } from '../secrets/port.ts';
import { parsePinSecret } from '../secrets/secret-values.ts';
import { generatePin } from './generate-pin.ts';
import { formatPinSecret, phoneNumberIdOfSecret, STAGE } from './pin-secret.ts';
import { clearRotation, markSent, finishRotation, markRotation, updateNumber } from './rotation-ledger.ts';
import { versionWith, type PinSecretInfo, type PinVault } from './vault.ts';

/**
 * Secrets Manager's rotation contract for PIN secrets: four steps, each run on its own (by the rotation Lambda, once
 * per step, or in a row by `wa-registrar pin rotate` where no rotation function is configured), each safe to run again
 * with the same token (the new version's id).
 *
 * 1. createSecret: marks the rotation on the number's ledger item (`pinRotation {since, pendingVersion}`: register
 *    jobs wait from now on), then stores a new random PIN as version `token`, labelled AWSPENDING only.
 * 2. setSecret: `POST /{id} {pin}` with the pending PIN. The only step that talks to Meta; sending the same PIN twice
 *    is harmless, so a retry just sends it again.
 * 3. testSecret: a state read: Meta shows two-step verification on. Nothing checks a PIN without registering, and a
 *    register spends one of the number's 10 attempts per 72 h, so the PIN value itself is not tested.
 * 4. finishSecret: moves AWSCURRENT to version `token`, then writes `lastPinSet {at, version, by: 'rotation'}`, clears
 *    `pinRotation` and lifts a PIN hold (pin_rejected, pin_changed, pin_locked past its `until`).
 *
 * Crash safety: the invariant is that Meta's PIN is always one Secrets Manager holds under a label, and that the
 * ledger says which one to use.
 * - Until setSecret has sent the PIN, Meta has the AWSCURRENT one. A crash in or after createSecret leaves a pending
 *   version nobody has sent and a mark that makes registers wait; the retry (same token) finds the stored value and
 *   goes on. createSecret marks before it stores, so no pending PIN ever exists unmarked.
 * - From the moment setSecret sends, Meta may have either PIN: the old one (AWSCURRENT) or the new one (AWSPENDING).
 *   Both stay stored and labelled. The mark stays until finishSecret, so the worker never registers with AWSCURRENT
 *   while Meta might have the pending one (the worker waits while `pinRotation` is set). A crash, a timeout or an
 *   unknown answer (5xx, 131000) leaves it so: Secrets Manager retries the rotation with the same token (or `pin
 *   rotate` resumes it), setSecret sends the same PIN again, and the rotation finishes on it.
 * - If Meta refuses the PIN for certain (an error whose outcome is `rejected` in the Graph error table: it did not take
 *   effect), setSecret rolls back: AWSPENDING is removed from the new version, then the mark is cleared. The old PIN
 *   stays the truth at Meta and in AWSCURRENT; the step fails so the rotation shows as failed. (A crash between the
 *   two leaves a mark naming a version that is neither pending nor current: the next rotation, or `pin rotate`, clears
 *   it, since such a version was never set at Meta.)
 * - finishSecret moves AWSCURRENT first and clears the mark second: a crash between leaves AWSCURRENT on Meta's PIN and
 *   registers still waiting; the retry finds the token current and only writes the ledger. The other order would let a
 *   worker register with the old PIN after Meta took the new one.
 * - A second rotation never starts over an unfinished one: a version still AWSPENDING (other than AWSCURRENT) makes
 *   createSecret refuse, since moving the label away would lose a PIN Meta may already have.
 * - A register reserved just before the mark may still be on its way to Meta with the old PIN (no register is reserved
 *   after it: the worker's reservation is conditioned on the item it read, which the mark changed). setSecret waits
 *   while the ledger has a register without a definite answer (`pending` or `unknown`) younger than
 *   {@link REGISTER_SETTLE_MS}, so the two cannot cross at Meta.
 */

/** The four steps, in the order Secrets Manager runs them. */
export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/** What Secrets Manager invokes the rotation function with. */
export interface RotationEvent {
  /** The secret's ARN (or name, when `pin rotate` runs the steps itself). */
  SecretId: string;
  /** The id of the version the rotation brings in. */
  ClientRequestToken: string;
  Step: RotationStep;
}

/** What a step did: ids, labels and Meta's answer, never a PIN. */
export interface RotationStepResult {
  step: RotationStep;
  phoneNumberId: string;
  versionId: string;
  outcome: 'created' | 'already_created' | 'set' | 'tested' | 'finished' | 'already_current';
  detail: string;
  /** finishSecret: the hold it lifted. */
  liftedHold?: NumberHold['cause'];
}

/**
 * A step that did not complete; the rotation function throws it so Secrets Manager sees the step fail.
 * - `retry`: nothing is lost and nothing decided; the same step with the same token may run again (later).
 * - `rolled_back`: Meta refused the new PIN; the pending version was dropped and the old PIN stays current.
 * - `refused`: the step must not run (not a PIN secret, another rotation unfinished, a version rolled back ...).
 */
export class PinRotationError extends Error {
  override readonly name = 'PinRotationError';
  readonly kind: 'retry' | 'rolled_back' | 'refused';
  readonly step: RotationStep;
  readonly code: number | undefined;
  readonly fbtraceId: string | undefined;

  constructor(kind: PinRotationError['kind'], step: RotationStep, message: string, graph: { code?: number; fbtraceId?: string } = {}) {
    super(message);
    this.kind = kind;
    this.step = step;
    this.code = graph.code;
    this.fbtraceId = graph.fbtraceId;
  }
}

/** What the steps need. */
export interface RotationDeps {
  vault: PinVault;
  ledger: Pick<AttemptLedger, 'number' | 'commit' | 'history'>;
  graph: Pick<GraphClient, 'setPin' | 'readState'>;
  /** The Graph token (TOKEN_SECRET_ID). */
  accessToken: () => Promise<SecretLookup>;
  clock: Clock;
  pinSecretPrefix: string;
  /** For the ledger item's lifetime only. */
  policy: Pick<BudgetPolicy, 'windowMs' | 'marginMs'>;
  /** The rotation Lambda: Secrets Manager invoked it, so the secret must have rotation turned on (as in AWS's templates). */
  requireRotationEnabled: boolean;
  /** A new PIN, different from `current`; generatePin by default. */
  newPin?: (current: string) => string;
}

/**
 * How long after a register was reserved it may still reach Meta: the worker sends right after reserving and gives up
 * after GRAPH_TIMEOUT_MS (at most 120 s), and Meta may finish a request a little after the caller stopped waiting.
 */
export const REGISTER_SETTLE_MS = 5 * 60_000;

interface StepContext {
  deps: RotationDeps;
  event: RotationEvent;
  secret: PinSecretInfo;
  phoneNumberId: string;
  token: string;
  /** The version labelled AWSCURRENT. */
  current: string;
}

/** Runs one step of the rotation contract. Resolves with what it did, or throws a {@link PinRotationError}. */
export async function runRotationStep(event: RotationEvent, deps: RotationDeps): Promise<RotationStepResult> {
  const step = event.Step;
  if (!(ROTATION_STEPS as readonly string[]).includes(step)) throw new PinRotationError('refused', step, `unknown rotation step ${JSON.stringify(step)}`);
  const secret = await deps.vault.describe(event.SecretId);
  if (!secret) throw new PinRotationError('refused', step, `the secret ${event.SecretId} does not exist`);
  const phoneNumberId = phoneNumberIdOfSecret(deps.pinSecretPrefix, secret.name);
  if (phoneNumberId === undefined) {
    throw new PinRotationError('refused', step, `${secret.name} is not a PIN secret: its name is not PIN_SECRET_PREFIX followed by a phone number id`);
  }
  if (deps.requireRotationEnabled && !secret.rotationEnabled) throw new PinRotationError('refused', step, `rotation is not enabled on ${secret.name}`);
  const current = versionWith(secret, STAGE.current);
  if (current === undefined) throw new PinRotationError('refused', step, `${secret.name} has no AWSCURRENT version`);
  const token = event.ClientRequestToken;
  const context: StepContext = { deps, event, secret, phoneNumberId, token, current };
  const labels = secret.stages[token] ?? [];
  if (labels.includes(STAGE.current)) {
    // Already finished: only finishSecret has work left (its ledger write may not have happened).
    return step === 'finishSecret' ? finishSecret(context) : result(context, 'already_current', `version ${token} is already AWSCURRENT`);
  }
  if (!labels.includes(STAGE.pending) && (step !== 'createSecret' || (await deps.vault.read(secret.arn, token)) !== undefined)) {
    throw new PinRotationError(
      'refused',
      step,
      `version ${token} of ${secret.name} is neither AWSPENDING nor AWSCURRENT: that rotation was rolled back or abandoned; start a new one`,
    );
  }
  switch (step) {
    case 'createSecret':
      return createSecret(context);
    case 'setSecret':
      return setSecret(context);
    case 'testSecret':
      return testSecret(context);
    case 'finishSecret':
      return finishSecret(context);
  }
}

async function createSecret(context: StepContext): Promise<RotationStepResult> {
  const { deps, secret, token } = context;
  const otherPending = Object.entries(secret.stages).find(([version, labels]) => version !== token && labels.includes(STAGE.pending) && !labels.includes(STAGE.current));
  if (otherPending) {
    throw new PinRotationError(
      'refused',
      'createSecret',
      `version ${otherPending[0]} of ${secret.name} is still AWSPENDING: an earlier rotation is not finished (Meta may already have its PIN); resume it with \`wa-registrar pin rotate ${context.phoneNumberId}\``,
    );
  }
  const currentValue = await deps.vault.read(secret.arn);
  const currentPin = currentValue === undefined ? undefined : parsePinSecret(currentValue.value);
  if (currentPin?.kind !== 'found') {
    const why = currentPin === undefined ? 'has no value' : currentPin.problem;
    throw new PinRotationError('refused', 'createSecret', `the current version of ${secret.name} ${why}: fix the stored PIN before rotating it`);
  }
  // Mark first: from here on registers wait, and no pending PIN can exist that the ledger does not name.
  await mark(context, 'createSecret');
  const stored = await deps.vault.read(secret.arn, token);
  if (stored !== undefined) {
    if (parsePinSecret(stored.value).kind !== 'found') throw new PinRotationError('refused', 'createSecret', `pending version ${token} of ${secret.name} holds no valid PIN`);
    return result(context, 'already_created', `version ${token} already holds the pending PIN`);
  }
  const pin = (deps.newPin ?? ((previous: string) => generatePin({ differentFrom: previous })))(currentPin.value);
  await deps.vault.putPending(secret.arn, token, formatPinSecret(pin, currentValue!.value));
  return result(context, 'created', `stored a new PIN as version ${token} (AWSPENDING); AWSCURRENT stays ${context.current} until finishSecret`);
}

async function setSecret(context: StepContext): Promise<RotationStepResult> {
  const { deps, secret, token, phoneNumberId } = context;
  const stored = await deps.vault.read(secret.arn, token);
  const pin = stored === undefined ? undefined : parsePinSecret(stored.value);
  if (pin?.kind !== 'found') throw new PinRotationError('refused', 'setSecret', `pending version ${token} of ${secret.name} holds no valid PIN (createSecret did not finish)`);
  await mark(context, 'setSecret');
  const now = deps.clock.now();
  const unanswered = (await deps.ledger.history(phoneNumberId)).filter(
    (attempt) => attempt.operation === 'register' && (attempt.outcome === 'pending' || attempt.outcome === 'unknown') && attempt.at + REGISTER_SETTLE_MS > now,
  );
  if (unanswered.length > 0) {
    const last = Math.max(...unanswered.map((attempt) => attempt.at));
    throw new PinRotationError(
      'retry',
      'setSecret',
      `a register for number ${phoneNumberId} sent at ${new Date(last).toISOString()} has no answer yet and may still reach Meta with the old PIN; nothing sent, try again after ${new Date(last + REGISTER_SETTLE_MS).toISOString()}`,
    );
  }
  const graphTokenValue = await graphToken(deps, 'setSecret');
  // The first send is recorded before it goes: from then on Meta may have the pending PIN, whatever a later answer says.
  const { report: sentBefore } = await updateNumber(deps, phoneNumberId, (read, at) => ({ number: markSent(read, token, at), report: read.pinRotation?.sentAt }));
  const answer = await deps.graph.setPin(phoneNumberId, pin.value, graphTokenValue);
  if (answer.kind === 'success') return result(context, 'set', `Meta accepted version ${token} as the number's PIN (POST /${phoneNumberId}, HTTP ${answer.httpStatus})`);
  if (answer.kind === 'graph_error' && rowForCode(answer.error.code).outcome === 'rejected' && sentBefore !== undefined) {
    // A refusal of a resend proves nothing about the first send (a 190 says nothing about the PIN at all): no rollback.
    throw new PinRotationError(
      'retry',
      'setSecret',
      `Meta refused the resent PIN with error ${answer.error.code}${metaSays(answer.error)}, but version ${token} was first sent ${new Date(sentBefore).toISOString()} and may have taken effect then; not rolled back: both PINs stay stored and registers wait. Fix the cause (a token, for 190) and run the step again, or find out which PIN Meta has before finishing or cancelling by hand`,
      { code: answer.error.code, ...(answer.error.fbtraceId ? { fbtraceId: answer.error.fbtraceId } : {}) },
    );
  }
  if (answer.kind === 'graph_error' && rowForCode(answer.error.code).outcome === 'rejected') {
    // Meta did not take it: the old PIN stays the truth. Drop the label first, the mark second (see the module's notes).
    await deps.vault.dropPending(secret.arn, token);
    await updateNumber(deps, phoneNumberId, (read) => ({ number: read.pinRotation?.pendingVersion === token ? clearRotation(read) : read, report: undefined }));
    const graph = { code: answer.error.code, ...(answer.error.fbtraceId ? { fbtraceId: answer.error.fbtraceId } : {}) };
    throw new PinRotationError(
      'rolled_back',
      'setSecret',
      `Meta refused the new PIN with error ${answer.error.code}${metaSays(answer.error)}${answer.error.fbtraceId ? ` (fbtrace_id ${answer.error.fbtraceId})` : ''}; rolled back: version ${token} is no longer AWSPENDING, and the PIN of version ${context.current} (AWSCURRENT) stays the number's PIN`,
      graph,
    );
  }
  const why = answer.kind === 'graph_error' ? `error ${answer.error.code}, whose outcome is unknown` : `no answer (${answer.why})`;
  throw new PinRotationError(
    'retry',
    'setSecret',
    `POST /${phoneNumberId} got ${why}: Meta may have the new PIN or the old one, both stay stored and registers wait; run the step again (same token) to send it again`,
    answer.kind === 'graph_error' ? { code: answer.error.code, ...(answer.error.fbtraceId ? { fbtraceId: answer.error.fbtraceId } : {}) } : {},
  );
}

async function testSecret(context: StepContext): Promise<RotationStepResult> {
  const { deps, phoneNumberId } = context;
  const read = await deps.graph.readState(phoneNumberId, await graphToken(deps, 'testSecret'));
  if (read.kind === 'unknown') throw new PinRotationError('retry', 'testSecret', `the state read of number ${phoneNumberId} failed (${read.why}); the rotation stays pending`, read.code === undefined ? {} : { code: read.code });
  if (read.state.isPinEnabled !== true) {
    throw new PinRotationError(
      'retry',
      'testSecret',
      `Meta does not show two-step verification on for number ${phoneNumberId} after the PIN was set (is_pin_enabled ${String(read.state.isPinEnabled)}); the rotation stays pending, registers wait`,
    );
  }
  return result(context, 'tested', 'Meta shows two-step verification on (no Graph call checks a PIN without registering, which would spend an attempt)');
}

async function finishSecret(context: StepContext): Promise<RotationStepResult> {
  const { deps, secret, token, current, phoneNumberId } = context;
  const moved = current !== token;
  // AWSCURRENT first, the ledger second: see the module's notes.
  if (moved) await deps.vault.moveCurrent(secret.arn, token, current);
  const { report: lifted } = await updateNumber(deps, phoneNumberId, (read, now) => {
    const other = read.pinRotation && read.pinRotation.pendingVersion !== token ? read.pinRotation.pendingVersion : undefined;
    if (other !== undefined && (secret.stages[other] ?? []).includes(STAGE.pending)) {
      throw new PinRotationError('refused', 'finishSecret', `the ledger marks another rotation (version ${other}) that is still AWSPENDING`);
    }
    const finished = finishRotation(read, token, now);
    return { number: finished.number === read ? read : finished.number, report: finished.lifted };
  });
  const detail = [
    moved ? `AWSCURRENT moved from ${current} to ${token}` : `version ${token} was already AWSCURRENT`,
    'registers use it from now on',
    lifted ? `lifted the ${lifted.cause} hold` : undefined,
  ].filter(Boolean);
  return { ...result(context, moved ? 'finished' : 'already_current', detail.join('; ')), ...(lifted ? { liftedHold: lifted.cause } : {}) };
}

/**
 * Marks the rotation on the ledger (idempotent). A mark naming another version is settled by what Secrets Manager
 * says of it: still AWSPENDING → refused (that rotation is unfinished); AWSCURRENT → its finish is completed (the crash
 * came between the label move and the ledger write); neither → dropped (it was rolled back, or never stored: never
 * sent to Meta either way).
 */
async function mark(context: StepContext, step: RotationStep): Promise<NumberRecord> {
  const { deps, secret, token, phoneNumberId } = context;
  const { number } = await updateNumber(deps, phoneNumberId, (read, now) => {
    let base = read;
    const other = read.pinRotation && read.pinRotation.pendingVersion !== token ? read.pinRotation.pendingVersion : undefined;
    if (other !== undefined) {
      const labels = secret.stages[other] ?? [];
      if (labels.includes(STAGE.pending) && !labels.includes(STAGE.current)) {
        throw new PinRotationError('refused', step, `the ledger marks an unfinished rotation to version ${other}; resume it with \`wa-registrar pin rotate ${phoneNumberId}\``);
      }
      base = labels.includes(STAGE.current) ? finishRotation(read, other, now).number : clearRotation(read);
    }
    const marked = markRotation(base, token, now);
    return { number: marked === read ? read : marked, report: undefined };
  });
  return number;
}

/** Meta's own words on a refusal (its `details`, else its message), already scrubbed of the PIN and token by the client. */
function metaSays(error: { message?: string; details?: string }): string {
  const text = error.details ?? error.message;
  return text ? `: ${JSON.stringify(text)}` : '';
}

async function graphToken(deps: RotationDeps, step: RotationStep): Promise<string> {
  const lookup = await deps.accessToken();
  if (lookup.kind === 'found') return lookup.value;
  const why = lookup.kind === 'missing' ? 'does not exist' : `is malformed: ${lookup.problem}`;
  throw new PinRotationError('retry', step, `the Graph token secret (TOKEN_SECRET_ID) ${why}; nothing sent`);
}

function result(context: StepContext, outcome: RotationStepResult['outcome'], detail: string): RotationStepResult {
  return { step: context.event.Step, phoneNumberId: context.phoneNumberId, versionId: context.token, outcome, detail };
}
