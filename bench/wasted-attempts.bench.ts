/**
 * Wasted attempts: 1,000 jobs for 100 numbers with a seeded fault mix, run through the real worker
 * (`createWorker(...).handleBatch`) and through the naive consumer, each against a fresh Graph simulator built from
 * the same plan. Everything but Graph is in memory (ledger, secrets, FIFO queue, dead letters) on one ManualClock
 * shared with the simulator, so a week of jobs runs in seconds. Both consumers are measured against an oracle.
 * Run alone with `npx tsx bench/wasted-attempts.bench.ts`; BENCH_DETAIL=1 prints, on stderr, the jobs of every
 * number where wa-registrar sent other than the oracle, or ended elsewhere, with each delivery's outcome.
 *
 * The oracle knows Meta's state (PIN, verification, registration, a deregistration that cannot finish) and runs
 * each number's jobs in arrival order, sending only what reaches a job's goal:
 * - register: 1 if the number is not registered, or if it is and a re-register is intended (name_change, manual);
 *   0 if it is registered otherwise, or the job asks for a region on a registered number (no register can apply it).
 *   A register without a region leaves none, as the simulator has it (Meta does not say).
 * - deregister: 1 if registered, else 0.
 * - set_localization: 2 if registered (regions cannot be read, so even the same region costs both), 1 if not.
 * - nothing at all for a number whose register cannot succeed (wrong stored PIN, verification EXPIRED, 133000 that
 *   a deregister does not cure): it is left as it is, and nothing is sent while the token is revoked.
 * - each injected 5xx costs the oracle one request too, on a number where it sends anything (faults precede).
 * Numbers "left offline" end deregistered although the oracle ends them registered and could register them.
 * "Wasted" is counted against a second oracle that knows only what the API shows (a state read shows registration
 * and verification, not whether a stored PIN is right or whether a deregistration is stuck): it pays what no
 * consumer can avoid to learn those, 1 request for a wrong PIN and 3 for a stuck 133000 (register, the repair's
 * deregister, register), once per number with a job that registers. Both figures are reported.
 * Over the usual length on purpose: the plan, the oracle, both drivers and the report are read together.
 */
import type { SQSEvent } from 'aws-lambda';
import { pathToFileURL } from 'node:url';
import { createWorker } from '../functions/register-worker/worker.ts';
import { JOB_QUEUE } from '../infra/definitions.ts';
import { HOUR_MS, ManualClock, MINUTE_MS } from '../shared/clock.ts';
import { loadConfig } from '../shared/config.ts';
import type { JobOutcome } from '../shared/domain/run-job.ts';
import { HttpGraphClient } from '../shared/graph/http-graph-client.ts';
import { AUTO_REDRIVE_CATEGORIES, REDRIVE_GENERATION_ATTRIBUTE } from '../shared/jobs/dlq-envelope.v1.ts';
import { toJobMessage } from '../shared/jobs/enqueue.ts';
import { DATA_LOCALIZATION_REGIONS, type JobReason, type JobV1 } from '../shared/jobs/job.v1.ts';
import { deadLetterHold, decideRedrive, HELD_CATEGORIES, holdVerdict, readDeadLetter, type DeadLetter, type HoldProbe } from '../shared/dead-letters/index.ts';
import { InMemoryAttemptLedger } from '../test/support/in-memory-ledger.ts';
import { FifoQueue, type QueueMessage } from '../test/support/model/fifo-queue.ts';
import { ModelSecretStore } from '../test/support/model/secret-store.ts';
import { carriedMessage } from '../test/support/model/worker-adapter.ts';
import { startGraphSimulator, type GraphSimulator } from '../tools/graph-simulator.ts';
import { naiveConsumer, type NaiveAnswer } from './naive-consumer.ts';

const SEED = 20_261_125;
const DAY_MS = 24 * HOUR_MS;
/** Jobs arrive over a week, each number's in order. */
const ARRIVAL_MS = 7 * DAY_MS;
/** Meta stops accepting the token on day 3; the replacement is stored 6 hours later. */
const REVOKED_AT_MS = 2 * DAY_MS;
const REPLACED_AT_MS = REVOKED_AT_MS + 6 * HOUR_MS;
/** The scheduled redrive's period (and the naive operator's). */
const TICK_MS = 15 * MINUTE_MS;
/** Invocations at once (the event source's maximum concurrency) and records per batch. */
const CONCURRENCY = 5;
const BATCH_SIZE = 10;
const FIRST_TOKEN = 'EAAbenchFirstToken0001';
const SECOND_TOKEN = 'EAAbenchSecondToken002';

