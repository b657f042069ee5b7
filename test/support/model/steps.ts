import { toJobMessage } from '../../../shared/jobs/enqueue.ts';
import type { JobV1 } from '../../../shared/jobs/job.v1.ts';
import { decideRedrive } from '../../../shared/dead-letters/index.ts';
import { simulatorDigest, type SimulatedFault, type SimulatedReadFault } from '../../../tools/graph-simulator.ts';
import { BUSINESS_IDS, type Step } from './program.ts';
import { deliver, earlierChange, metaChange } from './meta.ts';
import { deadLetterOf, rotatePin, verifyConfirm, verifyRequest } from './operations.ts';
import { clearHold } from './worker-adapter.ts';
import type { World } from './world.ts';

const HOUR = 3_600_000;
/** How long Meta keeps delivering a change. */
const META_REDELIVERY_MS = 7 * 24 * HOUR;

/** Performs one program step on the world; then, unless the step says otherwise, runs the queue until quiet. */
export async function applyStep(world: World, step: Step): Promise<void> {
  const now = world.clock.now();
  const id = 'n' in step ? world.numberId(step.n) : '';
  const number = id ? world.simulator.number(id) : undefined;
  const operator = (kind: 'hold_clear' | 'hold_clear_token' | 'store_pin' | 'store_token', digest?: string, cleared?: 'hold' | 'accountHold') =>
    world.records.operator.push({ seq: world.records.nextSeq(), kind, ...(id ? { phoneNumberId: id } : {}), ...(digest ? { digest } : {}), ...(cleared ? { cleared } : {}) });
  switch (step.kind) {
    case 'enqueue': {
      const job = {
        action: step.action,
        phoneNumberId: id,
        reason: step.reason,
        ...(step.region ? { dataLocalizationRegion: step.region as JobV1['dataLocalizationRegion'] } : {}),
        ...(step.withBusiness ? { businessAccountId: world.businessOfNumber(id) } : {}),
        idempotencyKey: `job-${step.key}`,
      };
      world.sendJob(toJobMessage(job), 'enqueue');
      if (!step.runAfter) return;
      break;
    }
    case 'resend': {
      const message = world.sent[step.pick % Math.max(1, world.sent.length)];
      if (message) world.sendJob(message, 'resend the exact message');
      break;
    }
    case 'redrive':
      redrive(world, step.pick, step.force);
      break;
    case 'graph_faults': {
      const faults = Array.from({ length: step.repeat }, () => step.faults).flat().map((fault) => affordable(world, fault));
      world.simulator.inject(id, ...faults);
      break;
    }
    case 'read_faults':
      world.simulator.injectRead(id, ...step.faults.map((fault) => affordable(world, fault)));
      break;
    case 'verification':
      number!.codeVerificationStatus = step.status;
      break;
    case 'external':
      number!.registered = step.registered;
      world.records.external.push({ seq: world.records.nextSeq(), at: now, phoneNumberId: id, registered: step.registered });
      break;
    case 'incomplete_deregistration':
      number!.deregistrationIncomplete = true;
      number!.stuck133000 = step.stuck;
      break;
    case 'pin_lock':
      number!.pinLockedUntil = now + step.hours * HOUR;
      break;
    case 'new_name_status':
      number!.newNameStatus = step.status;
      break;
    case 'revoke_token': {
      const current = world.secrets.currentToken();
      if (current !== undefined) world.acceptedTokens.delete(current);
      world.simulator.setTokens([...world.acceptedTokens]);
      break;
    }
    case 'store_token': {
      const value = world.newToken(step.valid);
      world.simulator.setTokens([...world.acceptedTokens]);
      world.secrets.storeToken(value);
      operator('store_token', simulatorDigest(value));
      break;
    }
    case 'revoke_business_token': {
      const current = world.secrets.currentToken(businessAt(world, step.b));
      if (current !== undefined) world.acceptedTokens.delete(current);
      world.simulator.setTokens([...world.acceptedTokens]);
      break;
    }
    case 'store_business_token': {
      const value = world.newToken(step.valid);
      world.simulator.setTokens([...world.acceptedTokens]);
      world.secrets.storeToken(value, businessAt(world, step.b));
      operator('store_token', simulatorDigest(value));
      break;
    }
    case 'rotate_pin':
      await rotatePin(world, { ...step, ...(step.setFault ? { setFault: affordable(world, step.setFault) } : {}) });
      break;
    case 'verify_request':
      await verifyRequest(world, id);
      break;
    case 'verify_confirm':
      if (step.requestFirst) await verifyRequest(world, id);
      await verifyConfirm(world, id, step.code, step.redrive);
      break;
    case 'store_pin': {
      // Another PIN stored by hand: Meta's PIN may be none Secrets Manager holds, and that is the operator's doing.
      if (step.value !== 'correct') world.pinWatch.set(id, false);
      if (step.value === 'delete') world.secrets.deletePin(id);
      else if (step.value === 'malformed') world.secrets.storeMalformedPin(id);
      else {
        const value = step.value === 'correct' ? world.correctPin(id) : world.newWrongPin(id);
        world.secrets.storePin(id, value);
        operator('store_pin', simulatorDigest(value));
      }
      break;
    }
    case 'hold_clear': {
      const { result, cleared } = await clearHold(world.ledger, world.config, { phoneNumberId: id, force: step.force }, now);
      if (result !== 'refused') operator('hold_clear', undefined, cleared);
      world.records.note(`  hold clear ${id}${step.force ? ' --force' : ''}: ${result}${cleared ? ` (${cleared})` : ''}`);
      break;
    }
    case 'hold_clear_token': {
      const { result } = await clearHold(world.ledger, world.config, { token: true }, now);
      operator('hold_clear_token');
      world.records.note(`  hold clear --token: ${result}`);
      break;
    }
    case 'infra_fault':
      world.hooks.faults.push({
        port: step.port,
        ...(step.afterAnswer ? { afterAnswer: new RegExp(step.afterAnswer) } : { atCall: world.hooks.callCounts[step.port] + step.nth }),
        effect: step.effect,
        when: step.when,
      });
      break;
    case 'clock':
      world.clock.advance(step.ms);
      break;
    case 'meta': {
      // A PIN changed in WhatsApp Manager is a PIN nobody stored: invariant 11 stops watching the number.
      if (step.fact.kind === 'security' && step.fact.event === 'PIN_CHANGED') world.pinWatch.set(world.numberId(step.fact.n), false);
      const change = metaChange(world, step.fact, step.ageMinutes * 60_000);
      world.records.note(`  at Meta: ${change.field} ${change.changeId.slice(0, 8)} (time ${world.time(change.eventAt)})`);
      // The earlier change is made after this one only in the model: at Meta it happened first (it changes nothing now).
      const older = step.olderBy === undefined ? undefined : earlierChange(world, step.fact, (step.ageMinutes + step.olderBy) * 60_000);
      if (older) world.records.note(`  at Meta, earlier: ${older.field} ${older.changeId.slice(0, 8)} (time ${world.time(older.eventAt)})`);
      if (step.copies > 0 && step.publishFails) world.events.failNextPublish();
      if (step.copies > 0) await deliver(world, [change], step.copies, 'valid');
      if (older) await deliver(world, [older], 1, 'valid');
      if (step.resolve !== 'later') await world.events.resolve({ order: 'fifo', duplicate: step.resolve === 'twice' });
      break;
    }
    case 'webhook': {
      // Meta redelivers a change for 7 days at most (the change log keeps its marker for 8).
      const changes = world.records.changes.filter((change) => change.happenedAt > now - META_REDELIVERY_MS);
      const picked = [...new Set(step.picks.map((pick) => changes[pick % Math.max(1, changes.length)]).filter((change) => change !== undefined))];
      if (picked.length === 0) {
        world.records.note('  webhook: Meta has no change from the last 7 days to deliver');
        break;
      }
      await deliver(world, picked, step.copies, step.signature);
      if (step.resolve) await world.events.resolve({ order: 'fifo', duplicate: false });
      break;
    }
    case 'resolve_events':
      await world.events.resolve(step);
      break;
  }
  await world.runUntilQuiet();
}

