import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { z } from 'zod';
import type { Clock } from '../shared/clock.ts';
import { workerConfigSchema } from '../shared/config.ts';
import { budgetPolicyFromConfig, type BudgetPolicy } from '../shared/domain/budget.ts';
import { DynamoDbAttemptLedger } from '../shared/ledger/dynamodb-ledger.ts';
import {
  AwsHoldProbe,
  VIEW_CATEGORIES,
  type DeadLetterFilter,
  type HoldProbe,
  type RedriveDeps,
  type ScanOptions,
  type ViewCategory,
} from '../shared/dead-letters/index.ts';
import { LOCAL_RESOURCES_FILE } from '../shared/local-resources.ts';
import { isLoopbackUrl } from '../shared/loopback.ts';
import { createOpsClients, type OpsClients } from './ops/clients.ts';
import { resolveResources, ResourceError, type ResolveContext, type Resources } from './ops/resources.ts';

/** Where the CLI reads and writes; tests pass their own. */
export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  stdinIsTTY: boolean;
  env: Record<string, string | undefined>;
  cwd: string;
  clock: Clock;
  /** Asks a question on the terminal; absent when there is none. */
  prompt?: (question: string) => Promise<string>;
  /** Test hooks. */
  describeStack?: ResolveContext['describeStack'];
  redriveDelete?: RedriveDeps['deleteDeadLetter'];
  scan?: ScanOptions;
}

/** One command: its help text and what it runs. */
export interface Command {
  help: string;
  run(args: string[], io: CliIo): Promise<void>;
}