type Profile = 'wrong_pin' | 'expired_verification' | 'already_connected' | 'persistent_133000' | 'flaky_5xx' | 'plain';
const PROFILES: ReadonlyArray<readonly [Profile, number]> = [
  ['wrong_pin', 10],
  ['expired_verification', 10],
  ['already_connected', 15],
  ['persistent_133000', 5],
  ['flaky_5xx', 20],
  ['plain', 40],
];

interface PlannedJob {
  /** 1-based position among the number's jobs (arrival order). */
  n: number;
  /** Arrival, ms after the start. */
  at: number;
  job: JobV1;
}

interface PlannedNumber {
  id: string;
  profile: Profile;
  registered: boolean;
  pin: string;
  storedPin: string;
  verification: 'VERIFIED' | 'EXPIRED';
  stuck133000: boolean;
  http500s: number;
  jobs: PlannedJob[];
}

/** mulberry32: small, seedable, the same sequence on every machine. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The 100 numbers and their 1,000 jobs: 6 to 14 jobs a number, 10 on average. */
export function makePlan(seed = SEED): PlannedNumber[] {
  const random = seeded(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const profiles = PROFILES.flatMap(([profile, count]) => Array.from({ length: count }, () => profile));
  for (let i = profiles.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [profiles[i], profiles[j]] = [profiles[j]!, profiles[i]!];
  }
  const counts = profiles.map(() => 10);
  for (let moves = 0; moves < 300; moves++) {
    const from = Math.floor(random() * counts.length);
    const to = Math.floor(random() * counts.length);
    if (counts[from]! > 6 && counts[to]! < 14) {
      counts[from]! -= 1;
      counts[to]! += 1;
    }
  }
  const reasons: Array<[JobReason, number]> = [['account_creation', 0.35], ['migration', 0.1], ['name_change', 0.25], ['manual', 0.15], ['localization_change', 0.15]];
  const reason = (): JobReason => {
    let r = random();
    for (const [name, weight] of reasons) if ((r -= weight) < 0) return name;
    return 'account_creation';
  };
  return profiles.map((profile, index) => {
    const id = String(1_555_000_100 + index);
    const pin = String(100_000 + Math.floor(random() * 900_000));
    const registered = profile === 'already_connected' || (profile !== 'persistent_133000' && random() < 0.4);
    const times = Array.from({ length: counts[index]! }, () => Math.floor((random() * ARRIVAL_MS) / 1000) * 1000).sort((a, b) => a - b);
    const jobs = times.map((at, k): PlannedJob => {
      const base = { schemaVersion: 1 as const, phoneNumberId: id, idempotencyKey: `b${id}-${k + 1}` };
      let job: JobV1;
      const r = random();
      if (profile === 'already_connected' && (k === 0 || r < 0.3)) job = { ...base, action: 'register', reason: 'account_creation' };
      else if (r < 0.5) {
        const why = reason();
        const region = why === 'localization_change' || random() < 0.05 ? pick(DATA_LOCALIZATION_REGIONS) : undefined;
        job = { ...base, action: 'register', reason: why, ...(region ? { dataLocalizationRegion: region } : {}) };
      } else if (r < 0.7) job = { ...base, action: 'deregister', reason: 'manual' };
      else {
        const region = random() < 0.8 ? pick(DATA_LOCALIZATION_REGIONS) : undefined;
        job = { ...base, action: 'set_localization', reason: 'localization_change', ...(region ? { dataLocalizationRegion: region } : {}) };
      }
      return { n: k + 1, at, job };
    });
    return {
      id,
      profile,
      registered,
      pin,
      storedPin: profile === 'wrong_pin' ? `${pin.slice(0, 5)}${(Number(pin[5]) + 1) % 10}` : pin,
      verification: profile === 'expired_verification' ? 'EXPIRED' : 'VERIFIED',
      stuck133000: profile === 'persistent_133000',
      http500s: profile === 'flaky_5xx' ? 1 + Math.floor(random() * 3) : 0,
      jobs,
    };
  });
}

interface OracleView {
  needed: number;
  /** What no consumer can avoid on top, to learn what a state read does not show (see the header). */
  learning: number;
  /** Per job, in arrival order (5xx retries not included: they belong to the number). */
  perJob: number[];
  registrable: boolean;
  final: { registered: boolean; region?: string };
}

/** The minimum an oracle that knows Meta's state sends for a number's jobs (rules in the header). */
export function oracle(number: PlannedNumber): OracleView {
  const registrable = number.storedPin === number.pin && number.verification === 'VERIFIED' && !number.stuck133000;
  let registered = number.registered;
  let region: string | undefined;
  const perJob = number.jobs.map(({ job }): number => {
    if (job.action === 'deregister') {
      if (!registered) return 0;
      registered = false;
      region = undefined;
      return 1;
    }
    if (!registrable) return 0;
    if (job.action === 'set_localization') {
      const cost = registered ? 2 : 1;
      registered = true;
      region = job.dataLocalizationRegion;
      return cost;
    }
    if (registered) {
      if (job.dataLocalizationRegion !== undefined || (job.reason !== 'name_change' && job.reason !== 'manual')) return 0;
      region = undefined;
      return 1;
    }
    registered = true;
    region = job.dataLocalizationRegion;
    return 1;
  });
  const sum = perJob.reduce((total, cost) => total + cost, 0);
  const registers = number.jobs.some(({ job }) => job.action !== 'deregister') && number.verification === 'VERIFIED';
  const learning = !registers ? 0 : number.storedPin !== number.pin ? 1 : number.stuck133000 ? 3 : 0;
  return { needed: sum + (sum > 0 ? number.http500s : 0), learning, perJob, registrable, final: { registered, ...(region ? { region } : {}) } };
}

/** One consumer's world: a fresh simulator built from the plan, secrets, the job queue, all on one clock. */
interface World {
  clock: ManualClock;
  start: number;
  simulator: GraphSimulator;
  secrets: ModelSecretStore;
  queue: FifoQueue;
  tokenVersion: string;
  pinVersions: Map<string, string>;
  /** When a secret last changed (a tick after it may find a hold lifted). */
  secretChangedAt: number;
}

async function createWorld(plan: PlannedNumber[]): Promise<World> {
  const clock = new ManualClock();
  const simulator = await startGraphSimulator({ now: () => clock.now(), tokens: [FIRST_TOKEN] });
  const secrets = new ModelSecretStore(clock);
  const pinVersions = new Map<string, string>();
  for (const number of plan) {
    simulator.addNumber(number.id, {
      pin: number.pin,
      registered: number.registered,
      codeVerificationStatus: number.verification,
      ...(number.stuck133000 ? { deregistrationIncomplete: true, stuck133000: true } : {}),
    });
    if (number.http500s > 0) simulator.inject(number.id, ...Array.from({ length: number.http500s }, () => ({ type: 'http500' as const })));
    pinVersions.set(number.id, secrets.storePin(number.id, number.storedPin));
  }
  const queue = new FifoQueue(clock, { visibilityTimeoutSeconds: JOB_QUEUE.visibilityTimeoutSeconds, maxReceiveCount: JOB_QUEUE.maxReceiveCount });
  return { clock, start: clock.now(), simulator, secrets, queue, tokenVersion: secrets.storeToken(FIRST_TOKEN), pinVersions, secretChangedAt: clock.now() };
}

/** Sends a job as `toJobMessage` builds it: generation > 0 is a redrive (an operator's or the scheduled one). */
function sendJob(world: World, job: JobV1, generation: number): void {
  const message = toJobMessage(job, generation > 0 ? { redriveGeneration: generation } : {});
  const attributes = Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([key, value]) => [key, { dataType: value.DataType ?? 'String', stringValue: value.StringValue ?? '' }]),
  );
  world.queue.send({ body: message.MessageBody!, groupId: message.MessageGroupId!, dedupId: message.MessageDeduplicationId!, attributes });
}

