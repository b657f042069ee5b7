import { simulatorDigest } from '../../../tools/graph-simulator.ts';
import { jobId, type GraphEvent, type MetaChange, type OperatorEvent, type ResolvedEvent } from './records.ts';
import { businessOf } from './program.ts';
import { ledgerSaysEnded } from './worker-adapter.ts';
import type { World } from './world.ts';

const LIMIT = 10;
/**
 * An answer the worker never had: a crash took it away before any ledger write (`lost`), or its client had timed out.
 * Invariants that say "the worker knew" leave these out, and only these.
 */
const unknownToWorker = (event: GraphEvent) => event.lost || event.timedOut === true;
const BLOCK_MS = 72 * 3_600_000;
/** Meta's 72-hour window plus the worker's 15-minute margin (WINDOW_MARGIN_MINUTES). */
const WINDOW_MS = 72 * 3_600_000 + 15 * 60_000;
/** How close to wa-registrar's own PIN set a PIN_CHANGED is taken as its echo (shared/events/resolve.ts). */
const OWN_SET_SLACK_MS = 5 * 60_000;
const PIN_REFUSAL = /^error (133005|133008|133009)$/;
const TOKEN_REFUSAL = /^error (190|0)$/;
/** Dead-letter categories that say why a saga's register could not be sent (invariant 4). */
const REGISTER_IMPOSSIBLE = new Set(['rate_limited', 'missing_secret', 'needs_verification', 'pin_rejected', 'pin_locked', 'token_rejected']);

/** The invariants that must hold after every step. */
export async function checkStep(world: World): Promise<string[]> {
  const ended = await endedJobs(world);
  return [
    ...world.records.runtimeViolations,
    ...attemptWindow(world),
    ...refusedSecrets(world),
    ...preFlight(world),
    ...jobEnds(world, ended),
    ...webhookDeliveries(world),
    ...approvals(world),
    ...pinChanges(world),
    ...accountRestrictions(world),
    ...(await pinRotations(world)),
    ...verifications(world),
    ...businessTokens(world),
  ];
}

/** After the drain: everything above, plus sagas and "every job ended", plus a last scan of the ledger. */
export async function checkEnd(world: World): Promise<string[]> {
  await scanLedger(world);
  const ended = await endedJobs(world);
  return [...(await checkStep(world)), ...sagas(world), ...everyJobEnded(world, ended), ...approvalsMet(world)];
}

/**
 * 1. Per number, at most 10 register+deregister requests in any 72 h + 15 min window (so Meta never has reason for a
 * 133016), and none within 72 h after a 133016 (however it came: a blocked number is never retried).
 */
function attemptWindow(world: World): string[] {
  const found: string[] = [];
  const lost = new Set(world.records.graph.filter((event) => unknownToWorker(event) && event.simIndex !== undefined).map((event) => event.simIndex!));
  for (const id of world.numbers) {
    const calls = world.simulator.calls.filter((call) => call.phoneNumberId === id && (call.operation === 'register' || call.operation === 'deregister'));
    let start = 0;
    for (let end = 0; end < calls.length; end++) {
      while (calls[start]!.at <= calls[end]!.at - WINDOW_MS) start++;
      if (end - start + 1 > LIMIT) {
        found.push(`invariant 1 (≤ ${LIMIT} requests per 72 h + 15 min): number ${id} got its ${end - start + 1}th request of the window at ${world.time(calls[end]!.at)} (window opened ${world.time(calls[start]!.at)})`);
        break;
      }
    }
    for (const [index, blocked] of calls.entries()) {
      // As in invariant 2: a 133016 a crash took away before any ledger write could not be known.
      if (blocked.answeredWith !== 'error 133016' || lost.has(world.simulator.calls.indexOf(blocked))) continue;
      const retry = calls.slice(index + 1).find((later) => later.at < blocked.at + BLOCK_MS);
      if (!retry) continue;
      found.push(`invariant 1 (133016 never retried): number ${id} was answered 133016 at ${world.time(blocked.at)}, then got a ${retry.operation} at ${world.time(retry.at)}`);
      break;
    }
  }
  return found;
}

/**
 * 2. No request repeats a definite refusal: after 133005/133008/133009 for a PIN, no register of that number with that
 * PIN; after 190/0 for a token (on a request or a state read), no register or deregister with that token. Only requests started after the worker had the refusal
 * count (concurrent requests of other groups were already on their way). Lifted by an operator: `hold clear` for the
 * number's PINs, `hold clear --token` for tokens, or storing that same value again (a new version) for that value.
 * A crash injected after the answer arrived and before any ledger write for the number may lose the answer, and an
 * answer that came after the client's timeout never reached the worker: such answers are excluded, and only those.
 */
