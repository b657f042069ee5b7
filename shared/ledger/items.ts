import { z } from 'zod';
import { HOLD_CAUSES, DEAD_LETTER_CATEGORIES } from '../jobs/dlq-envelope.v1.ts';
import { JOB_REASONS } from '../jobs/job.v1.ts';
import type { AppGates, AttemptRecord, BusinessRecord, JobRecord, NameDeadline, NumberEvent, NumberRecord } from './port.ts';

/**
 * The ledger's DynamoDB items, one zod schema each: the adapter parses every item it reads, so a malformed or
 * foreign item fails loudly instead of being read as "no attempts".
 * Layout: partition `PN#<phoneNumberId>` holds `NUMBER` and `ATTEMPT#<time>#<id>`; partition `JOB#<jobKey>` holds
 * the job (keys are global, so one key reused for another number's job is seen as a conflict); `APP`/`GATES` holds
 * the app-wide gates; `WABA#<id>`/`BUSINESS` holds a business account's numbers and state; `DEADLINES`/`PN#<id>`
 * lists open re-register deadlines. `expiresAt` (epoch seconds) is the TTL attribute.
 */
export const LEDGER_KEYS = { partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'expiresAt' } as const;

export const numberKey = (phoneNumberId: string) => `PN#${phoneNumberId}`;
export const NUMBER_SK = 'NUMBER';
export const jobItemKey = (jobKey: string) => ({ pk: `JOB#${jobKey}`, sk: 'JOB' }) as const;
export const APP_KEY = { pk: 'APP', sk: 'GATES' } as const;
export const businessItemKey = (businessAccountId: string) => ({ pk: `WABA#${businessAccountId}`, sk: 'BUSINESS' }) as const;
export const DEADLINES_PK = 'DEADLINES';
export const eventSk = (at: number, changeId: string) => `EVENT#${String(at).padStart(15, '0')}#${changeId.slice(0, 16)}`;
export const deadlineItemKey = (phoneNumberId: string) => ({ pk: DEADLINES_PK, sk: `PN#${phoneNumberId}` }) as const;
// Zero-padded time first, so a Query on the prefix returns requests oldest first.
export const attemptSk = (at: number, attemptId: string) => `ATTEMPT#${String(at).padStart(15, '0')}#${attemptId}`;
/** The first layout kept one counter per scope; its request times still count until TTL removes them. */
export const LEGACY_BUDGET_SKS = ['BUDGET#all', 'BUDGET#register', 'BUDGET#deregister'] as const;

const operation = z.enum(['register', 'deregister']);
const time = z.number();

const holdSchema = z.object({
  cause: z.enum(HOLD_CAUSES),
  since: time,
  code: z.number().optional(),
  pinVersion: z.string().optional(),
  until: time.optional(),
  businessAccountId: z.string().optional(),
  changedAt: time.optional(),
  detail: z.string(),
});

const numberItemSchema = z.object({
  version: z.number().int(),
  spent: z.array(z.object({ at: time, operation: z.enum(['register', 'deregister', 'any']) })).default([]),
  reserved: z.array(z.object({ jobKey: z.string(), operation, at: time, until: time })).default([]),
  blockedUntil: z.object({ register: time.optional(), deregister: time.optional() }).default({}),
  hold: holdSchema.optional(),
  lastSuccess: z.object({ operation, at: time }).optional(),
  lastPinVersion: z.string().optional(),
  incompleteDeregister: z.object({ since: time }).optional(),
  businessAccountId: z.string().optional(),
  accountHold: holdSchema.optional(),
  pinRotation: z.object({ since: time, pendingVersion: z.string(), sentAt: time.optional() }).optional(),
  lastPinSet: z.object({ at: time, version: z.string(), by: z.enum(['rotation', 'provision']), sentAt: time.optional() }).optional(),
  verification: z
    .object({
      requestedAt: time.optional(),
      method: z.enum(['SMS', 'VOICE']).optional(),
      confirmedAt: time.optional(),
      lastError: z.object({ code: z.number().optional(), at: time, message: z.string() }).optional(),
    })
    .optional(),
  nameApproval: z.object({ approvedAt: time, deadline: time, changeId: z.string(), requestedName: z.string().optional() }).optional(),
});

const businessItemSchema = z.object({
  version: z.number().int(),
  numbers: z.record(z.string(), z.string()).default({}),
  listedAt: time.optional(),
  account: z.object({ state: z.enum(['restricted', 'clear']), at: time, event: z.string() }).optional(),
});

const eventItemSchema = z.object({ at: time, detailType: z.string(), changeId: z.string(), summary: z.string() });

export function toNumberEvent(item: Record<string, unknown>): NumberEvent {
  return strip(eventItemSchema.parse(item)) as NumberEvent;
}

const deadlineItemSchema = z.object({
  phoneNumberId: z.string(),
  approvedAt: time,
  deadline: time,
  businessAccountId: z.string().optional(),
});

