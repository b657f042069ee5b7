import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { join } from 'node:path';
import { LOCAL_RESOURCES_FILE, LocalResourcesError, readLocalResources } from '../../shared/local-resources.ts';
import { STACK_OUTPUT_KEYS } from '../../shared/stack-outputs.ts';

/** What a command may need; each command asks for the parts it uses with `requireResource`. */
export interface Resources {
  region?: string;
  /** An emulator endpoint; absent means real AWS. */
  endpoint?: string;
  jobQueueUrl?: string;
  deadLetterQueueUrl?: string;
  ledgerTableName?: string;
  tokenSecretId?: string;
  pinSecretPrefix?: string;
  /** A business's own token is this prefix + its WABA id (the redrive's hold check reads its versions). */
  tokenSecretPrefix?: string;
  /** The PIN rotation function (`pin rotate` starts Secrets Manager's rotation with it) and the stage's schedule, in days (0: none). */
  pinRotationFunctionArn?: string;
  pinRotationDays?: string;
  /** The local run's Graph simulator (from its file): `verify` and `explain` call it unless told otherwise. */
  graphApiBaseUrl?: string;
  /** Where the values came from, for error messages: `flags`, `stack NAME`, or the local file's path. */
  source: string;
}

export interface ResourceFlags {
  jobQueueUrl?: string;
  deadLetterQueueUrl?: string;
  ledgerTableName?: string;
  region?: string;
  endpoint?: string;
  stack?: string;
}

/** A resource could not be found; the message says which flag or file would provide it. */
export class ResourceError extends Error {
  override readonly name = 'ResourceError';
}

export interface ResolveContext {
  cwd: string;
  env: Record<string, string | undefined>;
  /** Replaces CloudFormation (tests); returns the stack's outputs as key → value. */
  describeStack?: (stackName: string, region: string | undefined) => Promise<Record<string, string>>;
}

/**
 * Resolves queues and table: explicit flags win; below them, the deployed stack's outputs (`--stack`), else the
 * local run's file. Without `--stack` and without the file, only flags (and AWS_REGION) count.
 */
export async function resolveResources(flags: ResourceFlags, context: ResolveContext): Promise<Resources> {
  let base: Resources = { source: 'flags' };
  if (flags.stack) {
    const region = flags.region ?? context.env.AWS_REGION ?? context.env.AWS_DEFAULT_REGION;
    const outputs = await (context.describeStack ?? describeStackOutputs)(flags.stack, region);
    base = {
      source: `stack ${flags.stack}`,
      ...pick('region', outputs[STACK_OUTPUT_KEYS.region]),
      ...pick('jobQueueUrl', outputs[STACK_OUTPUT_KEYS.jobQueueUrl]),
      ...pick('deadLetterQueueUrl', outputs[STACK_OUTPUT_KEYS.deadLetterQueueUrl]),
      ...pick('ledgerTableName', outputs[STACK_OUTPUT_KEYS.ledgerTableName]),
      ...pick('tokenSecretId', outputs[STACK_OUTPUT_KEYS.tokenSecretId]),
      ...pick('pinSecretPrefix', outputs[STACK_OUTPUT_KEYS.pinSecretPrefix]),
      ...pick('tokenSecretPrefix', outputs[STACK_OUTPUT_KEYS.tokenSecretPrefix]),
      ...pick('pinRotationFunctionArn', outputs[STACK_OUTPUT_KEYS.pinRotationFunctionArn]),
      ...pick('pinRotationDays', outputs[STACK_OUTPUT_KEYS.pinRotationDays]),
    };
  } else {
    const local = await readLocalFile(context.cwd);
    if (local) base = { ...local, source: join(context.cwd, LOCAL_RESOURCES_FILE) };
  }
  const envRegion = context.env.AWS_REGION ?? context.env.AWS_DEFAULT_REGION;
  return {
    ...base,
    ...pick('region', flags.region ?? base.region ?? envRegion),
    ...pick('endpoint', flags.endpoint ?? base.endpoint),
    ...pick('jobQueueUrl', flags.jobQueueUrl ?? base.jobQueueUrl),
    ...pick('deadLetterQueueUrl', flags.deadLetterQueueUrl ?? base.deadLetterQueueUrl),
    ...pick('ledgerTableName', flags.ledgerTableName ?? base.ledgerTableName),
    source: flags.jobQueueUrl || flags.deadLetterQueueUrl || flags.ledgerTableName ? `${base.source} + flags` : base.source,
  };
}

const FLAG_FOR: Record<'jobQueueUrl' | 'deadLetterQueueUrl' | 'ledgerTableName', [flag: string, what: string]> = {
  jobQueueUrl: ['--job-queue-url', 'job queue'],
  deadLetterQueueUrl: ['--dlq-url', 'dead-letter queue'],
  ledgerTableName: ['--table', 'ledger table'],
};

/** The named resource, or a `ResourceError` that says how to provide it. */
export function requireResource(resources: Resources, name: keyof typeof FLAG_FOR): string {
  const value = resources[name];
  if (value) return value;
  throw new ResourceError(
    `no ${FLAG_FOR[name][1]} is known (looked in: ${resources.source}). ` +
      `Pass ${FLAG_FOR[name][0]}, or --stack NAME for a deployed stack, or start the local run (npm start), ` +
      `which writes ${LOCAL_RESOURCES_FILE}.`,
  );
}

/** The local run's file, or undefined when there is none; a file that cannot be used is a `ResourceError`. */
async function readLocalFile(cwd: string) {
  try {
    return await readLocalResources(cwd);
  } catch (error) {
    if (error instanceof LocalResourcesError) throw new ResourceError(error.message);
    throw error;
  }
}

async function describeStackOutputs(stackName: string, region: string | undefined): Promise<Record<string, string>> {
  const client = new CloudFormationClient({ ...(region ? { region } : {}), maxAttempts: 3 });
  try {
    const output = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = output.Stacks?.[0];
    if (!stack) throw new ResourceError(`stack ${stackName} was not found`);
    return Object.fromEntries((stack.Outputs ?? []).flatMap((item) => (item.OutputKey && item.OutputValue ? [[item.OutputKey, item.OutputValue]] : [])));
  } catch (error) {
    if (error instanceof ResourceError) throw error;
    throw new ResourceError(`cannot read the outputs of stack ${stackName}${region ? ` in ${region}` : ''}: ${(error as Error).message}`);
  } finally {
    client.destroy();
  }
}

function pick<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value ? ({ [key]: value } as Record<K, string>) : {};
}