function refusedSecrets(world: World): string[] {
  type Point = { seq: number; start?: GraphEvent; end?: GraphEvent; operator?: OperatorEvent };
  const points: Point[] = [
    ...world.records.graph.filter((event) => event.simIndex !== undefined).flatMap((event) => [
      { seq: event.startSeq, start: event },
      ...(event.endSeq === undefined ? [] : [{ seq: event.endSeq, end: event }]),
    ]),
    ...world.records.operator.map((operator) => ({ seq: operator.seq, operator })),
  ].sort((a, b) => a.seq - b.seq);
  const pins = new Map<string, Map<string, GraphEvent>>();
  const tokens = new Map<string, GraphEvent>();
  const found: string[] = [];
  const label = (digest: string | undefined) => world.catalog.label(digest);
  const describe = (event: GraphEvent) => `${event.operation} at ${world.time(event.before.now)} by ${event.delivery?.jobKey ?? '?'} g${event.delivery?.generation ?? '?'}`;
  for (const { start, end, operator } of points) {
    if (start) {
      const pinRefusal = start.operation === 'register' && start.pinDigest ? pins.get(start.phoneNumberId)?.get(start.pinDigest) : undefined;
      if (pinRefusal) found.push(`invariant 2 (refused PIN not sent again): ${start.phoneNumberId}: ${describe(start)} sent ${label(start.pinDigest)}, refused with ${pinRefusal.answeredWith} (${describe(pinRefusal)})`);
      // Requests only: a state read costs no attempt, and one racing another group's fresh refusal is harmless.
      const tokenRefusal = start.operation !== 'read_state' && start.tokenDigest ? tokens.get(start.tokenDigest) : undefined;
      if (tokenRefusal) found.push(`invariant 2 (refused token not sent again): ${start.phoneNumberId}: ${describe(start)} used ${label(start.tokenDigest)}, refused with ${tokenRefusal.answeredWith} (${tokenRefusal.phoneNumberId}, ${describe(tokenRefusal)})`);
    }
    if (end && !unknownToWorker(end)) {
      if (end.operation === 'register' && end.pinDigest && PIN_REFUSAL.test(end.answeredWith ?? '')) {
        pins.set(end.phoneNumberId, (pins.get(end.phoneNumberId) ?? new Map()).set(end.pinDigest, end));
      }
      if (end.tokenDigest && TOKEN_REFUSAL.test(end.answeredWith ?? '')) tokens.set(end.tokenDigest, end);
    }
    // `hold clear` removes the account hold first; only a clear of the number's own hold lifts a PIN refusal.
    if (operator?.kind === 'hold_clear' && operator.cleared !== 'accountHold') pins.get(operator.phoneNumberId!)?.clear();
    if (operator?.kind === 'hold_clear_token') tokens.clear();
    if (operator?.kind === 'store_pin') pins.get(operator.phoneNumberId!)?.delete(operator.digest!);
    if (operator?.kind === 'store_token') tokens.delete(operator.digest!);
  }
  return found;
}

/**
 * 3. No register a pre-flight read could have shown cannot succeed: none while the number's verification is not
 * VERIFIED, and none with a PIN that already met this PIN lock (133008/133009) unless an operator cleared the
 * hold since (`hold clear --force` before the lock's end is the operator's own decision to try again).
 */
function preFlight(world: World): string[] {
  const found: string[] = [];
  const triedDuringLock = new Map<string, number>();
  const cleared = world.records.operator.filter((operator) => operator.kind === 'hold_clear');
  const clearedSince = (id: string, seq: number, now: number) => cleared.some((operator) => operator.phoneNumberId === id && operator.seq > seq && operator.seq < now);
  for (const event of world.records.graph) {
    if (event.operation !== 'register' || event.simIndex === undefined) continue;
    const { verification, pinLockedUntil, now } = event.before;
    if (verification !== undefined && verification !== 'VERIFIED') {
      found.push(`invariant 3 (pre-flight): register of ${event.phoneNumberId} at ${world.time(now)} by ${event.delivery?.jobKey ?? '?'} while its verification was ${verification}`);
    }
    if (pinLockedUntil !== undefined && pinLockedUntil > now) {
      const key = `${event.phoneNumberId}|${pinLockedUntil}|${event.pinDigest}`;
      const firstTry = triedDuringLock.get(key);
      if (firstTry !== undefined && !clearedSince(event.phoneNumberId, firstTry, event.startSeq)) {
        found.push(`invariant 3 (PIN lock): register of ${event.phoneNumberId} at ${world.time(now)} with ${world.catalog.label(event.pinDigest)} again while PIN checks are locked until ${world.time(pinLockedUntil)}`);
      }
      // The lock is found by its answer (a scripted fault may answer first); a crash may lose it, as in invariant 2.
      if (!unknownToWorker(event) && /^error 13300[89]$/.test(event.answeredWith ?? '')) triedDuringLock.set(key, event.endSeq ?? event.startSeq);
    }
  }
  return found;
}