const generationOf = (message: QueueMessage) => Number(message.attributes[REDRIVE_GENERATION_ATTRIBUTE]?.stringValue ?? 0);
const jobOf = (message: QueueMessage) => JSON.parse(message.body) as JobV1;

/** What happened to each job, as the consumer saw it. */
class Tally {
  /** register/deregister requests per job key, with Graph's answer. */
  readonly calls = new Map<string, string[]>();
  /** The latest end of each job (a redrive may end it again). */
  readonly ends = new Map<string, string>();
  readonly redriven = new Map<string, number>();
  /** Graph calls with no usable answer that the simulator did not script (client timeouts on a busy machine). */
  unscripted = 0;
  /** Each delivery's outcome per job key (for BENCH_DETAIL). */
  readonly deliveries = new Map<string, string[]>();
  call(jobKey: string, answer: string): void {
    this.calls.set(jobKey, [...(this.calls.get(jobKey) ?? []), answer]);
  }
  redrive(category: string): void {
    this.redriven.set(category, (this.redriven.get(category) ?? 0) + 1);
  }
}

interface Consumer {
  invoke(messages: QueueMessage[]): Promise<void>;
  /** Every TICK_MS: the scheduled redrive, or the naive consumer's operator. */
  tick(): Promise<void>;
  /** Whether a later tick could still send a job back without anything else happening. */
  waiting(): boolean;
}

