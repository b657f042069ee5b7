import type { AppGates, NumberHold } from '../ledger/port.ts';
import type { DeadLetter, ViewCategory } from './dead-letter.ts';

/**
 * Dead-letter categories that a hold or gate put there. The scheduled redrive and `dlq redrive --eligible` send
 * them back once the hold is lifted: cleared on the ledger (`wa-registrar hold clear`), or, for PIN and token
 * causes, a new version of the secret Meta refused.
 */
export const HELD_CATEGORIES = ['pin_rejected', 'pin_locked', 'token_rejected', 'needs_verification', 'pin_changed', 'account_restricted'] as const;
export type HeldCategory = (typeof HELD_CATEGORIES)[number];

export function isHeldCategory(category: ViewCategory): category is HeldCategory {
  return (HELD_CATEGORIES as readonly string[]).includes(category);
}

/** The hold a dead letter names, with times as epoch ms. */
export interface DeadLetterHold {
  cause: HeldCategory;
  phoneNumberId: string;
  since?: number;
  /** pin_locked: Meta checks no PIN before then. */
  until?: number;
  /** The PIN or token version Meta refused. */
  secretVersion?: string;
  /** token_rejected: the business whose own token was refused (absent: the default token). */
  businessAccountId?: string;
}

/** The hold of a held dead letter: from its envelope, else (older envelopes) from its category alone. */
export function deadLetterHold(message: DeadLetter): DeadLetterHold | undefined {
  if (!isHeldCategory(message.category) || message.phoneNumberId === undefined) return undefined;
  const hold = message.envelope?.hold;
  const until = hold?.until ?? (message.category === 'pin_locked' && message.eligibleAt !== undefined ? new Date(message.eligibleAt).toISOString() : undefined);
  return {
    cause: message.category,
    phoneNumberId: message.phoneNumberId,
    ...(hold?.since === undefined ? {} : { since: Date.parse(hold.since) }),
    ...(until === undefined ? {} : { until: Date.parse(until) }),
    ...(hold?.secretVersion === undefined ? {} : { secretVersion: hold.secretVersion }),
    ...(hold?.businessAccountId === undefined ? {} : { businessAccountId: hold.businessAccountId }),
  };
}

/** What the ledger and Secrets Manager say now about one hold. Versions only: no secret value is ever read. */
export interface HoldFacts {
  /** The number's hold on the ledger now (needs_verification and PIN causes). */
  numberHold?: NumberHold;
  /** The number's account hold on the ledger now (account_restricted). */
  accountHold?: NumberHold;
  /** When the AWSCURRENT PIN version was stored (pin_changed). */
  secretCreatedAt?: number;
  /** The app's token gate now (token_rejected). */
  tokenGate?: AppGates['tokenGate'];
  /** The AWSCURRENT version of the PIN or token secret (PIN and token causes). */
  secretVersion?: string;
  /** Why there is no `secretVersion` (the secret does not exist, or its name is not known here). */
  secretProblem?: string;
}

/**
 * The port behind the redrive's hold check: reads what lifts a hold. The adapter reads the ledger and calls
 * Secrets Manager's ListSecretVersionIds; tests pass their own.
 */
export interface HoldProbe {
  facts(hold: Pick<DeadLetterHold, 'cause' | 'phoneNumberId' | 'businessAccountId'>): Promise<HoldFacts>;
}

export type HoldVerdict = { lifted: true; how: string } | { lifted: false; why: string };

/**
 * Whether the hold a dead letter names is lifted, so that a redrive would not be held again. Mirrors the worker:
 * a PIN hold stops a job while the ledger's PIN hold names the PIN version still current (and a lockout until its
 * end); the token gate while it names the current token version; a verification hold until it is cleared.
 * A new version counts only if it is neither the one the dead letter names nor the one the ledger's hold names
 * (a later refusal of the new version holds the number again). Pure.
 */