/**
 * Job identity → how it ended. When a key was reused for other content, the job is the content the worker ran
 * first (its first register/deregister, or its completion); dead-lettering the other content is a refusal, not an end. A job
 * may be dead-lettered again with the same category (the envelope re-sent after a crash, past the DLQ's 5-minute
 * deduplication); any other second end means it ran twice or ended two ways.
 */
function ends(world: World): { first: Map<string, { status: string; category?: string }>; twice: string[] } {
  const ran = new Map<string, string>();
  const events = [
    ...world.records.graph.filter((event) => event.operation !== 'read_state').map((event) => ({ seq: event.startSeq, delivery: event.delivery })),
    ...world.records.outcomes.filter(({ outcome }) => outcome.status === 'completed').map(({ seq, delivery }) => ({ seq, delivery })),
  ].sort((a, b) => a.seq - b.seq);
  for (const { delivery } of events) {
    if (delivery && !ran.has(jobId(delivery.jobKey, delivery.generation))) ran.set(jobId(delivery.jobKey, delivery.generation), delivery.body);
  }
  const first = new Map<string, { status: string; category?: string }>();
  const twice: string[] = [];
  for (const { outcome, delivery } of world.records.outcomes) {
    if (!delivery || (outcome.status !== 'completed' && outcome.status !== 'dead_lettered')) continue;
    const id = jobId(delivery.jobKey, delivery.generation);
    const canonical = ran.get(id) ?? delivery.body;
    if (!ran.has(id)) ran.set(id, canonical);
    if (delivery.body !== canonical) {
      if (outcome.status === 'completed') twice.push(`invariant 5 (ends exactly once): job ${id} ran, and other content under the same key completed too`);
      continue;
    }
    const earlier = first.get(id);
    if (!earlier) first.set(id, { status: outcome.status, ...(outcome.category ? { category: outcome.category } : {}) });
    else if (!(earlier.status === 'dead_lettered' && outcome.status === 'dead_lettered' && earlier.category === outcome.category)) {
      twice.push(`invariant 5 (ends exactly once): job ${id} ended ${earlier.status}${earlier.category ? ` (${earlier.category})` : ''}, then again ${outcome.status}${outcome.category ? ` (${outcome.category})` : ''}`);
    }
  }
  return { first, twice };
}

/**
 * Jobs that ended: by an outcome, or (when the ending delivery failed after its last write, so a later delivery
 * only said "duplicate") by the ledger's job record.
 */
async function endedJobs(world: World): Promise<Set<string>> {
  const ended = new Set(ends(world).first.keys());
  for (const [id, job] of world.records.enqueued) {
    if (!ended.has(id) && (await ledgerSaysEnded(world.ledger, job.phoneNumberId, job.jobKey, job.generation))) ended.add(id);
  }
  return ended;
}

/** 5 (while running). No job ends twice, a dead-lettered job has its envelope, SQS never moves a job that has not ended. */
function jobEnds(world: World, ended: Set<string>): string[] {
  const { first, twice } = ends(world);
  const found = [...twice];
  for (const [id, end] of first) {
    const hasEnvelope = world.records.deadLetters.some((letter) => jobId(letter.envelope.jobKey, letter.envelope.redriveGeneration) === id);
    if (end.status === 'dead_lettered' && !hasEnvelope) found.push(`invariant 5: job ${id} reported dead-lettered, but no envelope reached the dead-letter queue`);
  }
  for (const message of world.queue.moved) {
    const job = JSON.parse(message.body) as { idempotencyKey: string };
    const generation = Number(message.attributes.waRegistrarRedriveGeneration?.stringValue ?? 0);
    if (!ended.has(jobId(job.idempotencyKey, generation))) {
      found.push(`invariant 5 (no SQS redrive): message ${message.messageId} (job ${jobId(job.idempotencyKey, generation)}) was moved by SQS after ${message.receiveCount} receives, with no decision by the worker`);
    }
  }
  return found;
}

/** 5 (at the end). Every job put on the queue ended, and nothing is left on it. */
function everyJobEnded(world: World, ended: Set<string>): string[] {
  const found = [...world.records.enqueued.keys()].filter((id) => !ended.has(id)).map((id) => `invariant 5 (every job ends): job ${id} never completed nor was dead-lettered`);
  for (const message of world.queue.pending()) {
    found.push(`invariant 5: message ${message.messageId} is still on the queue 30 days after the last step (received ${message.receiveCount} times)`);
  }
  return found;
}

/**
 * 4. No number left deregistered by a saga (set_localization, or a register job's 133000 repair) while its register
 * was possible: if the saga's deregister was the last saga request and the number is not registered at the end,
 * that job's dead letter must say why the register could not be sent. A missing PIN or a lapsed verification
 * counts only if it arose after the deregister: one the worker could have seen before leaves the number offline
 * for nothing.
 */
