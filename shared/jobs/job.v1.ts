import { z } from 'zod';
import { isSecretFieldName } from '../secret-fields.ts';

/** The 14 data-localization regions Meta accepts; anything else (e.g. `US`) is rejected. */
export const DATA_LOCALIZATION_REGIONS = [
  'AU', 'ID', 'IN', 'JP', 'SG', 'KR', 'DE', 'CH', 'GB', 'BR', 'BH', 'ZA', 'AE', 'CA',
] as const;

export const JOB_ACTIONS = ['register', 'deregister', 'set_localization', 'migrate'] as const;
/** What a register does when the number has no PIN secret: dead-letter it (default), or store a new one first. */
export const PIN_POLICIES = ['dead-letter-when-missing', 'provision-if-missing'] as const;
export const JOB_REASONS = ['account_creation', 'name_change', 'migration', 'localization_change', 'manual'] as const;

/** Larger bodies are refused before parsing: a real job is a few hundred bytes. */
export const MAX_JOB_BYTES = 16 * 1024;

export type JobAction = (typeof JOB_ACTIONS)[number];
export type JobReason = (typeof JOB_REASONS)[number];
export type DataLocalizationRegion = (typeof DATA_LOCALIZATION_REGIONS)[number];

/**
 * A registration job, version 1: the contract with upstream systems.
 * This schema is the only definition; the JSON Schema in `schema/job.v1.json` is generated from it.
 */
export const jobV1Schema = z
  .strictObject({
    schemaVersion: z.literal(1).default(1).describe('Job schema version. Optional; defaults to 1.'),
    action: z.enum(JOB_ACTIONS).describe(
      'register | deregister | set_localization (deregister, then register with or without dataLocalizationRegion) | ' +
        'migrate (register an On-Premises number with its backup, read from BACKUP_SECRET_PREFIX + phoneNumberId).',
    ),
    phoneNumberId: z
      .string()
      .regex(/^\d{1,20}$/, 'phoneNumberId must be 1-20 digits (it is used in a URL path)')
      .describe("Meta's phone number ID (digits only)."),
    dataLocalizationRegion: z
      .enum(DATA_LOCALIZATION_REGIONS, {
        error: `dataLocalizationRegion must be one of ${DATA_LOCALIZATION_REGIONS.join(', ')}`,
      })
      .optional()
      .describe('Local storage region for register or set_localization. Omit on set_localization to disable.'),
    reason: z.enum(JOB_REASONS).default('manual').describe('Why the job exists; kept on the ledger for audit.'),
    pinPolicy: z
      .enum(PIN_POLICIES)
      .optional()
      .describe(
        'register only. provision-if-missing: a number with no PIN secret and two-step verification off gets a new random PIN, ' +
          'stored before the register sends it. Default: dead-letter when missing.',
      ),
    businessAccountId: z
      .string()
      .regex(/^\d{1,20}$/, 'businessAccountId must be 1-20 digits')
      .optional()
      .describe("The number's WhatsApp Business Account id, when known (the events path fills it from the webhook)."),
    idempotencyKey: z
      .string()
      .regex(/^[A-Za-z0-9_.:#-]{1,80}$/, 'idempotencyKey must be 1-80 characters of A-Z a-z 0-9 _ . : # -')
      .optional()
      .describe('Deduplicates the job. When absent, the SQS message id serves.'),
  })
  .superRefine((job, ctx) => {
    if ((job.action === 'deregister' || job.action === 'migrate') && job.dataLocalizationRegion !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['dataLocalizationRegion'],
        message: `dataLocalizationRegion has no meaning for ${job.action}; use set_localization to change the region`,
      });
    }
    if (job.pinPolicy === 'provision-if-missing' && job.action !== 'register') {
      ctx.addIssue({ code: 'custom', path: ['pinPolicy'], message: 'pinPolicy provision-if-missing is for register jobs only (a new number)' });
    }
  });

export type JobV1 = z.output<typeof jobV1Schema>;
export type JobV1Input = z.input<typeof jobV1Schema>;

/** The outcome of reading one SQS body as a job. Errors are sentences safe to show and to log. */
export type JobParseResult = { ok: true; job: JobV1 } | { ok: false; error: string };

/**
 * Parses a raw message body into a job. Never throws, never echoes the body (it might hold a secret).
 */
export function parseJob(body: string): JobParseResult {
  if (body.trim() === '') return { ok: false, error: 'empty message body: expected a JSON job' };
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > MAX_JOB_BYTES) {
    return { ok: false, error: `message body is ${bytes} bytes; a job may be at most ${MAX_JOB_BYTES} bytes` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { ok: false, error: 'message body is not valid JSON' };
  }
  return validateJob(raw);
}

/** Validates an already-parsed value as a job (used by the CLI for JSONL and CSV rows too). */
export function validateJob(raw: unknown): JobParseResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, error: 'a job must be a JSON object' };
  }
  // A field that would put a secret on the queue: refused by name, so the error can say where secrets live instead.
  const secretField = Object.keys(raw).find(isSecretFieldName);
  if (secretField !== undefined) {
    return {
      ok: false,
      error:
        `a job must not carry a secret (found "${secretField}"): PINs live in Secrets Manager ` +
        'under PIN_SECRET_PREFIX + phoneNumberId, and the access token in TOKEN_SECRET_ID',
    };
  }
  const parsed = jobV1Schema.safeParse(raw);
  if (!parsed.success) return { ok: false, error: describeIssues(parsed.error) };
  return { ok: true, job: parsed.data };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join('.') : 'job';
      // Unknown keys are named but their values never echoed.
      return `${where}: ${issue.message}`;
    })
    .join('; ');
}