/** wa-registrar: the real worker on in-memory ports, its dead letters, and the scheduled redrive over them. */
function registrar(world: World, tally: Tally): Consumer {
  const ledger = new InMemoryAttemptLedger();
  const config = loadConfig({
    GRAPH_API_BASE_URL: world.simulator.baseUrl,
    LEDGER_TABLE_NAME: 'bench-ledger',
    JOB_QUEUE_URL: 'https://sqs.bench.local/000000000000/jobs.fifo',
    DEAD_LETTER_QUEUE_URL: 'https://sqs.bench.local/000000000000/dead-letters.fifo',
    TOKEN_SECRET_ID: 'bench/token',
    PIN_SECRET_PREFIX: 'bench/pin/',
  });
  const letters: Array<{ letter: DeadLetter; at: number; redriven: boolean }> = [];
  const { clock, queue } = world;
  const worker = createWorker(config, {
    clock,
    ledger,
    secrets: world.secrets,
    graph: new HttpGraphClient({ baseUrl: world.simulator.baseUrl, version: 'v25.0', timeoutMs: 200 }),
    deadLetters: {
      send: async (envelope) => {
        const now = clock.now();
        // The FIFO dead-letter queue drops a repeat (job key + generation + category) within 5 minutes.
        const repeat = letters.some(({ letter, at }) => letter.jobKey === envelope.jobKey && letter.redriveGeneration === envelope.redriveGeneration && letter.category === envelope.category && now - at < 5 * MINUTE_MS);
        if (repeat) return;
        const letter = readDeadLetter({ MessageId: `dl${letters.length + 1}`, Body: JSON.stringify(envelope), Attributes: { SentTimestamp: String(now) } });
        letters.push({ letter, at: now, redriven: false });
      },
    },
    jobQueue: {
      delay: async (receiptHandle, seconds) => queue.changeVisibility(receiptHandle, Math.min(Math.max(0, Math.ceil(seconds)), 43_200)),
      carry: async (job) => void queue.send({ body: job.body, groupId: job.groupId, ...carriedMessage(job) }),
    },
    onOutcome: (outcome: JobOutcome) => {
      for (const call of outcome.graphCalls) {
        if (call.outcome === 'no_answer:timeout' || call.outcome === 'no_answer:network' || (call.operation === 'read_state' && call.outcome === 'unknown' && call.code === undefined)) tally.unscripted += 1;
        if (call.operation !== 'read_state') tally.call(outcome.jobKey, `${call.operation} ${call.code ?? (call.outcome === 'success' ? 'ok' : call.outcome)}`);
      }
      const what = outcome.status === 'dead_lettered' ? `dead-lettered ${outcome.category}` : outcome.status;
      tally.deliveries.set(outcome.jobKey, [...(tally.deliveries.get(outcome.jobKey) ?? []), `${what}: ${outcome.detail}`]);
      if (outcome.status === 'completed') tally.ends.set(outcome.jobKey, 'completed');
      if (outcome.status === 'dead_lettered') tally.ends.set(outcome.jobKey, outcome.category);
    },
  });
  // The redrive's hold probe on the in-memory ledger; secret versions as Secrets Manager's ListSecretVersionIds shows them.
  const probe: HoldProbe = {
    facts: async (hold) => {
      if (hold.cause === 'token_rejected') {
        const app = await ledger.appGates();
        return { ...(app.tokenGate ? { tokenGate: app.tokenGate } : {}), secretVersion: world.tokenVersion };
      }
      const number = await ledger.number(hold.phoneNumberId);
      const version = world.pinVersions.get(hold.phoneNumberId);
      return { ...(number.hold ? { numberHold: number.hold } : {}), ...(hold.cause !== 'needs_verification' && version ? { secretVersion: version } : {}) };
    },
  };
  const redrivable = new Set<string>([...AUTO_REDRIVE_CATEGORIES, ...HELD_CATEGORIES]);
  let lastTick = Number.NEGATIVE_INFINITY;
  return {
    invoke: async (messages) => {
      const event: SQSEvent = { Records: messages.map((message) => queue.toRecord(message)) };
      const response = await worker.handleBatch(event);
      const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
      for (const message of messages) if (!failed.has(message.messageId)) queue.delete(message.receiptHandle!);
    },
    tick: async () => {
      const now = clock.now();
      lastTick = now;
      for (const entry of letters) {
        if (entry.redriven) continue;
        const hold = deadLetterHold(entry.letter);
        const verdict = hold ? holdVerdict(hold, await probe.facts(hold), now) : undefined;
        if (!decideRedrive(entry.letter, { kind: 'eligible' }, now, verdict).redrive) continue;
        entry.redriven = true;
        tally.redrive(entry.letter.category);
        sendJob(world, entry.letter.job!, entry.letter.redriveGeneration + 1);
      }
      for (const message of queue.moved.splice(0)) tally.ends.set(jobOf(message).idempotencyKey!, 'max_receives (moved by SQS)');
    },
    waiting: () =>
      queue.moved.length > 0 ||
      letters.some(({ letter, at, redriven }) => !redriven && redrivable.has(letter.category) && Math.max(at, letter.eligibleAt ?? 0, world.secretChangedAt) >= lastTick),
  };
}

