/**
 * The operator's and Secrets Manager's use cases the model runs besides the worker: a PIN rotation (the real rotation
 * steps, on the model's ledger, the model's Secrets Manager through a PinVault, and the simulator over HTTP), and the
 * OTP verification (`verify request` / `verify confirm`, then the redrive of the number's held jobs through the real
 * redrive use case, on a model dead-letter queue and hold probe).
 */
import { budgetPolicyFromConfig } from '../../../shared/domain/budget.ts';
import { tokenGateOf } from '../../../shared/domain/token-gates.ts';
import type { DeadLetter, HoldFacts, HoldProbe, RedriveDeps } from '../../../shared/dead-letters/index.ts';
import type { DeadLetterQueue } from '../../../shared/dead-letters/port.ts';
import { HttpGraphClient } from '../../../shared/graph/http-graph-client.ts';
import { toJobMessage } from '../../../shared/jobs/enqueue.ts';
import type { NumberRecord } from '../../../shared/ledger/port.ts';
import { rotateInProcess, type RotationDeps } from '../../../shared/pins/index.ts';
import type { SimulatedFault } from '../../../tools/graph-simulator.ts';
import { confirmCode, redriveVerifiedNumber, requestCode, type VerificationDeps } from '../../../bin/ops/verification.ts';
import { API_REQUESTER, deliver, metaChange } from './meta.ts';
import type { DeadLetterRecord, VerificationRecord } from './records.ts';
import { MODEL_PIN_PREFIX } from './secret-store.ts';
import type { World } from './world.ts';

/** The rotation process died (Lambda timed out, the CLI was killed): nothing after it happens. */
class RotationCrashError extends Error {
  override readonly name = 'RotationCrashError';
}

/** The Graph client the rotation and the CLI use (their own, with the model's 100 ms timeout). */
const opsGraph = (world: World) => new HttpGraphClient({ baseUrl: world.simulator.baseUrl, version: 'v25.0', timeoutMs: 100 });

/**
 * `wa-registrar pin rotate <id>` (rotateInProcess: the four steps of Secrets Manager's rotation contract through
 * runRotationStep, resuming an unfinished rotation with its own token). `crashAt`: the process dies before its
 * `crashAt`th call of the vault, the ledger or Graph. `setFault` is Meta's answer to setSecret. When Meta's PIN changed,
 * Meta's PIN_CHANGED webhook for it (an echo of our own set) arrives, and is resolved now or later.
 */
export async function rotatePin(world: World, step: { n: number; crashAt?: number; setFault?: SimulatedFault; echo: 'now' | 'later' }): Promise<void> {
  const id = world.numberId(step.n);
  const metaBefore = world.simulator.number(id)?.pin;
  if (step.setFault) world.simulator.injectLifecycle(id, step.setFault);
  let calls = 0;
  const crashing = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value = Reflect.get(object, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (step.crashAt !== undefined && calls++ === step.crashAt) {
            world.records.note(`    ! the rotation dies before ${String(property)}`);
            throw new RotationCrashError(`crash before ${String(property)}`);
          }
          return Reflect.apply(value, object, args);
        };
      },
    });
  const rotationSecrets = world.secrets.otherContainer();
  const deps: RotationDeps = {
    vault: crashing(world.secrets.pinVault()),
    ledger: crashing(world.ledger),
    graph: crashing(opsGraph(world)),
    accessToken: () => rotationSecrets.accessToken(),
    clock: world.clock,
    pinSecretPrefix: MODEL_PIN_PREFIX,
    policy: budgetPolicyFromConfig(world.config),
    requireRotationEnabled: false,
    newPin: () => world.newRotationPin(id),
  };
  const mark = async () => {
    const marked = (await world.rawNumber(id)).pinRotation !== undefined;
    world.records.rotations.push({ seq: world.records.nextSeq(), phoneNumberId: id, marked });
  };
  try {
    const done = await rotateInProcess(deps, id, {
      newVersionId: () => `rot-${world.records.nextSeq()}`,
      onStep: (result) => {
        world.catalog.scan('a rotation result', result);
        world.records.note(`    rotation ${result.step} ${result.versionId}: ${result.outcome}: ${result.detail}`);
      },
    });
    world.records.note(`    rotation of ${id} to ${done.versionId}${done.resumed ? ' (resumed)' : ''}: done`);
  } catch (error) {
    world.catalog.scan('a rotation error', (error as Error).message);
    world.records.note(`    rotation of ${id} stopped: ${(error as Error).name}: ${(error as Error).message}`);
  }
  await mark();
  if (world.simulator.number(id)?.pin === metaBefore) return;
  // Meta tells of every PIN change, its own included: a webhook wa-registrar must know as its own.
  const echo = metaChange(world, { kind: 'security', n: step.n, event: 'PIN_CHANGED' }, 0, false, API_REQUESTER);
  echo.echo = true;
  world.records.note(`  at Meta: security ${echo.changeId.slice(0, 8)} (the echo of the rotation's PIN set, time ${world.time(echo.eventAt)})`);
  await deliver(world, [echo], 1, 'valid');
  if (step.echo === 'now') await world.events.resolve({ order: 'fifo', duplicate: false });
}

/** The CLI's verification deps: the default token (TOKEN_SECRET_ID's current value), the ledger, the simulator. */
function verificationDeps(world: World, token: string): VerificationDeps {
  return {
    ledger: world.ledger,
    graph: opsGraph(world),
    token,
    now: world.clock.now(),
    policy: budgetPolicyFromConfig(world.config),
    changeId: () => world.records.nextSeq().toString(16).padStart(64, '0'),
  };
}