function sagas(world: World): string[] {
  const found: string[] = [];
  const repaired = new Set(world.records.graph.filter((event) => event.operation === 'deregister' && event.delivery).map((event) => jobId(event.delivery!.jobKey, event.delivery!.generation)));
  for (const id of world.numbers) {
    const saga = world.records.graph
      .filter((event) => event.phoneNumberId === id && event.operation !== 'read_state' && event.simIndex !== undefined && event.delivery)
      .filter((event) => event.delivery!.action === 'set_localization' || (event.delivery!.action === 'register' && repaired.has(jobId(event.delivery!.jobKey, event.delivery!.generation))))
      .sort((a, b) => a.simIndex! - b.simIndex!);
    const last = saga.at(-1);
    const tookEffect = last?.answeredWith === 'deregistered' || last?.answeredWith?.startsWith('applied (deregistered)');
    if (!last || last.operation !== 'deregister' || !tookEffect || world.simulator.number(id)?.registered) continue;
    const job = jobId(last.delivery!.jobKey, last.delivery!.generation);
    const letters = world.records.deadLetters.filter((letter) => jobId(letter.envelope.jobKey, letter.envelope.redriveGeneration) === job);
    // A PIN rotation marked after the deregister (and never finished) makes the register wait, then dead-letter.
    const rotatedSince = world.records.rotations.some((rotation) => rotation.phoneNumberId === id && rotation.marked && rotation.seq > last.startSeq);
    const why = letters.find((letter) => REGISTER_IMPOSSIBLE.has(letter.envelope.category) || letter.envelope.hold !== undefined || (rotatedSince && letter.envelope.category === 'permanent_error'));
    const prefix = `invariant 4 (saga): ${id} left deregistered by ${last.delivery!.action} job ${job} (deregister at ${world.time(last.before.now)})`;
    if (!why) {
      found.push(`${prefix}; dead letter: ${letters.map((letter) => letter.envelope.category).join(', ') || 'none'}`);
    } else if (why.envelope.category === 'missing_secret' && !last.before.pinStored) {
      found.push(`${prefix} although no PIN was stored when it deregistered`);
    } else if (why.envelope.category === 'needs_verification' && last.before.verification !== 'VERIFIED') {
      found.push(`${prefix} although its verification was already ${last.before.verification} when it deregistered`);
    }
  }
  return found;
}

/** 6 (at rest). Whatever the ledger can show about each number goes through the secret scan too. */
async function scanLedger(world: World): Promise<void> {
  // The instrumented ledger scans every result; these reads show every item it holds for the model's numbers.
  for (const id of world.numbers) {
    await world.ledger.history(id);
    await world.ledger.number(id);
  }
  for (const job of world.records.enqueued.values()) await world.ledger.read(job.phoneNumberId, job.jobKey);
  await world.ledger.appGates();
}

// The events path (webhook receiver → bus → resolver → ledger and job queue).

/** Resolver deliveries that took effect (applied, or recorded: the ledger saw the event), with the change they carried. */
function processed(world: World): Array<{ change: MetaChange; resolved: ResolvedEvent }> {
  const byId = new Map(world.records.changes.map((change) => [change.changeId, change]));
  return world.records.resolved.flatMap((resolved) => {
    const change = resolved.changeId === undefined ? undefined : byId.get(resolved.changeId);
    return change && (resolved.status === 'applied' || resolved.status === 'recorded') ? [{ change, resolved }] : [];
  });
}

/** Approval order: later event time first, then (same second) the higher change id, as the contract's tie rule says. */
const newer = (a: MetaChange, b: MetaChange) => a.eventAt > b.eventAt || (a.eventAt === b.eventAt && a.changeId > b.changeId);
const isApproval = (change: MetaChange) => change.field === 'phone_number_name_update' && change.decision === 'APPROVED';
/** An answer that says a request took effect (for sure, or applied before a failed answer). */
const TOOK_EFFECT = /^(registered|deregistered|applied \((registered|deregistered)\))/;
const describeRequest = (world: World, event: GraphEvent) => `${event.operation} of ${event.phoneNumberId} at ${world.time(event.before.now)} by ${event.delivery?.jobKey ?? '?'} g${event.delivery?.generation ?? '?'}`;
const requests = (world: World) => world.records.graph.filter((event) => event.simIndex !== undefined && event.operation !== 'read_state');

/**
 * 7. Webhooks. Why: anyone can POST to the receiver, and Meta delivers each change several times. A POST with a bad
 * signature is answered 401 and changes nothing (no event, no change-log entry, no ledger write, no job); a valid POST
 * answered 200 has each of its changes published now or before; and a change is published once, however often it comes.
 */