const describeAnswer = (answer: NaiveAnswer | undefined) =>
  answer === undefined ? 'none' : answer.code !== undefined ? String(answer.code) : answer.status === 0 ? 'no answer' : `http ${answer.status}`;

/** The naive consumer on the same FIFO queue; its operator sends back the jobs a revoked token failed, once replaced. */
function naive(world: World, tally: Tally): Consumer {
  const last = new Map<string, NaiveAnswer>();
  const handler = naiveConsumer({
    baseUrl: world.simulator.baseUrl,
    fifo: true,
    timeoutMs: 2_000,
    token: async () => {
      const token = await world.secrets.accessToken();
      return token.kind === 'found' ? token.value : '';
    },
    pin: async (phoneNumberId) => {
      const pin = await world.secrets.pin(phoneNumberId);
      return pin.kind === 'found' ? pin.value : '';
    },
    onAnswer: (answer) => {
      if (answer.status === 0) tally.unscripted += 1;
      last.set(answer.jobKey!, answer);
      tally.call(answer.jobKey!, `${answer.operation} ${answer.status >= 200 && answer.status < 300 ? 'ok' : describeAnswer(answer)}`);
    },
  });
  const tokenFailed: QueueMessage[] = [];
  const collectMoved = () => {
    for (const message of world.queue.moved.splice(0)) {
      const key = jobOf(message).idempotencyKey!;
      tally.ends.set(key, `max receives, last answer ${describeAnswer(last.get(key))}`);
      if (last.get(key)?.code === 190) tokenFailed.push(message);
    }
  };
  return {
    invoke: async (messages) => {
      collectMoved();
      const response = await handler({ Records: messages.map((message) => world.queue.toRecord(message)) });
      const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
      for (const message of messages) {
        if (failed.has(message.messageId)) continue;
        world.queue.delete(message.receiptHandle!);
        tally.ends.set(jobOf(message).idempotencyKey!, 'completed');
      }
    },
    tick: async () => {
      collectMoved();
      if (world.clock.now() - world.start < REPLACED_AT_MS) return;
      for (const message of tokenFailed.splice(0)) {
        tally.redrive('token (last answer 190)');
        sendJob(world, jobOf(message), generationOf(message) + 1);
      }
    },
    waiting: () => world.queue.moved.length > 0 || tokenFailed.length > 0,
  };
}