export function holdVerdict(hold: DeadLetterHold, facts: HoldFacts, now: number): HoldVerdict {
  const iso = (ms: number) => new Date(ms).toISOString();
  const newVersion = (refused: string | undefined) => {
    if (facts.secretVersion === undefined) return false;
    return facts.secretVersion !== refused && facts.secretVersion !== hold.secretVersion;
  };
  switch (hold.cause) {
    case 'needs_verification':
      if (facts.numberHold?.cause === 'needs_verification') {
        return { lifted: false, why: `still held for verification since ${iso(facts.numberHold.since)}: verify the number, then wa-registrar hold clear ${hold.phoneNumberId}` };
      }
      return { lifted: true, how: 'the verification hold is cleared' };
    case 'token_rejected': {
      const gate = facts.tokenGate;
      if (!gate) return { lifted: true, how: 'the token gate is cleared' };
      if (newVersion(gate.tokenVersion)) return { lifted: true, how: `a new token version (${facts.secretVersion}) is stored` };
      return {
        lifted: false,
        why: facts.secretVersion === undefined
          ? `the token gate is closed and the token secret has no current version (${facts.secretProblem ?? 'unknown'})`
          : 'the token gate is closed and the refused token version is still current: store a new token version',
      };
    }
    case 'account_restricted':
      if (facts.accountHold) {
        return { lifted: false, why: `the business account is still restricted (${facts.accountHold.detail}, since ${iso(facts.accountHold.since)}): a later account_update lifts it, or wa-registrar hold clear ${hold.phoneNumberId}` };
      }
      return { lifted: true, how: 'the account hold is lifted' };
    case 'pin_changed': {
      const ledgerHold = facts.numberHold;
      if (ledgerHold?.cause !== 'pin_changed') return { lifted: true, how: 'the PIN-changed hold is cleared' };
      if (facts.secretCreatedAt !== undefined && facts.secretCreatedAt > ledgerHold.since) {
        return { lifted: true, how: `a PIN version stored after the change (${iso(facts.secretCreatedAt)}) is current` };
      }
      return {
        lifted: false,
        why: facts.secretVersion === undefined
          ? `the PIN changed at ${iso(ledgerHold.since)} and the PIN secret has no current version (${facts.secretProblem ?? 'unknown'})`
          : `the PIN changed at ${iso(ledgerHold.since)} and the current PIN version is older: store the current PIN as a new version, or wa-registrar hold clear ${hold.phoneNumberId}`,
      };
    }
    case 'pin_rejected':
    case 'pin_locked': {
      const lockedUntil = Math.max(
        hold.cause === 'pin_locked' ? (hold.until ?? 0) : 0,
        facts.numberHold?.cause === 'pin_locked' ? (facts.numberHold.until ?? 0) : 0,
      );
      if (lockedUntil > now) return { lifted: false, why: `Meta checks no PIN for this number until ${iso(lockedUntil)}` };
      const ledgerHold = facts.numberHold;
      if (ledgerHold?.cause !== 'pin_rejected' && ledgerHold?.cause !== 'pin_locked') return { lifted: true, how: 'the PIN hold is cleared' };
      const afterChange = ledgerHold.changedAt === undefined || (facts.secretCreatedAt !== undefined && facts.secretCreatedAt > ledgerHold.changedAt);
      if (newVersion(ledgerHold.pinVersion) && afterChange) return { lifted: true, how: `a new PIN version (${facts.secretVersion}) is stored` };
      if (newVersion(ledgerHold.pinVersion)) {
        return { lifted: false, why: `the PIN changed at Meta ${iso(ledgerHold.changedAt!)} and the current PIN version is older: store the current PIN as a new version` };
      }
      return {
        lifted: false,
        why: facts.secretVersion === undefined
          ? `the number is held and the PIN secret has no current version (${facts.secretProblem ?? 'unknown'})`
          : `the refused PIN version is still current: store the right PIN as a new version, or wa-registrar hold clear ${hold.phoneNumberId}`,
      };
    }
  }
}

/** Which facts a cause reads: causes of one kind share a probe per number. */
const PROBE_KIND: Record<Exclude<HeldCategory, 'token_rejected'>, 'number' | 'pin'> = {
  needs_verification: 'number',
  account_restricted: 'number',
  pin_rejected: 'pin',
  pin_locked: 'pin',
  pin_changed: 'pin',
};

/** One probe per run: each number's hold and each secret is read once, however many dead letters name it. */
export function memoizeProbe(probe: HoldProbe): HoldProbe {
  const seen = new Map<string, Promise<HoldFacts>>();
  return {
    facts(hold) {
      const key = hold.cause === 'token_rejected' ? `token#${hold.businessAccountId ?? ''}` : `${PROBE_KIND[hold.cause]}#${hold.phoneNumberId}`;
      let facts = seen.get(key);
      if (!facts) {
        facts = probe.facts(hold);
        seen.set(key, facts);
      }
      return facts;
    },
  };
}