function webhookDeliveries(world: World): string[] {
  const found: string[] = [];
  for (const post of world.records.posts) {
    const ids = post.changeIds.map((id) => id.slice(0, 8)).join(' ');
    if (post.signature !== 'valid') {
      if (post.status !== 401) found.push(`invariant 7 (bad signature refused): a POST of ${ids} signed "${post.signature}" was answered ${post.status}`);
      if (post.before !== post.after) found.push(`invariant 7 (bad signature changes nothing): a POST of ${ids} signed "${post.signature}" changed the change log, the bus, the ledger or the job queue`);
      continue;
    }
    if (post.status !== 200) continue;
    for (const id of post.changeIds) {
      if (!post.published.includes(id) && !post.duplicates.includes(id)) found.push(`invariant 7 (a delivered change is published): ${id.slice(0, 8)} was answered 200 but neither published nor a duplicate (ignored: ${post.ignored.join(', ') || 'none'})`);
    }
  }
  // A change is published again only after an earlier delivery published it without setting its marker.
  const published = new Map<string, number>();
  const unmarked = new Map<string, number>();
  for (const post of world.records.posts) {
    for (const id of post.published) {
      const times = (published.get(id) ?? 0) + 1;
      published.set(id, times);
      if (times > 1 + (unmarked.get(id) ?? 0)) found.push(`invariant 7 (published once): change ${id.slice(0, 8)} was published ${times} times`);
    }
    for (const id of post.unmarked) unmarked.set(id, (unmarked.get(id) ?? 0) + 1);
  }
  const known = new Set(world.records.changes.map((change) => change.changeId));
  for (const event of world.records.published) {
    if (!known.has(event.changeId)) found.push(`invariant 7 (only Meta's changes): change ${event.changeId.slice(0, 8)}, which Meta never made, was published`);
  }
  return found;
}

/**
 * 8. Name approvals. Why: every re-register spends one of the 10 attempts, and one approval needs exactly one.
 * (a) Only an APPROVED decision sends a job, a register with reason name_change for its number; every delivery of one
 * approval sends the same job key; an approval older than one the resolver already applied for the number sends none.
 * (b) No name_change register of a connected number once a register the worker knows took effect after the latest
 * approval applied (the approval is met; answers lost in a crash or after a timeout are beyond what the worker can know).
 */
function approvals(world: World): string[] {
  const found: string[] = [];
  const done = processed(world);
  const keys = new Map<string, Set<string>>();
  for (const { change, resolved } of done) {
    if (change.field !== 'phone_number_name_update') continue;
    const label = `${change.decision} of ${change.phoneNumberId} (${change.changeId.slice(0, 8)}, ${world.time(change.eventAt)})`;
    if (!isApproval(change) && resolved.jobs.length > 0) found.push(`invariant 8 (only approvals re-register): ${label} sent job ${resolved.jobs[0]!.idempotencyKey}`);
    for (const job of resolved.jobs) {
      if (job.action !== 'register' || job.reason !== 'name_change' || job.phoneNumberId !== change.phoneNumberId) {
        found.push(`invariant 8 (one name_change register): ${label} sent ${job.action} ${job.phoneNumberId} reason ${job.reason ?? '-'}`);
      }
      keys.set(change.changeId, (keys.get(change.changeId) ?? new Set()).add(job.idempotencyKey));
    }
    const superseding = done.find(
      (earlier) => earlier.resolved.seq < resolved.startSeq && isApproval(earlier.change) && earlier.change.phoneNumberId === change.phoneNumberId && newer(earlier.change, change),
    );
    if (isApproval(change) && superseding && resolved.jobs.length > 0) {
      found.push(`invariant 8 (an older approval re-registers nothing): ${label} was resolved after the newer approval ${superseding.change.changeId.slice(0, 8)} (${world.time(superseding.change.eventAt)}) and still sent job ${resolved.jobs[0]!.idempotencyKey}`);
    }
  }
  for (const [id, set] of keys) if (set.size > 1) found.push(`invariant 8 (one job key per approval): change ${id.slice(0, 8)} sent jobs ${[...set].join(', ')}`);

  const all = requests(world);
  for (const register of all) {
    if (register.operation !== 'register' || register.before.registered !== true || !register.delivery) continue;
    if ((JSON.parse(register.delivery.body) as { reason?: string }).reason !== 'name_change') continue;
    const latest = done
      .filter(({ change, resolved }) => resolved.seq < register.startSeq && isApproval(change) && change.phoneNumberId === register.phoneNumberId)
      .map(({ change }) => change)
      .reduce<MetaChange | undefined>((best, change) => (!best || newer(change, best) ? change : best), undefined);
    if (!latest) continue;
    const last = all.filter((event) => event.phoneNumberId === register.phoneNumberId && !unknownToWorker(event) && (event.endSeq ?? Infinity) < register.startSeq && TOOK_EFFECT.test(event.answeredWith ?? '')).at(-1);
    if (last?.operation === 'register' && last.answeredWith === 'registered' && last.before.now >= latest.eventAt) {
      found.push(`invariant 8 (no second re-register for one approval): ${describeRequest(world, register)}, although ${describeRequest(world, last)} took effect after the approval of ${world.time(latest.eventAt)} (${latest.changeId.slice(0, 8)})`);
    }
  }
  return found;
}