/** Plays the plan: arrivals, the token revocation and replacement, ticks, and polls until every job ended. */
async function drive(world: World, plan: PlannedNumber[], consumer: Consumer): Promise<void> {
  const arrivals = plan.flatMap((number) => number.jobs).sort((a, b) => a.at - b.at);
  let next = 0;
  let phase = 0;
  let nextTick = world.start + TICK_MS;
  for (let step = 0; step < 200_000; step++) {
    const now = world.clock.now();
    const elapsed = now - world.start;
    while (next < arrivals.length && arrivals[next]!.at <= elapsed) sendJob(world, arrivals[next++]!.job, 0);
    if (phase === 0 && elapsed >= REVOKED_AT_MS) {
      world.simulator.setTokens([SECOND_TOKEN]);
      phase = 1;
    }
    if (phase === 1 && elapsed >= REPLACED_AT_MS) {
      world.tokenVersion = world.secrets.storeToken(SECOND_TOKEN);
      world.secretChangedAt = now;
      phase = 2;
    }
    if (now >= nextTick) {
      await consumer.tick();
      nextTick = now - ((now - world.start) % TICK_MS) + TICK_MS;
    }
    for (let round = 0; ; round++) {
      if (round > 1_000) throw new Error(`wasted-attempts: messages still deliverable after ${round} rounds`);
      const batches: QueueMessage[][] = [];
      for (let slot = 0; slot < CONCURRENCY; slot++) {
        const batch = world.queue.receive(BATCH_SIZE);
        if (batch.length === 0) break;
        batches.push(batch);
      }
      if (batches.length === 0) break;
      await Promise.all(batches.map((batch) => consumer.invoke(batch)));
    }
    const upcoming = [
      next < arrivals.length ? world.start + arrivals[next]!.at : undefined,
      phase === 0 ? world.start + REVOKED_AT_MS : phase === 1 ? world.start + REPLACED_AT_MS : undefined,
      world.queue.nextVisibleAt(),
      next < arrivals.length || phase < 2 || consumer.waiting() ? nextTick : undefined,
    ].filter((time): time is number => time !== undefined);
    if (upcoming.length === 0) return;
    world.clock.set(Math.max(Math.min(...upcoming), now + 1_000));
  }
  throw new Error('wasted-attempts: the run did not settle');
}

interface Run {
  name: string;
  wallMs: number;
  tally: Tally;
  simulator: GraphSimulator;
  simulatedDays: number;
}

async function runConsumer(name: string, plan: PlannedNumber[], build: (world: World, tally: Tally) => Consumer): Promise<Run> {
  const world = await createWorld(plan);
  const tally = new Tally();
  const started = performance.now();
  try {
    await drive(world, plan, build(world, tally));
  } finally {
    await world.simulator.stop();
  }
  return { name, wallMs: performance.now() - started, tally, simulator: world.simulator, simulatedDays: (world.clock.now() - world.start) / DAY_MS };
}

interface NumberResult {
  number: PlannedNumber;
  oracle: OracleView;
  sent: number;
  /** Beyond the oracle that knows only what the API shows. */
  wasted: number;
  /** Beyond the all-knowing oracle. */
  beyondAllKnowing: number;
  blocked: boolean;
  offline: boolean;
  differs: boolean;
}

function perNumber(run: Run, plan: PlannedNumber[]): NumberResult[] {
  return plan.map((number) => {
    const view = oracle(number);
    const calls = run.simulator.limitedCalls(number.id);
    const state = run.simulator.number(number.id)!;
    return {
      number,
      oracle: view,
      sent: calls.length,
      wasted: Math.max(0, calls.length - view.needed - view.learning),
      beyondAllKnowing: Math.max(0, calls.length - view.needed),
      blocked: calls.some((call) => call.answeredWith === 'error 133016'),
      offline: view.final.registered && view.registrable && !state.registered,
      differs: state.registered !== view.final.registered || (state.registered && state.region !== view.final.region),
    };
  });
}

const sum = <T>(items: T[], value: (item: T) => number) => items.reduce((total, item) => total + value(item), 0);
const count = <T>(items: T[], test: (item: T) => boolean) => items.filter(test).length;
const counted = (values: Iterable<string>) => {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
};

function jobLine(number: PlannedNumber, run: Run, planned: PlannedJob, needed: number): string {
  const { job } = planned;
  const key = job.idempotencyKey!;
  const calls = run.tally.calls.get(key) ?? [];
  const what = `${job.action}${job.action === 'deregister' ? '' : ` (${job.reason}${job.dataLocalizationRegion ? `, ${job.dataLocalizationRegion}` : ''})`}`;
  const at = `+${Math.floor(planned.at / DAY_MS)}d${String(Math.floor(planned.at / HOUR_MS) % 24).padStart(2, '0')}h`;
  return `  #${planned.n} ${at} ${what}: oracle ${needed}, sent ${calls.length}${calls.length ? ` [${calls.join(', ')}]` : ''} → ${run.tally.ends.get(key) ?? 'not ended'}`;
}