/** Business #b of the setup (modulo the count). */
const businessAt = (world: World, b: number): string => BUSINESS_IDS[b % world.setup.businesses]!;

/** 'hang' faults cost real time; past the program's allowance they become an HTTP 500 (also an unknown outcome). */
function affordable<F extends SimulatedFault | SimulatedReadFault>(world: World, fault: F): F {
  if (fault.type !== 'hang' && fault.type !== 'apply_then_hang') return fault;
  if (world.hangsLeft > 0) {
    world.hangsLeft -= 1;
    return fault;
  }
  return (fault.type === 'hang' ? { type: 'http500' } : { type: 'apply_then_http500' }) as F;
}

/** `wa-registrar dlq redrive <messageId> [--force]`: the CLI's own decision, then the job with generation + 1. */
function redrive(world: World, pick: number, force: boolean): void {
  const candidates = world.records.deadLetters.filter((letter) => !letter.deduped && !letter.redriven && letter.envelope.job);
  const letter = candidates[pick % Math.max(1, candidates.length)];
  if (!letter) return world.records.note('  redrive: the dead-letter queue is empty');
  const envelope = letter.envelope;
  const decision = decideRedrive(deadLetterOf(letter), { kind: 'ids', ids: [letter.messageId], force }, world.clock.now());
  if (!decision.redrive) return world.records.note(`  redrive ${letter.messageId} refused: ${decision.why}`);
  letter.redriven = true;
  const message = toJobMessage({ ...envelope.job!, idempotencyKey: envelope.jobKey }, { redriveGeneration: envelope.redriveGeneration + 1 });
  world.sendJob(message, `redrive ${letter.messageId}${force ? ' --force' : ''}`);
}