/**
 * 8 (at the end). Why: a name_change job that completes must have re-registered, or the name goes back to review. Each
 * approval whose job completed has a register that took effect at or after the approval (by a job, or outside).
 */
function approvalsMet(world: World): string[] {
  const found: string[] = [];
  for (const { change, resolved } of processed(world)) {
    if (!isApproval(change)) continue;
    for (const job of resolved.jobs) {
      const completed = world.records.outcomes.some(({ outcome }) => outcome.jobKey === job.idempotencyKey && outcome.status === 'completed');
      if (!completed) continue;
      // The simulator's own log: a request whose answer came too late to be matched to the worker's call took effect too.
      const registered =
        world.simulator.calls.some((call) => call.phoneNumberId === change.phoneNumberId && call.operation === 'register' && call.at >= change.eventAt && /^(registered|applied \(registered\))/.test(call.answeredWith)) ||
        world.records.external.some((external) => external.phoneNumberId === change.phoneNumberId && external.registered && external.at >= change.eventAt);
      if (!registered) found.push(`invariant 8 (an approval is met): job ${job.idempotencyKey} completed, but no register of ${change.phoneNumberId} took effect after the approval of ${world.time(change.eventAt)}`);
    }
  }
  return found;
}

/**
 * 9. PIN changes. Why: a PIN changed in WhatsApp Manager makes every PIN stored before it a sure 133005. Once the
 * resolver applied a PIN_CHANGED or PIN_RESET_REQUEST, no register of that number uses a PIN version stored before the
 * change (and created at or before the event's time, so the ledger could tell), unless an operator cleared the
 * number's hold since (`hold clear` is the operator's own decision), or wa-registrar set a PIN at Meta after the change
 * (a rotation's setSecret overwrote it: its webhook came late).
 */
function pinChanges(world: World): string[] {
  const found: string[] = [];
  // The echo of wa-registrar's own PIN set is no PIN someone else chose. A change within 5 minutes of such a set
  // cannot be told from its echo (the resolver takes it as wa-registrar's own, by design: OWN_PIN_CHANGE_SLACK_MS).
  const echoes = world.records.changes.filter((change) => change.echo);
  const nearOwnSet = (change: MetaChange) => echoes.some((echo) => echo.phoneNumberId === change.phoneNumberId && Math.abs(echo.eventAt - change.eventAt) <= OWN_SET_SLACK_MS);
  // A change that wa-registrar's own later PIN set overwrote (its webhook late) is no longer the PIN Meta has.
  const ownSets = world.simulator.calls.filter((call) => call.operation === 'set_pin' && call.answeredWith === 'pin set');
  const superseded = (change: MetaChange) => ownSets.some((call) => call.phoneNumberId === change.phoneNumberId && call.at >= change.happenedAt);
  const events = processed(world).filter(({ change }) => change.field === 'security' && !change.echo && !nearOwnSet(change) && !superseded(change));
  if (events.length === 0) return found;
  const clears = world.records.operator.filter((operator) => operator.kind === 'hold_clear' && operator.cleared !== 'accountHold');
  for (const register of requests(world)) {
    if (register.operation !== 'register' || register.pinDigest === undefined) continue;
    const id = register.phoneNumberId;
    const pending = events.filter(
      ({ change, resolved }) =>
        change.phoneNumberId === id && resolved.seq < register.startSeq && !clears.some((clear) => clear.phoneNumberId === id && clear.seq > resolved.seq && clear.seq < register.startSeq),
    );
    if (pending.length === 0) continue;
    const latest = pending.reduce((best, event) => (event.change.eventAt > best.change.eventAt ? event : best));
    const versions = world.secrets.pinVersions(id).filter((version) => version.digest === register.pinDigest && version.seq < register.startSeq);
    if (versions.length === 0) continue;
    const newest = versions.reduce((best, version) => (version.createdAt > best.createdAt || (version.createdAt === best.createdAt && version.seq > best.seq) ? version : best));
    const createdAt = newest.createdAt;
    // Stored before the change happened (at the same instant: earlier in the program), and not after its event time.
    const before = createdAt < latest.change.happenedAt || (createdAt === latest.change.happenedAt && newest.seq < latest.change.seq);
    if (before && createdAt <= latest.change.eventAt) {
      found.push(
        `invariant 9 (no PIN older than a known PIN change): ${describeRequest(world, register)} sent ${world.catalog.label(register.pinDigest)} (stored ${world.time(createdAt)}), ` +
          `after the resolver applied ${latest.change.security} of ${world.time(latest.change.eventAt)} (${latest.change.changeId.slice(0, 8)}); answered ${register.answeredWith ?? '?'}`,
      );
    }
  }
  return found;
}

