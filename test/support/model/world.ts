import type { SQSBatchResponse } from 'aws-lambda';
import { ManualClock } from '../../../shared/clock.ts';
import type { WorkerConfig } from '../../../shared/config.ts';
import { HttpGraphClient } from '../../../shared/graph/http-graph-client.ts';
import type { AttemptLedger } from '../../../shared/ledger/port.ts';
import { JOB_QUEUE } from '../../../infra/definitions.ts';
import { simulatorDigest, startGraphSimulator, type GraphSimulator } from '../../../tools/graph-simulator.ts';
import { InMemoryAttemptLedger } from '../in-memory-ledger.ts';
import { FifoQueue, type MessageAttributes, type QueueMessage } from './fifo-queue.ts';
import { instrumentGraph, instrumentPort, invocations, matchSimulatorCall, type ArmedFault, type InstrumentHooks, type Invocation } from './instrument.ts';
import { EventPath } from './event-adapter.ts';
import { BUSINESS_IDS, businessOf, displayDigitsOf, numberIds, type Setup } from './program.ts';
import { jobId, Records, type Delivery, type ModelOutcome, type NumberConditions } from './records.ts';
import { SecretCatalog } from './secret-scan.ts';
import { ModelSecretStore } from './secret-store.ts';
import { modelDeadLetterQueue, modelJobQueue, parseDelivery } from './queue-ports.ts';
import { buildWorker, modelConfig, type ModelWorker } from './worker-adapter.ts';

const DAY_MS = 86_400_000;
/** PINs Meta has for numbers 0-3. All model PINs start with 0 (see SecretCatalog). */
const CORRECT_PINS = ['047193', '058204', '069315', '070426'];
/** Rounds of receive + invoke at one instant before the model calls it a livelock. */
const MAX_ROUNDS = 200;

export interface WorldOptions {
  /** 'hang' faults beyond this many become http500 (each hang costs the Graph timeout in real time). */
  maxHangs: number;
}

/** An SQS send of a job: what `toJobMessage` returns, as far as the queue needs it. */
export interface JobMessage {
  MessageBody?: string;
  MessageGroupId?: string;
  MessageDeduplicationId?: string;
  MessageAttributes?: Record<string, { DataType?: string; StringValue?: string }>;
}

/**
 * One model run's world: a manual clock shared by everything, the Graph simulator over HTTP, the real worker on
 * the in-memory ledger, the model secret store, a FIFO job queue and a dead-letter list, all instrumented.
 */
export class World {
  readonly clock = new ManualClock();
  readonly records = new Records();
  readonly catalog = new SecretCatalog((text) => this.records.violation(text));
  /** Secrets Manager as the worker's container sees it (the resolver has another container's view). */
  readonly secrets = new ModelSecretStore(this.clock, { seq: () => this.records.nextSeq() });
  /** The job queue, with the stack's visibility timeout and redrive policy. */
  readonly queue = new FifoQueue(this.clock, { visibilityTimeoutSeconds: JOB_QUEUE.visibilityTimeoutSeconds, maxReceiveCount: JOB_QUEUE.maxReceiveCount });
  readonly ledger: AttemptLedger;
  readonly #rawLedger = new InMemoryAttemptLedger();
  readonly numbers: string[];
  readonly hooks: InstrumentHooks;
  /** Every job message sent, for resends. */
  readonly sent: JobMessage[] = [];
  readonly acceptedTokens = new Set<string>();
  /**
   * Numbers whose PIN at Meta is one Secrets Manager holds (AWSCURRENT or AWSPENDING) since the last step that changed
   * a PIN from outside (someone in WhatsApp Manager, an operator storing another PIN): invariant 11 watches these.
   */
  readonly pinWatch = new Map<string, boolean>();
  readonly startedAt = this.clock.now();
  hangsLeft: number;
  #tokens = 0;
  #wrongPins = 0;
  #metaPins = 0;
  #rotationPins = 0;
  #invocations = 0;
  simulator!: GraphSimulator;
  config!: WorkerConfig;
  worker!: ModelWorker;
  /** The webhook receiver and the event resolver, on the same ledger, simulator, secrets and job queue. */
  events!: EventPath;

  readonly setup: Setup;