const decisionSchema = z.object({
  category: z.enum(DEAD_LETTER_CATEGORIES),
  reason: z.string(),
  hint: z.string(),
  eligibleAt: time.optional(),
  blockedUntil: time.optional(),
  hold: z
    .object({
      cause: z.enum([...HOLD_CAUSES, 'token_rejected']),
      businessAccountId: z.string().optional(),
      since: time,
      until: time.optional(),
      secretVersion: z.string().optional(),
      code: z.number().optional(),
    })
    .optional(),
  graphError: z
    .object({
      code: z.number().optional(),
      subcode: z.number().optional(),
      message: z.string().optional(),
      details: z.string().optional(),
      fbtraceId: z.string().optional(),
      httpStatus: z.number().optional(),
    })
    .optional(),
});

const jobItemSchema = z.object({
  version: z.number().int(),
  status: z.enum(['in_progress', 'completed', 'dead_lettered']),
  generation: z.number().int().default(0),
  jobHash: z.string().optional(),
  leaseOwner: z.string().optional(),
  leaseUntil: time.optional(),
  progress: z
    .object({
      deregisterDone: z.boolean().optional(),
      noDeregisterNeeded: z.boolean().optional(),
      repairTried: z.boolean().optional(),
      repairPending: z.boolean().optional(),
      connectedBefore: z.boolean().optional(),
    })
    .default({}),
  uncertain: z.number().int().default(0),
  lastAttempt: z
    .object({ attemptId: z.string(), at: time, operation, outcome: z.enum(['pending', 'success', 'rejected', 'unknown']), code: z.number().optional() })
    .optional(),
  decision: decisionSchema.optional(),
});

const tokenGateSchema = z.object({ tokenVersion: z.string(), since: time, code: z.number() });

const appItemSchema = z.object({
  version: z.number().int(),
  throttledUntil: time.optional(),
  businessThrottles: z.record(z.string(), time).optional(),
  tokenGate: tokenGateSchema.optional(),
  businessTokenGates: z.record(z.string(), tokenGateSchema).optional(),
});

const attemptItemSchema = z.object({
  attemptId: z.string(),
  operation,
  at: time,
  reason: z.enum(JOB_REASONS),
  jobKey: z.string(),
  outcome: z.enum(['pending', 'success', 'rejected', 'unknown']),
  pinVersion: z.string().optional(),
  tokenVersion: z.string().optional(),
  tokenScope: z.string().optional(),
  httpStatus: z.number().optional(),
  code: z.number().optional(),
  subcode: z.number().optional(),
  fbtraceId: z.string().optional(),
  durationMs: z.number().optional(),
});

const legacyBudgetSchema = z.object({
  sk: z.string(),
  attemptTimes: z.array(time).default([]),
  blockedUntil: time.optional(),
});

/** A number item as read, with any legacy counters folded in (their operation is `any` unless the scope names it). */
export function toNumberRecord(phoneNumberId: string, item: Record<string, unknown> | undefined, legacy: Record<string, unknown>[]): NumberRecord {
  const parsed = item ? numberItemSchema.parse(item) : { version: 0, spent: [], reserved: [], blockedUntil: {} };
  const record = { phoneNumberId, ...strip(parsed) } as NumberRecord;
  for (const raw of legacy) {
    const old = legacyBudgetSchema.parse(raw);
    const scope = old.sk.slice('BUDGET#'.length);
    const op = scope === 'register' || scope === 'deregister' ? scope : 'any';
    record.spent = [...old.attemptTimes.map((at) => ({ at, operation: op as 'register' | 'deregister' | 'any' })), ...record.spent];
    if (old.blockedUntil !== undefined) {
      for (const blocked of op === 'any' ? (['register', 'deregister'] as const) : [op as 'register' | 'deregister']) {
        record.blockedUntil = { ...record.blockedUntil, [blocked]: Math.max(old.blockedUntil, record.blockedUntil[blocked] ?? 0) };
      }
    }
  }
  return record;
}

export function toJobRecord(jobKey: string, item: Record<string, unknown>): JobRecord {
  return { jobKey, ...strip(jobItemSchema.parse(item)) } as JobRecord;
}

export function toAppGates(item: Record<string, unknown> | undefined): AppGates {
  return item ? (strip(appItemSchema.parse(item)) as AppGates) : { version: 0 };
}

export function toBusinessRecord(businessAccountId: string, item: Record<string, unknown> | undefined): BusinessRecord {
  return item ? ({ businessAccountId, ...strip(businessItemSchema.parse(item)) } as BusinessRecord) : { businessAccountId, version: 0, numbers: {} };
}

export function toNameDeadline(item: Record<string, unknown>): NameDeadline {
  return strip(deadlineItemSchema.parse(item)) as NameDeadline;
}

export function toAttemptRecord(phoneNumberId: string, item: Record<string, unknown>): AttemptRecord {
  return { phoneNumberId, ...strip(attemptItemSchema.parse(item)) } as AttemptRecord;
}

/** Drops keys whose value is undefined, so records compare equal whichever adapter produced them. */
export function strip<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}