/** Wrong arguments: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command ran and failed: exit code 1. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | undefined>;

export const RESOURCE_OPTIONS = {
  'job-queue-url': { type: 'string' },
  'dlq-url': { type: 'string' },
  table: { type: 'string' },
  'aws-region': { type: 'string' },
  endpoint: { type: 'string' },
  stack: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

export const BUDGET_OPTIONS = {
  limit: { type: 'string' },
  'window-hours': { type: 'string' },
  'margin-minutes': { type: 'string' },
  budget: { type: 'string' },
} as const satisfies Options;

export const FILTER_OPTIONS = {
  number: { type: 'string' },
  category: { type: 'string' },
  code: { type: 'string' },
} as const satisfies Options;

export const RESOURCE_HELP = `
Where (default: ${LOCAL_RESOURCES_FILE}, written by \`npm start\`):
  --stack NAME            read queues and table from a deployed stack's outputs
  --job-queue-url URL     --dlq-url URL     --table NAME
  --aws-region REGION     (AWS_REGION)       --endpoint URL   (an emulator)
  --json                  machine-readable output
  -h, --help`;

export const BUDGET_HELP = `
Budget settings (the worker's defaults; env ATTEMPT_LIMIT, ATTEMPT_WINDOW_HOURS, WINDOW_MARGIN_MINUTES, ATTEMPT_BUDGET_SHARED):
  --limit N               requests per window (10)
  --window-hours H        window length (72)
  --margin-minutes M      added to the window everywhere, as the worker does (15)
  --budget shared|separate  one budget for register+deregister (shared), or one each`;

/** Parses options; returns undefined when --help was asked for. Unknown options are usage errors. */
export function parse(args: string[], options: Options, command: string): { values: Values; positionals: string[] } | undefined {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message.replace(/\. To specify a positional argument.*$/s, '')}; see wa-registrar ${command} --help`);
  }
  const values = parsed.values as Values;
  if (values.help) return undefined;
  return { values, positionals: parsed.positionals };
}

export function onePositional(positionals: string[], message: string): string {
  if (positionals.length !== 1) throw new UsageError(message);
  return positionals[0]!;
}

export function checkPhoneNumberId(phoneNumberId: string): string {
  if (!/^\d{1,20}$/.test(phoneNumberId)) throw new UsageError('phoneNumberId must be 1-20 digits');
  return phoneNumberId;
}

export function filterFrom(values: Values): DeadLetterFilter {
  const filter: DeadLetterFilter = {};
  if (values.number !== undefined) filter.phoneNumberId = String(values.number);
  if (values.category !== undefined) {
    const category = String(values.category);
    if (!VIEW_CATEGORIES.includes(category as ViewCategory)) {
      throw new UsageError(`--category must be one of ${VIEW_CATEGORIES.join(', ')}`);
    }
    filter.category = category as ViewCategory;
  }
  if (values.code !== undefined) {
    const code = Number(values.code);
    if (!Number.isInteger(code)) throw new UsageError('--code must be a whole number (a Meta error code such as 133016)');
    filter.code = code;
  }
  return filter;
}

/** The worker's budget variables and the flags that override them. */
const BUDGET_SETTINGS = [
  ['limit', 'ATTEMPT_LIMIT'],
  ['window-hours', 'ATTEMPT_WINDOW_HOURS'],
  ['margin-minutes', 'WINDOW_MARGIN_MINUTES'],
  ['block-hours', 'BLOCK_HOURS'],
] as const;

const budgetSchema = workerConfigSchema.pick({
  ATTEMPT_LIMIT: true,
  ATTEMPT_WINDOW_HOURS: true,
  WINDOW_MARGIN_MINUTES: true,
  ATTEMPT_BUDGET_SHARED: true,
  BLOCK_HOURS: true,
});

/**
 * The budget settings, from flags, else the worker's variables, else the worker's defaults: parsed with the
 * worker's own config schema, so the CLI counts a window exactly as the worker does (margin included).
 */
export function budgetPolicy(values: Values, env: Record<string, string | undefined>): BudgetPolicy {
  const raw: Record<string, string> = {};
  const sourceOf: Record<string, string> = {};
  for (const [flag, name] of BUDGET_SETTINGS) {
    const value = (values[flag] as string | undefined) ?? env[name];
    if (value === undefined || value === '') continue;
    raw[name] = value;
    sourceOf[name] = values[flag] !== undefined ? `--${flag}` : name;
  }
  if (values.budget !== undefined) {
    if (values.budget !== 'shared' && values.budget !== 'separate') throw new UsageError('--budget must be shared or separate');
    raw.ATTEMPT_BUDGET_SHARED = String(values.budget === 'shared');
  } else if (env.ATTEMPT_BUDGET_SHARED !== undefined && env.ATTEMPT_BUDGET_SHARED !== '') {
    raw.ATTEMPT_BUDGET_SHARED = env.ATTEMPT_BUDGET_SHARED;
    sourceOf.ATTEMPT_BUDGET_SHARED = 'ATTEMPT_BUDGET_SHARED';
  }
  const parsed = budgetSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]) as keyof typeof budgetSchema.shape;
    const range = numberRange(budgetSchema.shape[name]);
    throw new UsageError(`${sourceOf[name] ?? name} ${range ? `must be a whole number from ${range[0]} to ${range[1]}` : issue.message}`);
  }
  return budgetPolicyFromConfig(parsed.data);
}

/** The bounds of a numeric config field (a defaulted, coerced zod number), for messages people can act on. */
function numberRange(schema: z.ZodType): [number, number] | undefined {
  const inner = 'unwrap' in schema && typeof schema.unwrap === 'function' ? (schema.unwrap() as { minValue?: number | null; maxValue?: number | null }) : undefined;
  return inner?.minValue != null && inner.maxValue != null ? [inner.minValue, inner.maxValue] : undefined;
}

/** Resolves the resources, builds the clients, runs, and turns SDK failures into sentences. */
export async function withResources(
  values: Values,
  io: CliIo,
  { regionAlias }: { regionAlias: boolean },
  run: (resources: Resources, clients: OpsClients) => Promise<void>,
): Promise<void> {
  const region = (values['aws-region'] as string | undefined) ?? (regionAlias ? (values.region as string | undefined) : undefined);
  const resources = await resolveResources(
    {
      ...(values['job-queue-url'] ? { jobQueueUrl: String(values['job-queue-url']) } : {}),
      ...(values['dlq-url'] ? { deadLetterQueueUrl: String(values['dlq-url']) } : {}),
      ...(values.table ? { ledgerTableName: String(values.table) } : {}),
      ...(region ? { region } : {}),
      ...(values.endpoint ? { endpoint: String(values.endpoint) } : {}),
      ...(values.stack ? { stack: String(values.stack) } : {}),
    },
    { cwd: io.cwd, env: io.env, ...(io.describeStack ? { describeStack: io.describeStack } : {}) },
  );
  const clients = createOpsClients(resources, io.env);
  try {
    await run(resources, clients);
  } catch (error) {
    throw explainAwsError(error, resources);
  } finally {
    clients.destroy();
  }
}

/** The hold probe for redrives, when the ledger table is known (holds are read from it). */
export function holdProbeFor(resources: Resources, clients: OpsClients): HoldProbe | undefined {
  if (!resources.ledgerTableName) return undefined;
  return new AwsHoldProbe(new DynamoDbAttemptLedger(clients.dynamodb, resources.ledgerTableName), clients.secretsManager, {
    ...(resources.tokenSecretId ? { tokenSecretId: resources.tokenSecretId } : {}),
    ...(resources.pinSecretPrefix ? { pinSecretPrefix: resources.pinSecretPrefix } : {}),
    ...(resources.tokenSecretPrefix ? { tokenSecretPrefix: resources.tokenSecretPrefix } : {}),
  });
}

export function scanOptions(resources: Resources, io: CliIo): ScanOptions {
  // Real SQS short polls can miss messages; an emulator answers every receive fully.
  return { waitTimeSeconds: isLoopbackUrl(resources.endpoint) ? 0 : 1, ...io.scan };
}

/** Turns SDK and network failures into sentences that say what to check. */
function explainAwsError(error: unknown, resources: Resources): unknown {
  if (error instanceof UsageError || error instanceof CommandError || error instanceof ResourceError) return error;
  const err = error as Error & { code?: string; cause?: { code?: string }; $metadata?: unknown };
  const code = err.code ?? err.cause?.code ?? '';
  const where = resources.endpoint ? `${resources.endpoint} (from ${resources.source})` : `AWS${resources.region ? ` in ${resources.region}` : ''}`;
  if (['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code) || /ECONNREFUSED/.test(String(err.message))) {
    const hint = resources.source.endsWith(LOCAL_RESOURCES_FILE) ? ': is the local run (npm start) still running?' : '';
    return new CommandError(`cannot reach ${where}${hint}`);
  }
  if (err.name === 'QueueDoesNotExist' || err.name === 'AWS.SimpleQueueService.NonExistentQueue') {
    return new CommandError(`the queue does not exist at ${where}; check --job-queue-url / --dlq-url or the stack`);
  }
  if (err.name === 'ResourceNotFoundException') {
    return new CommandError(`the ledger table ${resources.ledgerTableName ?? ''} does not exist at ${where}; check --table or the stack`);
  }
  if (err.name === 'CredentialsProviderError') return new CommandError(`no AWS credentials: ${err.message}`);
  if (/Region is missing/i.test(String(err.message))) return new CommandError('no AWS region: pass --aws-region or set AWS_REGION');
  return error;
}

export function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    return error instanceof CommandError || error instanceof ResourceError ? error.message : `${error.name}: ${error.message}`;
  }
  return String(error);
}
