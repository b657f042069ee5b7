import type { Clock } from '../clock.ts';
import type { GraphClient } from '../graph/port.ts';
import type { AttemptLedger, BusinessRecord } from '../ledger/port.ts';
import type { SecretStore } from '../secrets/port.ts';
import { updateBusiness, updateNumber } from './ledger-writes.ts';
import { digitsOf, mapInto } from './resolve.ts';

/** What the directory needs. */
export interface DirectoryDeps {
  ledger: AttemptLedger;
  graph: Pick<GraphClient, 'listPhoneNumbers'>;
  secrets: Pick<SecretStore, 'accessToken' | 'evict'>;
  clock: Clock;
  /** A business's list is read from Graph at most once per this long (LIST_REFRESH_MINUTES): reads spend WABA budget. */
  refreshMs: number;
  /** Called for every list read sent to Graph (metrics, tests). */
  onList?: (businessAccountId: string) => void;
}

/** A display number looked up in a business account. `retry`: not known yet, and no list may or could be read now. */
export type NumberLookup =
  | { kind: 'found'; phoneNumberId: string; business: BusinessRecord }
  | { kind: 'unknown_number'; business: BusinessRecord; /** When the list that lacks it was read (none for a number without digits). */ listedAt?: number }
  | { kind: 'retry'; why: string };

export type BusinessLookup = { kind: 'known'; business: BusinessRecord } | { kind: 'retry'; why: string };

/** Codes that mean Meta refused the token: the cached one is forgotten, so the next try reads the secret again. */
const TOKEN_REFUSED = new Set([190, 0]);

/**
 * Maps (business account, display digits) to a phone number id. The business item's `numbers` (from Meta's list) is
 * the persistent cache, a per-container copy the second, and only on a miss is the list read from Graph again, at most
 * once per `refreshMs` per business. A fresh list is stored whole on the business item.
 */
export class NumberDirectory {
  readonly #deps: DirectoryDeps;
  /** Lists this container read, kept even when storing them on the ledger failed. */
  readonly #memory = new Map<string, { numbers: Record<string, string>; listedAt: number }>();

  constructor(deps: DirectoryDeps) {
    this.#deps = deps;
  }

  /**
   * The number behind a display number. A number missing from a list read at or after `occurredAt` is unknown; one
   * missing from an older list makes the directory read the list again, or say `retry` while the last read is recent.
   */
  async find(businessAccountId: string, displayPhoneNumber: string, occurredAt: number): Promise<NumberLookup> {
    const digits = digitsOf(displayPhoneNumber);
    let business = await this.#deps.ledger.business(businessAccountId);
    const memory = this.#memory.get(businessAccountId);
    const cached = digits === '' ? undefined : (business.numbers[digits] ?? memory?.numbers[digits]);
    if (cached !== undefined) return { kind: 'found', phoneNumberId: cached, business };
    const lastListedAt = Math.max(business.listedAt ?? Number.NEGATIVE_INFINITY, memory?.listedAt ?? Number.NEGATIVE_INFINITY);
    // No list can show a number without digits; a list read after the change would show the number if it existed.
    if (digits === '') return { kind: 'unknown_number', business };
    if (lastListedAt >= occurredAt) return { kind: 'unknown_number', business, listedAt: lastListedAt };
    const waitMs = lastListedAt + this.#deps.refreshMs - this.#deps.clock.now();
    if (waitMs > 0) {
      return { kind: 'retry', why: `the number list of ${businessAccountId} was read before this change, and is read again at most every ${Math.round(this.#deps.refreshMs / 60_000)} min (next in ${Math.ceil(waitMs / 1000)} s)` };
    }
    const listed = await this.#list(businessAccountId);
    if (listed.kind === 'retry') return listed;
    business = listed.business;
    const id = business.numbers[digits];
    return id === undefined ? { kind: 'unknown_number', business, ...(business.listedAt !== undefined ? { listedAt: business.listedAt } : {}) } : { kind: 'found', phoneNumberId: id, business };
  }

  /** The number behind a display number, if a list already showed it; never reads Graph. */
  async known(businessAccountId: string, displayPhoneNumber: string): Promise<string | undefined> {
    const digits = digitsOf(displayPhoneNumber);
    if (digits === '') return undefined;
    const business = await this.#deps.ledger.business(businessAccountId);
    return business.numbers[digits] ?? this.#memory.get(businessAccountId)?.numbers[digits];
  }

  /**
   * The business with its numbers: read from Graph when none are known and the last read is not recent. Numbers a
   * read adds to a restricted business are held with `holdDetail`.
   */
  async withNumbers(businessAccountId: string, holdDetail?: string): Promise<BusinessLookup> {
    const business = await this.#deps.ledger.business(businessAccountId);
    if (Object.keys(business.numbers).length > 0) return { kind: 'known', business };
    // A recent list that found no number is an answer: the business has none.
    if (business.listedAt !== undefined && business.listedAt + this.#deps.refreshMs > this.#deps.clock.now()) return { kind: 'known', business };
    return this.#list(businessAccountId, holdDetail);
  }

  /** Reads the whole list from Graph and stores it; numbers new to a restricted business are held at once. */
  async #list(businessAccountId: string, holdDetail?: string): Promise<BusinessLookup> {
    const { ledger, graph, secrets, clock } = this.#deps;
    // The business's own token when it has one (Solution Partners), else the default.
    const token = await secrets.accessToken({ businessAccountId });
    if (token.kind !== 'found') return { kind: 'retry', why: `no usable Graph token for business ${businessAccountId} (${token.kind}); the number list was not read` };
    this.#deps.onList?.(businessAccountId);
    const result = await graph.listPhoneNumbers(businessAccountId, token.value);
    if (result.kind === 'unknown') {
      if (result.code !== undefined && TOKEN_REFUSED.has(result.code)) secrets.evict({ token: token.scope ?? true });
      return { kind: 'retry', why: `${result.why}${result.code !== undefined ? ` (code ${result.code})` : ''}` };
    }
    const listedAt = clock.now();
    const numbers: Record<string, string> = Object.fromEntries(result.numbers.map((entry) => [digitsOf(entry.displayPhoneNumber), entry.id]).filter(([digits]) => digits !== ''));
    this.#memory.set(businessAccountId, { numbers, listedAt });
    let before: Record<string, string> = {};
    const { business } = await updateBusiness(
      ledger,
      businessAccountId,
      (current) => {
        before = current.numbers;
        return { ...current, numbers, listedAt };
      },
      listedAt,
    );
    if (business.account?.state === 'restricted') {
      const known = new Set(Object.values(before));
      for (const id of new Set(Object.values(numbers))) {
        if (!known.has(id)) await updateNumber(ledger, id, (number) => ({ number: mapInto(number, business, holdDetail) }), listedAt);
      }
    }
    return { kind: 'known', business };
  }
}