  private constructor(setup: Setup, options: WorldOptions) {
    this.setup = setup;
    this.hangsLeft = options.maxHangs;
    this.numbers = numberIds(setup);
    this.hooks = {
      records: this.records,
      faults: [] as ArmedFault[],
      callCounts: { ledger: 0, secrets: 0, deadLetters: 0, jobQueue: 0 },
      claimed: new Set<number>(),
      scan: (source, value) => this.catalog.scan(source, value),
      graphDone: (event) => {
        const secrets = `${event.operation === 'register' ? ` ${this.catalog.label(event.pinDigest)},` : ''} ${this.catalog.label(event.tokenDigest)}`;
        const answer = `${event.answeredWith ?? 'no call reached the simulator'}${event.threw ? ` (the client threw ${event.threw})` : ''}`;
        this.records.note(`      graph ${event.operation} ${event.phoneNumberId} (${event.delivery?.jobKey ?? '?'}):${secrets} → ${answer}`);
      },
    };
    this.ledger = instrumentPort<AttemptLedger>(this.#rawLedger, 'ledger', this.hooks);
  }

  static async create(setup: Setup, options: WorldOptions): Promise<World> {
    const world = new World(setup, options);
    await world.#start();
    return world;
  }

  async #start(): Promise<void> {
    const token = this.newToken(true);
    if (this.setup.tokenStored) this.secrets.storeToken(token);
    BUSINESS_IDS.slice(0, this.setup.businesses).forEach((businessAccountId, b) => {
      if ((this.setup.ownTokens ?? 0) & (1 << b)) this.secrets.storeToken(this.newToken(true), businessAccountId);
    });
    this.simulator = await startGraphSimulator({ now: () => this.clock.now(), tokens: [...this.acceptedTokens] });
    this.setup.numbers.forEach((number, index) => {
      const id = this.numbers[index]!;
      this.catalog.addPin(CORRECT_PINS[index]!, `PIN correct of ${id}`);
      this.simulator.addNumber(id, {
        ...(number.pinEnabled ? { pin: CORRECT_PINS[index]! } : {}),
        registered: number.registered,
        codeVerificationStatus: number.verification,
      });
      if (number.storedPin === 'correct') this.secrets.storePin(id, CORRECT_PINS[index]!);
      if (number.storedPin === 'wrong') this.secrets.storePin(id, this.newWrongPin(id));
      if (number.storedPin === 'malformed') this.secrets.storeMalformedPin(id);
    });
    // Each business lists its numbers with their display numbers as Meta formats them (+1 555-010-0101).
    for (const businessAccountId of BUSINESS_IDS.slice(0, this.setup.businesses)) {
      const members = this.numbers.flatMap((id, index) => (businessOf(this.setup, index) === businessAccountId ? [{ phoneNumberId: id, index }] : []));
      this.simulator.addBusiness(
        businessAccountId,
        members.map(({ phoneNumberId, index }) => {
          const digits = displayDigitsOf(index);
          return { phoneNumberId, displayPhoneNumber: `+1 ${digits.slice(1, 4)}-${digits.slice(4, 7)}-${digits.slice(7)}` };
        }),
      );
    }
    const config = (this.config = modelConfig(this.simulator.baseUrl));
    // A 100 ms timeout: a 'hang' costs a tenth of a second of real time, not the production 30 s.
    const http = new HttpGraphClient({ baseUrl: this.simulator.baseUrl, version: 'v25.0', timeoutMs: 100 });
    this.worker = buildWorker(config, {
      clock: this.clock,
      graph: instrumentGraph(http, this.hooks, (id) => this.#conditions(id), this.simulator, async (id) => {
        const [number, gates] = await Promise.all([this.#rawLedger.number(id), this.#rawLedger.appGates()]);
        return { ...(number.pinRotation ? { pinRotation: number.pinRotation.pendingVersion } : {}), ...(number.businessAccountId ? { business: number.businessAccountId } : {}), gates };
      }),
      ledger: this.ledger,
      secrets: instrumentPort(this.secrets, 'secrets', this.hooks),
      deadLetters: instrumentPort(modelDeadLetterQueue(this), 'deadLetters', this.hooks),
      jobQueue: instrumentPort(modelJobQueue(this), 'jobQueue', this.hooks),
      onOutcome: (outcome) => this.#onOutcome(outcome),
    });
    this.events = new EventPath(this, this.simulator.baseUrl);
  }

  /** The ledger's number item, read past the instrumentation (for the invariants). */
  rawNumber(phoneNumberId: string) {
    return this.#rawLedger.number(phoneNumberId);
  }

  /** The business account of a number id. */
  businessOfNumber(phoneNumberId: string): string {
    return businessOf(this.setup, this.numbers.indexOf(phoneNumberId));
  }

  /** A PIN a rotation generates: new, different from every PIN so far, in the catalog and in `records.rotationPins`. */
  newRotationPin(phoneNumberId: string): string {
    this.#rotationPins += 1;
    const value = `0${String(50_000 + this.#rotationPins * 173).slice(-5)}`;
    this.catalog.addPin(value, `PIN rotated#${this.#rotationPins} for ${phoneNumberId}`);
    this.records.rotationPins.add(simulatorDigest(value));
    return value;
  }

  /** Every ledger item (for the webhook fingerprint). */
  ledgerDump(): unknown {
    return this.#rawLedger.dump();
  }

  numberId(index: number): string {
    return this.numbers[index % this.numbers.length]!;
  }

  correctPin(phoneNumberId: string): string {
    return this.simulator.number(phoneNumberId)?.pin ?? CORRECT_PINS[this.numbers.indexOf(phoneNumberId)]!;
  }

  newToken(valid: boolean): string {
    const value = `EAAGmodel${this.#tokens}${valid ? 'ok' : 'bad'}Zq${(this.#tokens * 7919).toString(36)}`;
    this.catalog.addToken(value, `token#${this.#tokens}${valid ? '' : ' (never valid)'}`);
    this.#tokens += 1;
    if (valid) this.acceptedTokens.add(value);
    return value;
  }

  newWrongPin(phoneNumberId: string): string {
    this.#wrongPins += 1;
    const value = `0${String(81_000 + this.#wrongPins * 137).slice(-5)}`;
    this.catalog.addPin(value, `PIN wrong#${this.#wrongPins} of ${phoneNumberId}`);
    return value;
  }

  /** A PIN someone set in WhatsApp Manager: Meta's PIN from now on, never stored before. */
  newMetaPin(phoneNumberId: string): string {
    this.#metaPins += 1;
    const value = `0${String(30_000 + this.#metaPins * 211).slice(-5)}`;
    this.catalog.addPin(value, `PIN set at Meta#${this.#metaPins} for ${phoneNumberId}`);
    return value;
  }

  /** Puts a job message on the queue (FIFO deduplication applies) and remembers the job it carries. */
  sendJob(message: JobMessage, how: string): void {
    this.sent.push(message);
    const attributes: MessageAttributes = Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([key, value]) => [key, { dataType: value.DataType ?? 'String', stringValue: value.StringValue ?? '' }]),
    );
    const sent = this.queue.send({ body: message.MessageBody!, groupId: message.MessageGroupId!, dedupId: message.MessageDeduplicationId!, attributes });
    const job = parseDelivery(message.MessageBody!, attributes);
    this.records.note(`  ${how}: ${job.action} ${job.phoneNumberId} key ${job.jobKey} g${job.generation} → ${sent.accepted ? sent.messageId : `dropped by FIFO deduplication (same as ${sent.messageId})`}`);
    const id = jobId(job.jobKey, job.generation);
    if (sent.accepted && !this.records.enqueued.has(id)) this.records.enqueued.set(id, { jobKey: job.jobKey, generation: job.generation, phoneNumberId: job.phoneNumberId, body: message.MessageBody! });
  }

  /** Polls and invokes, like Lambda's event source, until nothing is deliverable at this instant. */
  async runUntilQuiet(): Promise<void> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const batches: QueueMessage[][] = [];
      for (let slot = 0; slot < this.setup.concurrency; slot++) {
        const batch = this.queue.receive(this.setup.batchSize);
        if (batch.length === 0) break;
        batches.push(batch);
      }
      if (batches.length === 0) return;
      await Promise.all(batches.map((batch) => this.#invoke(batch)));
    }
    this.records.violation(`livelock: messages still deliverable after ${MAX_ROUNDS} rounds at ${this.time()}`);
  }

  /**
   * At the end: moves the clock to each next delivery (at most 30 days on) and runs the resolver's queue, then the job
   * queue, until both are empty.
   */
  async drain(): Promise<void> {
    const deadline = this.clock.now() + 30 * DAY_MS;
    this.records.note(`drain (up to 30 days):`);
    for (let jump = 0; jump < 2_000 && this.records.runtimeViolations.length === 0; jump++) {
      await this.events.resolve({ order: 'fifo', duplicate: false });
      await this.runUntilQuiet();
      const next = Math.min(this.queue.nextVisibleAt() ?? Infinity, this.events.nextVisibleAt() ?? Infinity);
      if (next === Infinity || next > deadline) return;
      this.clock.set(Math.max(next, this.clock.now() + 1_000));
    }
  }

  /** Time since the start, e.g. +3d04h10m05s (a webhook's event time may be before the start: -0d00h01m00s). */
  time(at = this.clock.now()): string {
    const signed = Math.round((at - this.startedAt) / 1000);
    const s = Math.abs(signed);
    const pad = (value: number) => String(value).padStart(2, '0');
    return `${signed < 0 ? '-' : '+'}${Math.floor(s / 86_400)}d${pad(Math.floor(s / 3600) % 24)}h${pad(Math.floor(s / 60) % 60)}m${pad(s % 60)}s`;
  }

  async stop(): Promise<void> {
    await this.simulator.stop();
  }

  /** What a pre-flight read (and the secret store) would show for the number right now. */
  #conditions(phoneNumberId: string): NumberConditions {
    const number = this.simulator.number(phoneNumberId);
    const metaPin = number?.pin;
    const currentPin = this.secrets.pinStages(phoneNumberId).current?.digest;
    return {
      now: this.clock.now(),
      pinStored: this.secrets.hasPin(phoneNumberId),
      ownTokens: BUSINESS_IDS.filter((business) => this.secrets.currentToken(business) !== undefined),
      ...(metaPin !== undefined ? { metaPin: simulatorDigest(metaPin) } : {}),
      ...(currentPin !== undefined ? { currentPin } : {}),
      ...(number ? { verification: number.codeVerificationStatus, registered: number.registered } : {}),
      ...(number?.pinLockedUntil !== undefined ? { pinLockedUntil: number.pinLockedUntil } : {}),
    };
  }

  async #invoke(messages: QueueMessage[]): Promise<void> {
    this.#invocations += 1;
    const invocation: Invocation = { id: this.#invocations, dead: false, groups: new Map(), unrecorded: new Map(), gatesAtStart: await this.#rawLedger.appGates() };
    const event = { Records: messages.map((message) => this.queue.toRecord(message)) };
    for (const message of messages) {
      const delivery: Delivery = { ...parseDelivery(message.body, message.attributes), invocation: invocation.id, messageId: message.messageId, receiptHandle: message.receiptHandle!, receiveCount: message.receiveCount };
      const group = invocation.groups.get(message.groupId) ?? { deliveries: [], current: 0 };
      group.deliveries.push(delivery);
      invocation.groups.set(message.groupId, group);
    }
    const list = messages.map((m) => `${m.messageId}(${parseDelivery(m.body, m.attributes).jobKey} rc${m.receiveCount})`).join(' ');
    this.records.note(`  [${this.time()}] invocation ${invocation.id}: ${list}`);
    let response: SQSBatchResponse | undefined;
    try {
      response = await invocations.run(invocation, () => this.worker.handleBatch(event));
    } catch (error) {
      this.records.note(`    handler threw ${(error as Error).name}: the whole batch returns after its visibility timeout`);
    }
    for (const graphEvent of this.records.graph) if (graphEvent.invocation === invocation.id) matchSimulatorCall(graphEvent, this.simulator, this.hooks);
    if (invocation.dead) return this.records.note(`    invocation ${invocation.id} crashed: nothing deleted`);
    if (!response) return;
    const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
    if ([...failed].some((id) => !messages.some((message) => message.messageId === id))) {
      return this.records.note(`    unknown batchItemFailures id: Lambda fails the whole batch`);
    }
    for (const message of messages) if (!failed.has(message.messageId)) this.queue.delete(message.receiptHandle!);
    if (failed.size > 0) this.records.note(`    failed (stay in flight): ${[...failed].join(' ')}`);
  }

  #onOutcome(outcome: ModelOutcome): void {
    this.catalog.scan('an outcome', outcome);
    const group = invocations.getStore()?.groups.get(outcome.phoneNumberId ?? '');
    let delivery: Delivery | undefined;
    if (group) {
      const index = group.deliveries.findIndex((candidate, position) => position >= group.current && candidate.jobKey === outcome.jobKey);
      const at = index >= 0 ? index : group.current;
      delivery = group.deliveries[at];
      group.current = at + 1;
    }
    this.records.outcomes.push({ seq: this.records.nextSeq(), outcome, ...(delivery ? { delivery } : {}) });
    const what = `${outcome.status}${outcome.category ? ` (${outcome.category})` : ''}`;
    this.records.note(`    outcome ${outcome.jobKey}${delivery ? ` g${delivery.generation}` : ''}: ${what}: ${outcome.detail ?? ''}`);
  }
}