/** wa-registrar's requests beyond the oracle, job by job, grouped by what the job met. */
function causes(results: NumberResult[], run: Run): Array<{ cause: string; jobs: number; numbers: Set<string>; extra: number; example: string }> {
  const rows = new Map<string, { cause: string; jobs: number; numbers: Set<string>; extra: number; example: string }>();
  const add = (cause: string, id: string, extra: number, example: string) => {
    const row = rows.get(cause) ?? { cause, jobs: 0, numbers: new Set<string>(), extra: 0, example };
    row.jobs += 1;
    row.numbers.add(id);
    row.extra += extra;
    rows.set(cause, row);
  };
  for (const result of results.filter((candidate) => candidate.wasted > 0)) {
    const { number, oracle: view } = result;
    number.jobs.forEach((planned, index) => {
      const calls = run.tally.calls.get(planned.job.idempotencyKey!) ?? [];
      const extra = calls.length - view.perJob[index]!;
      if (extra === 0) return;
      const answers = calls.map((call) => call.replace(/^(register|deregister) /, '$1→')).join(', ') || 'nothing sent';
      add(`${number.profile}: ${planned.job.action} (oracle ${view.perJob[index]}) → ${answers}`, number.id, extra, `${number.id} #${planned.n}`);
    });
    if (number.http500s > 0 && view.needed > 0) add(`${number.profile}: 5xx retries the oracle pays too`, number.id, -number.http500s, number.id);
  }
  return [...rows.values()].sort((a, b) => b.extra - a.extra || a.cause.localeCompare(b.cause));
}

function detail(results: NumberResult[], run: Run): string {
  const lines: string[] = [];
  for (const result of results.filter((candidate) => candidate.sent !== candidate.oracle.needed || candidate.offline || candidate.differs || candidate.blocked)) {
    const { number, oracle: view } = result;
    const state = run.simulator.number(number.id)!;
    lines.push(
      `${number.id} ${number.profile} (start ${number.registered ? 'registered' : 'not registered'}, ${number.http500s} injected 5xx): sent ${result.sent}, oracle ${view.needed}, wasted ${result.wasted}` +
        `${result.blocked ? ', BLOCKED' : ''}${result.offline ? ', LEFT OFFLINE' : ''}; ends ${state.registered ? `registered${state.region ? ` (${state.region})` : ''}` : 'not registered'}, oracle ${view.final.registered ? `registered${view.final.region ? ` (${view.final.region})` : ''}` : 'not registered'}`,
    );
    for (const [index, planned] of number.jobs.entries()) {
      lines.push(jobLine(number, run, planned, view.perJob[index]!));
      for (const delivery of run.tally.deliveries.get(planned.job.idempotencyKey!) ?? []) lines.push(`      ${delivery}`);
    }
  }
  return lines.join('\n');
}