/**
 * 10. Account restrictions. Why: Meta restricted or removed the business; a request then is at best wasted. No register
 * or deregister of a number while its business is restricted by the latest (by event time; a restriction wins a tie)
 * account update the resolver applied, unless an operator cleared that number's account hold since.
 */
function accountRestrictions(world: World): string[] {
  const found: string[] = [];
  const events = processed(world).filter(({ change }) => change.field === 'account_update' && change.account !== 'informational');
  if (events.length === 0) return found;
  for (const request of requests(world)) {
    const waba = businessOf(world.setup, world.numbers.indexOf(request.phoneNumberId));
    const seen = events.filter(({ change, resolved }) => change.businessAccountId === waba && resolved.seq < request.startSeq);
    if (seen.length === 0) continue;
    const current = seen
      .map(({ change }) => change)
      .reduce((best, change) => (change.eventAt > best.eventAt || (change.eventAt === best.eventAt && change.account === 'restricts') ? change : best));
    if (current.account !== 'restricts') continue;
    const heldSince = Math.max(...seen.filter(({ change }) => change.account === 'restricts' && change.eventAt === current.eventAt).map(({ resolved }) => resolved.seq));
    const cleared = world.records.operator.some(
      (operator) => operator.kind === 'hold_clear' && operator.cleared === 'accountHold' && operator.phoneNumberId === request.phoneNumberId && operator.seq > heldSince && operator.seq < request.startSeq,
    );
    if (!cleared) {
      found.push(`invariant 10 (nothing sent while the business is restricted): ${describeRequest(world, request)}, while ${waba} is restricted by ${String(current.value.event)} of ${world.time(current.eventAt)} (${current.changeId.slice(0, 8)}); answered ${request.answeredWith ?? '?'}`);
    }
  }
  return found;
}

/**
 * 11. PIN rotations. Why: a rotation changes Meta's PIN; a crash, a timeout or a refusal halfway must never leave Meta
 * with a PIN nobody knows, nor let a register guess between the old and the new one.
 * (a) While a number is watched (its PIN at Meta was AWSCURRENT's or AWSPENDING's, and nobody changed a PIN from
 * outside since: WhatsApp Manager, an operator storing another PIN), Meta's PIN stays AWSCURRENT's or AWSPENDING's.
 * (b) While Meta has the AWSPENDING PIN and it differs from AWSCURRENT's, the ledger marks that rotation (`pinRotation`)
 * (for watched numbers: an operator who stores another PIN after a rotation makes AWSCURRENT differ on purpose).
 * (c) No register is sent while the ledger marks a rotation.
 * (d) Once Meta's PIN is a rotation's and AWSCURRENT (a finished rotation), every register sends that PIN (no 133005
 * because a worker kept the old one).
 * (e) The echo of the rotation's own PIN set (Meta's PIN_CHANGED webhook) never holds the number.
 */
async function pinRotations(world: World): Promise<string[]> {
  const found: string[] = [];
  for (const id of world.numbers) {
    const stages = world.secrets.pinStages(id);
    const pin = world.simulator.number(id)?.pin;
    const meta = pin === undefined ? undefined : simulatorDigest(pin);
    const agrees = meta !== undefined && (meta === stages.current?.digest || meta === stages.pending?.digest);
    const watched = world.pinWatch.get(id) === true;
    if (watched && !agrees) {
      found.push(`invariant 11 (never a PIN nobody knows): Meta's PIN for ${id} is ${world.catalog.label(meta)}, but AWSCURRENT holds ${world.catalog.label(stages.current?.digest)} and AWSPENDING ${world.catalog.label(stages.pending?.digest)}`);
    }
    world.pinWatch.set(id, agrees);
    if (watched && meta !== undefined && stages.pending && meta === stages.pending.digest && meta !== stages.current?.digest) {
      const marked = (await world.rawNumber(id)).pinRotation;
      if (marked?.pendingVersion !== stages.pending.version) {
        found.push(`invariant 11 (Meta's new PIN is marked): Meta has ${id}'s AWSPENDING PIN (${stages.pending.version}), AWSCURRENT is another, and the ledger marks ${marked ? `rotation ${marked.pendingVersion}` : 'no rotation'}`);
      }
    }
  }
  for (const event of requests(world)) {
    if (event.operation !== 'register') continue;
    if (event.before.pinRotation !== undefined) {
      found.push(`invariant 11 (no register during a rotation): ${describeRequest(world, event)} while the ledger marked rotation ${event.before.pinRotation}; answered ${event.answeredWith ?? '?'}`);
    }
    const { metaPin, currentPin } = event.before;
    if (metaPin !== undefined && world.records.rotationPins.has(metaPin) && metaPin === currentPin && event.pinDigest !== metaPin) {
      found.push(`invariant 11 (the rotated PIN is used): ${describeRequest(world, event)} sent ${world.catalog.label(event.pinDigest)}, while Meta and AWSCURRENT had ${world.catalog.label(metaPin)}; answered ${event.answeredWith ?? '?'}`);
    }
  }
  const echoes = world.records.changes.filter((change) => change.echo);
  for (const letter of world.records.deadLetters) {
    const hold = letter.envelope.hold;
    if (letter.envelope.category !== 'pin_changed' || hold?.since === undefined) continue;
    const id = letter.envelope.job?.phoneNumberId;
    const since = Date.parse(hold.since);
    const echo = echoes.find((change) => change.phoneNumberId === id && change.eventAt === since);
    const other = world.records.changes.some((change) => change.field === 'security' && !change.echo && change.phoneNumberId === id && change.eventAt === since);
    if (echo && !other) found.push(`invariant 11 (our own PIN set holds nothing): job ${letter.envelope.jobKey} was dead-lettered pin_changed by the echo ${echo.changeId.slice(0, 8)} of the rotation's PIN set`);
  }
  return found;
}

