import { strip } from '../../shared/ledger/items.ts';
import {
  emptyBusiness,
  emptyNumber,
  type AppGates,
  type BusinessRecord,
  type NameDeadline,
  type NumberEvent,
  type AttemptLedger,
  type AttemptRecord,
  type JobRecord,
  type LedgerChanges,
  type LedgerSnapshot,
  type NumberRecord,
} from '../../shared/ledger/port.ts';

/**
 * An in-memory AttemptLedger with the DynamoDB adapter's semantics: job records keyed by job key alone (keys are
 * global), whole items under version conditions, all-or-nothing commits, idempotent request tokens, attempts that
 * must exist to be updated, and an optional per-call delay. The contract test holds both adapters to the same behaviour.
 */
export class InMemoryAttemptLedger implements AttemptLedger {
  readonly #numbers = new Map<string, NumberRecord>();
  readonly #jobs = new Map<string, JobRecord>();
  readonly #attempts = new Map<string, AttemptRecord[]>();
  readonly #tokens = new Set<string>();
  readonly #businesses = new Map<string, BusinessRecord>();
  readonly #deadlines = new Map<string, NameDeadline>();
  readonly #events = new Map<string, Map<string, NumberEvent>>();
  #app: AppGates = { version: 0 };
  readonly #delayMs: number;

  constructor(options: { delayMs?: number } = {}) {
    this.#delayMs = options.delayMs ?? 0;
  }

  async read(phoneNumberId: string, jobKey: string): Promise<LedgerSnapshot> {
    await this.#delay();
    const job = this.#jobs.get(jobKey);
    return {
      number: clone(this.#numbers.get(phoneNumberId) ?? emptyNumber(phoneNumberId)),
      ...(job ? { job: clone(job) } : {}),
      app: clone(this.#app),
    };
  }

  async commit(changes: LedgerChanges, token: string): Promise<'committed' | 'conflict'> {
    await this.#delay();
    if (this.#tokens.has(token)) return 'committed';
    const id = changes.phoneNumberId;
    const versionOf = (item: { version: number } | undefined) => item?.version ?? 0;
    const jobKey = changes.job?.jobKey ?? '';
    const list = this.#attempts.get(id) ?? [];
    const record = changes.attempt && ('create' in changes.attempt ? changes.attempt.create : changes.attempt.update);
    const exists = record !== undefined && list.some((entry) => entry.attemptId === record.attemptId);
    const conflict =
      (changes.number && versionOf(this.#numbers.get(id)) !== changes.number.version - 1) ||
      (changes.job && versionOf(this.#jobs.get(jobKey)) !== changes.job.version - 1) ||
      (changes.app && this.#app.version !== changes.app.version - 1) ||
      (changes.business && versionOf(this.#businesses.get(changes.business.businessAccountId)) !== changes.business.version - 1) ||
      (changes.checkApp !== undefined && this.#app.version !== changes.checkApp) ||
      (changes.attempt && ('create' in changes.attempt ? exists : !exists));
    if (conflict) return 'conflict';
    if (changes.number) this.#numbers.set(id, clone(changes.number));
    if (changes.job) this.#jobs.set(jobKey, clone(changes.job));
    if (changes.app) this.#app = clone(changes.app);
    if (changes.business) this.#businesses.set(changes.business.businessAccountId, clone(changes.business));
    if (changes.deadline) this.#deadlines.set(changes.deadline.phoneNumberId, clone(changes.deadline));
    if (record) {
      const kept = list.filter((entry) => entry.attemptId !== record.attemptId);
      this.#attempts.set(id, [...kept, clone(record)].sort((a, b) => a.at - b.at || a.attemptId.localeCompare(b.attemptId)));
    }
    this.#tokens.add(token);
    return 'committed';
  }

  async history(phoneNumberId: string): Promise<AttemptRecord[]> {
    await this.#delay();
    return clone(this.#attempts.get(phoneNumberId) ?? []);
  }

  async number(phoneNumberId: string): Promise<NumberRecord> {
    await this.#delay();
    return clone(this.#numbers.get(phoneNumberId) ?? emptyNumber(phoneNumberId));
  }

  async appGates(): Promise<AppGates> {
    await this.#delay();
    return clone(this.#app);
  }

  async business(businessAccountId: string): Promise<BusinessRecord> {
    await this.#delay();
    return clone(this.#businesses.get(businessAccountId) ?? emptyBusiness(businessAccountId));
  }

  async deadlines(): Promise<NameDeadline[]> {
    await this.#delay();
    return clone([...this.#deadlines.values()].sort((a, b) => a.deadline - b.deadline));
  }

  async dropDeadline(phoneNumberId: string, approvedAt: number): Promise<void> {
    await this.#delay();
    if (this.#deadlines.get(phoneNumberId)?.approvedAt === approvedAt) this.#deadlines.delete(phoneNumberId);
  }

  async recordEvent(phoneNumberId: string, event: NumberEvent, _expiresAt: number): Promise<void> {
    await this.#delay();
    const events = this.#events.get(phoneNumberId) ?? new Map<string, NumberEvent>();
    events.set(`${String(event.at).padStart(15, '0')}#${event.changeId.slice(0, 16)}`, clone(event));
    this.#events.set(phoneNumberId, events);
  }

  async events(phoneNumberId: string): Promise<NumberEvent[]> {
    await this.#delay();
    const events = this.#events.get(phoneNumberId) ?? new Map<string, NumberEvent>();
    return clone([...events.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, event]) => event));
  }

  /** Every item, for tests that scan the ledger for secrets. */
  dump(): unknown {
    return { numbers: [...this.#numbers.values()], jobs: [...this.#jobs.values()], attempts: [...this.#attempts.values()], app: this.#app, businesses: [...this.#businesses.values()], deadlines: [...this.#deadlines.values()] };
  }

  #delay(): Promise<void> {
    return this.#delayMs > 0 ? new Promise((resolve) => setTimeout(resolve, this.#delayMs)) : Promise.resolve();
  }
}

/** A deep copy without undefined keys, as DynamoDB would store it. */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_key, entry: unknown) => (entry && typeof entry === 'object' && !Array.isArray(entry) ? strip(entry) : entry))) as T;
}