/** Runs both consumers on the same plan and returns the Markdown section. */
export async function run(): Promise<string> {
  process.env.POWERTOOLS_LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.AWS_REGION ??= 'eu-west-1';
  const plan = makePlan();
  const ours = await runConsumer('wa-registrar', plan, registrar);
  const theirs = await runConsumer('naive consumer', plan, naive);
  const jobs = plan.flatMap((number) => number.jobs);
  const needed = sum(plan, (number) => oracle(number).needed);
  const learning = sum(plan, (number) => oracle(number).learning);

  const row = (run: Run) => {
    const results = perNumber(run, plan);
    const ends = jobs.map((planned) => run.tally.ends.get(planned.job.idempotencyKey!) ?? 'not ended');
    const failed = ends.filter((end) => end !== 'completed');
    const moved = failed.filter((end) => end.startsWith('max receives, '));
    const dead =
      [
        ...counted(failed.filter((end) => !end.startsWith('max receives, '))).map(([end, n]) => `${end} ${n}`),
        ...(moved.length ? [`max_receives ${moved.length} (${counted(moved.map((end) => end.slice('max receives, '.length))).map(([end, n]) => `${end} ${n}`).join(', ')})`] : []),
      ].join(', ') || 'none';
    const redriven = counted([...run.tally.redriven].flatMap(([category, n]) => Array.from({ length: n }, () => category))).map(([category, n]) => `${category} ${n}`).join(', ');
    return {
      results,
      line:
        `| ${run.name} | ${sum(results, (r) => r.sent)} | ${needed + learning} (${needed} + ${learning}) | **${sum(results, (r) => r.wasted)}** | ${sum(results, (r) => r.beyondAllKnowing)} | ${count(results, (r) => r.blocked)} | ${count(results, (r) => r.offline)} | ` +
        `${count(results, (r) => r.differs)} | ${count(ends, (end) => end === 'completed')} | ${dead} | ${redriven || 'none'} | ${(run.wallMs / 1000).toFixed(1)} s (${run.simulatedDays.toFixed(1)} simulated days) |`,
    };
  };
  const a = row(ours);
  const b = row(theirs);
  const profileRows = PROFILES.map(([profile]) => {
    const of = (results: NumberResult[]) => results.filter((result) => result.number.profile === profile);
    const [mine, naiveOnes] = [of(a.results), of(b.results)];
    return (
      `| ${profile} | ${mine.length} | ${sum(mine, (r) => r.number.jobs.length)} | ${sum(mine, (r) => r.oracle.needed)} | ${sum(mine, (r) => r.sent)} | ${sum(mine, (r) => r.wasted)} | ` +
      `${sum(naiveOnes, (r) => r.sent)} | ${sum(naiveOnes, (r) => r.wasted)} | ${count(naiveOnes, (r) => r.blocked)} | ${count(naiveOnes, (r) => r.offline)} |`
    );
  });
  const causeRows = causes(a.results, ours).map((row) => `| ${row.cause} | ${row.jobs} | ${row.numbers.size} | ${row.extra > 0 ? '+' : ''}${row.extra} | ${row.example} |`);
  if (process.env.BENCH_DETAIL) console.error(`wa-registrar, numbers that wasted or ended elsewhere than the oracle:\n${detail(a.results, ours)}\n`);

  return [
    '### Wasted attempts: 1,000 jobs over 100 numbers, with faults',
    '',
    `Seed ${SEED}. Jobs arrive over ${ARRIVAL_MS / DAY_MS} days (register with every reason, deregister, set_localization with and without a region; 6-14 per number) for 100 numbers: ` +
      PROFILES.map(([profile, n]) => `${n} ${profile.replaceAll('_', ' ')}`).join(', ') +
      ` (1-3 HTTP 500s each). Meta revokes the token on day ${REVOKED_AT_MS / DAY_MS + 1}; the new one is stored ${(REPLACED_AT_MS - REVOKED_AT_MS) / HOUR_MS} h later, and held jobs come back with generation + 1 ` +
      `(wa-registrar: the scheduled redrive every ${TICK_MS / MINUTE_MS} min, which also sends back rate-limited jobs; naive: an operator re-sends its dead letters whose last answer was 190). ` +
      `Both run on the same FIFO queue definition (visibility ${JOB_QUEUE.visibilityTimeoutSeconds} s, maxReceiveCount ${JOB_QUEUE.maxReceiveCount}), ${CONCURRENCY} invocations of up to ${BATCH_SIZE} records at once, each against a fresh Graph simulator over HTTP; only the clock is simulated.`,
    '',
    '| Consumer | register + deregister sent | minimum (all-knowing + learning) | wasted | beyond all-knowing | numbers blocked (133016) | numbers left offline | numbers ending unlike the oracle | jobs completed | jobs ending dead-lettered | redriven | wall time |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    a.line,
    b.line,
    '',
    ...(ours.tally.unscripted + theirs.tally.unscripted > 0
      ? [`Not scripted, so not reproducible: ${ours.tally.unscripted} (wa-registrar) and ${theirs.tally.unscripted} (naive) Graph calls got no answer within the client timeout on this machine.`, '']
      : []),
    'The oracle knows Meta\'s state and runs each number\'s jobs in order: a register costs 1 unless the number is already registered with no re-register intended (0), ' +
      'a deregister 1 if registered, a set_localization 2 on a registered number and 1 otherwise, every 5xx one more on a number it sends anything for, and nothing at all for a number whose register cannot succeed ' +
      '(wrong PIN, expired verification, persistent 133000) or while the token is revoked. Learning is what a state read cannot show and no consumer can avoid: 1 request per number for a wrong stored PIN, 3 for a 133000 that a deregister does not cure. ' +
      'Wasted = sent − (all-knowing + learning) per number, never below 0; "beyond all-knowing" leaves the learning out.',
    '',
    '| Profile | numbers | jobs | oracle | wa-registrar sent | wa-registrar wasted | naive sent | naive wasted | naive blocked | naive left offline |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...profileRows,
    '',
    ...(causeRows.length === 0
      ? ['wa-registrar sent nothing beyond the oracle on any number.']
      : [
          '#### Where wa-registrar sends more than the oracle (numbers with waste, job by job)',
          '',
          '| Profile: job (oracle) → Graph answers | jobs | numbers | requests beyond the oracle | e.g. number #job |',
          '|---|---|---|---|---|',
          ...causeRows,
        ]),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await run());
}