/** `wa-registrar verify request <id> --method SMS`. */
export async function verifyRequest(world: World, id: string): Promise<void> {
  const token = world.secrets.currentToken();
  if (token === undefined) return world.records.note('  verify request: no token stored, the CLI stops');
  const result = await requestCode(verificationDeps(world, token), { phoneNumberId: id, method: 'SMS', language: 'en_US' });
  world.catalog.scan('a verification result', result);
  world.records.note(`  verify request ${id}: ${result.ok ? 'code sent' : `failed: ${result.failure.sentence}`}`);
}

const holdsOf = (number: NumberRecord): VerificationRecord['before'] => ({
  ...(number.hold ? { hold: number.hold.cause } : {}),
  ...(number.accountHold ? { accountHold: number.accountHold.cause } : {}),
});

/** `wa-registrar verify confirm <id> <code>` (the code Meta sent, or another), then the redrive of its held jobs. */
export async function verifyConfirm(world: World, id: string, which: 'right' | 'wrong', redrive: boolean): Promise<void> {
  const token = world.secrets.currentToken();
  if (token === undefined) return world.records.note('  verify confirm: no token stored, the CLI stops');
  const sent = world.simulator.verificationCode(id);
  // A wrong code in the model's secret shape (a leading 0, so the scan can tell it from times and ids).
  const wrong = `0${String(70_000 + world.records.verifications.length * 191).slice(-5)}`;
  const code = which === 'right' && sent !== undefined ? sent : wrong === sent ? '099999' : wrong;
  world.catalog.addPin(code, `verification code for ${id}`);
  const before = holdsOf(await world.rawNumber(id));
  let ok = false;
  try {
    const result = await confirmCode(verificationDeps(world, token), { phoneNumberId: id, code });
    world.catalog.scan('a verification result', result);
    ok = result.ok;
    world.records.note(`  verify confirm ${id} (${which} code): ${result.ok ? `confirmed via ${result.via}${result.liftedHold ? ', hold lifted' : ''}` : `failed: ${result.failure.sentence}`}`);
  } catch (error) {
    world.catalog.scan('a verification error', (error as Error).message);
    world.records.note(`  verify confirm ${id}: threw ${(error as Error).name}: ${(error as Error).message}`);
  }
  world.records.verifications.push({ seq: world.records.nextSeq(), phoneNumberId: id, ok, before, after: holdsOf(await world.rawNumber(id)) });
  if (!redrive) return;
  const report = await redriveVerifiedNumber(redriveDeps(world), id);
  world.records.note(`  redrive of ${id}'s needs_verification dead letters: ${report.redriven.length} sent back, ${report.skipped.length} skipped${report.skipped.map((skip) => ` (${skip.why})`).join('')}`);
}

/** A dead letter as the DLQ use cases read it. */
export function deadLetterOf(letter: DeadLetterRecord): DeadLetter {
  const envelope = letter.envelope;
  return {
    messageId: letter.messageId,
    receiptHandle: letter.messageId,
    category: envelope.category,
    ...(envelope.job?.phoneNumberId ? { phoneNumberId: envelope.job.phoneNumberId } : {}),
    ...(envelope.job?.action ? { action: envelope.job.action } : {}),
    deadLetteredAt: letter.at,
    ...(envelope.eligibleAt ? { eligibleAt: Date.parse(envelope.eligibleAt) } : {}),
    ...(envelope.job ? { job: envelope.job } : {}),
    jobKey: envelope.jobKey,
    redriveGeneration: envelope.redriveGeneration,
    envelope,
  };
}

/** The redrive's ports on the model: its dead letters, the job queue, and a hold probe over the ledger and secrets. */
function redriveDeps(world: World): RedriveDeps {
  const live = () => world.records.deadLetters.filter((letter) => !letter.deduped && !letter.redriven);
  const deadLetters: DeadLetterQueue = {
    scan: async () => ({ messages: live().map(deadLetterOf), truncated: false, release: async () => [] }),
    count: async () => ({ visible: live().length, inFlight: 0 }),
    delete: async (message) => {
      const letter = world.records.deadLetters.find((candidate) => candidate.messageId === message.messageId);
      if (letter) letter.redriven = true;
    },
  };
  const holds: HoldProbe = {
    async facts(hold): Promise<HoldFacts> {
      if (hold.cause === 'token_rejected') {
        const version = world.secrets.currentTokenVersion(hold.businessAccountId);
        const gate = tokenGateOf(await world.ledger.appGates(), hold.businessAccountId);
        return { ...(gate ? { tokenGate: gate } : {}), ...(version ? { secretVersion: version } : { secretProblem: 'the secret does not exist' }) };
      }
      const number = await world.ledger.number(hold.phoneNumberId);
      const held = { ...(number.hold ? { numberHold: number.hold } : {}), ...(number.accountHold ? { accountHold: number.accountHold } : {}) };
      if (hold.cause === 'needs_verification' || hold.cause === 'account_restricted') return held;
      const pin = world.secrets.currentPinVersion(hold.phoneNumberId);
      if (!pin) return { ...held, secretProblem: 'the secret does not exist' };
      return { ...held, secretVersion: pin.version, ...(pin.createdAt === undefined ? {} : { secretCreatedAt: pin.createdAt }) };
    },
  };
  return {
    deadLetters,
    jobs: {
      send: async (job, jobKey, generation) => {
        world.sendJob(toJobMessage({ ...job, idempotencyKey: jobKey }, { redriveGeneration: generation }), `redrive (eligible) of ${jobKey}`);
        return { messageId: `redrive-${jobKey}-g${generation}` };
      },
    },
    clock: world.clock,
    holds,
  };
}