/**
 * 12. Verification. Why: `verify confirm` is the way out of a needs_verification hold, and only of that one.
 * A confirmed verification lifts a needs_verification hold and leaves any other hold (and the account hold) as it
 * was; a failed one changes no hold. (No register while Meta's verification is not VERIFIED is invariant 3.)
 */
function verifications(world: World): string[] {
  const found: string[] = [];
  for (const { phoneNumberId, ok, before, after } of world.records.verifications) {
    const expected = ok && before.hold === 'needs_verification' ? { ...before, hold: undefined } : before;
    if (after.hold !== expected.hold || after.accountHold !== expected.accountHold) {
      found.push(`invariant 12 (verification lifts its own hold only): verify confirm of ${phoneNumberId} ${ok ? 'succeeded' : 'failed'}; holds went from ${JSON.stringify(before)} to ${JSON.stringify(after)}`);
    }
  }
  return found;
}

/**
 * 13. Businesses with their own tokens. Why: a Solution Partner's businesses each have a token; one business's token
 * must neither be sent for another's numbers nor stop them.
 * (a) Each register or deregister reaches Graph with the token of its number's business when the worker knows the
 * business (the job names it, or the ledger learned it) and the business has its own token; else with the default token.
 * (b) A token_rejected dead letter names the gate of its own number's business (or the default token's, when the worker
 * could not know better): never another business's.
 * (c) No request uses a token version that the ledger's gate for that token named when its invocation started and
 * still names.
 */
function businessTokens(world: World): string[] {
  const found: string[] = [];
  for (const event of requests(world)) {
    const token = world.secrets.tokenOf(event.tokenDigest);
    const business = event.before.business;
    const expected = business !== undefined && event.before.ownTokens.includes(business) ? business : undefined;
    if (token?.scope !== expected) {
      found.push(
        `invariant 13 (the business's own token): ${describeRequest(world, event)} (business ${business ?? 'unknown to the worker'}) used ${token ? (token.scope ? `business ${token.scope}'s token` : 'the default token') : 'a token never stored'} (${world.catalog.label(event.tokenDigest)}), expected ${expected ? `business ${expected}'s own token` : 'the default token'}`,
      );
    }
    if (token && event.before.gates && event.before.gatesAtStart) {
      // Read by the model itself (not through the worker's tokenGateOf): the default gate, or the business's own.
      const gated = (gates: NonNullable<typeof event.before.gates>) => (token.scope === undefined ? gates.tokenGate : gates.businessTokenGates?.[token.scope])?.tokenVersion === token.version;
      if (gated(event.before.gatesAtStart) && gated(event.before.gates)) {
        found.push(`invariant 13 (no gated token version): ${describeRequest(world, event)} used ${world.catalog.label(event.tokenDigest)} (version ${token.version}), which the ledger's ${token.scope ? `gate of business ${token.scope}` : 'token gate'} names`);
      }
    }
  }
  for (const letter of world.records.deadLetters) {
    if (letter.envelope.category !== 'token_rejected') continue;
    const id = letter.envelope.job?.phoneNumberId;
    if (id === undefined || !world.numbers.includes(id)) continue;
    const own = world.businessOfNumber(id);
    const scope = letter.envelope.hold?.businessAccountId;
    const named = letter.envelope.job?.businessAccountId;
    const hadOwn = world.secrets.tokenVersions(own).some((version) => version.seq < letter.seq);
    if (scope !== undefined && scope !== own) {
      found.push(`invariant 13 (one business's token holds only its own jobs): job ${letter.envelope.jobKey} of ${id} (business ${own}) was dead-lettered token_rejected by business ${scope}'s token gate`);
    } else if (scope === undefined && named === own && hadOwn) {
      found.push(`invariant 13 (one business's token holds only its own jobs): job ${letter.envelope.jobKey} of ${id} names business ${own}, which has its own token, and was dead-lettered token_rejected by the default token's gate`);
    }
  }
  return found;
}
