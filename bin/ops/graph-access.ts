import { GetSecretValueCommand, ResourceNotFoundException, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { workerConfigSchema } from '../../shared/config.ts';
import { HttpGraphClient } from '../../shared/graph/http-graph-client.ts';
import { isLoopbackUrl } from '../../shared/loopback.ts';
import { parseTokenSecret } from '../../shared/secrets/secret-values.ts';
import { CommandError, UsageError, type Options, type Values } from '../cli-support.ts';
import type { Resources } from './resources.ts';

/**
 * What the commands that call Meta themselves (`verify`) need beyond the queues and the table: where Graph is, and
 * the token. Every other command leaves Graph to the worker and never reads a secret value; these read the token
 * secret (secretsmanager:GetSecretValue on it alone) and send it to Graph only.
 */

export const GRAPH_OPTIONS = {
  'graph-url': { type: 'string' },
  'graph-version': { type: 'string' },
  'token-secret': { type: 'string' },
} as const satisfies Options;

export const GRAPH_HELP = `
Graph (the worker's variables; a flag wins):
  --graph-url URL         GRAPH_API_BASE_URL (https://graph.facebook.com; plain http only on this machine).
                          Beside the local run: the simulator it wrote to .wa-registrar/local-stack.json.
  --graph-version V       GRAPH_API_VERSION (v25.0)
  --token-secret ID       the token secret (default: the stack's TokenSecretId output, the local run's file,
                          or TOKEN_SECRET_ID); its value is read with GetSecretValue and sent to Graph only`;

const graphSchema = workerConfigSchema.pick({ GRAPH_API_BASE_URL: true, GRAPH_API_VERSION: true, GRAPH_TIMEOUT_MS: true });

/** Where Graph is, from flags, else the worker's variables, else the worker's defaults; checked by the worker's schema. */
function graphSettings(values: Values, env: Record<string, string | undefined>, resources: Resources) {
  const flagUrl = values['graph-url'] as string | undefined;
  const raw: Record<string, string> = {};
  const url = flagUrl ?? env.GRAPH_API_BASE_URL ?? resources.graphApiBaseUrl;
  const version = (values['graph-version'] as string | undefined) ?? env.GRAPH_API_VERSION;
  if (url) raw.GRAPH_API_BASE_URL = url;
  if (version) raw.GRAPH_API_VERSION = version;
  if (env.GRAPH_TIMEOUT_MS) raw.GRAPH_TIMEOUT_MS = env.GRAPH_TIMEOUT_MS;
  // Beside an emulator, Meta itself is never the default: the local token would go to graph.facebook.com.
  if (!url && isLoopbackUrl(resources.endpoint)) {
    throw new UsageError(`the resources are on an emulator (${resources.endpoint}), so Graph is the local simulator: pass --graph-url (the local run prints it) or set GRAPH_API_BASE_URL`);
  }
  const parsed = graphSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    const source = { GRAPH_API_BASE_URL: flagUrl ? '--graph-url' : name, GRAPH_API_VERSION: values['graph-version'] ? '--graph-version' : name }[name] ?? name;
    throw new UsageError(`${source} ${issue.message}`);
  }
  return parsed.data;
}

/** A Graph client for the resolved settings. Built before any secret is read, so a bad URL costs no GetSecretValue. */
export function graphClientFor(values: Values, env: Record<string, string | undefined>, resources: Resources, now: () => number): HttpGraphClient {
  const settings = graphSettings(values, env, resources);
  return new HttpGraphClient({ baseUrl: settings.GRAPH_API_BASE_URL, version: settings.GRAPH_API_VERSION, timeoutMs: settings.GRAPH_TIMEOUT_MS, now });
}

/** The token secret's id: --token-secret, else the stack's or local file's, else TOKEN_SECRET_ID; undefined when none. */
export function knownTokenSecretId(values: Values, env: Record<string, string | undefined>, resources: Resources): string | undefined {
  return (values['token-secret'] as string | undefined) ?? resources.tokenSecretId ?? (env.TOKEN_SECRET_ID || undefined);
}

function tokenSecretId(values: Values, env: Record<string, string | undefined>, resources: Resources): string {
  const id = knownTokenSecretId(values, env, resources);
  if (id) return id;
  throw new UsageError(`no token secret is known (looked in: ${resources.source}); pass --token-secret ID or --stack NAME, or set TOKEN_SECRET_ID`);
}

/**
 * Reads the Graph token (AWSCURRENT) from Secrets Manager. Its value goes to Graph and nowhere else: errors name the
 * secret, never the value.
 */
export async function readGraphToken(
  secrets: SecretsManagerClient,
  values: Values,
  env: Record<string, string | undefined>,
  resources: Resources,
): Promise<string> {
  const secretId = tokenSecretId(values, env, resources);
  let output;
  try {
    output = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  } catch (error) {
    if (error instanceof ResourceNotFoundException) throw new CommandError(`the token secret ${secretId} does not exist; store the Graph token there first`);
    if ((error as Error).name === 'AccessDeniedException') {
      throw new CommandError(`not allowed to read the token secret ${secretId}: verify and explain need secretsmanager:GetSecretValue on it (the stack's operator Graph policy; docs/operations.md, "verify")`);
    }
    throw error;
  }
  if (output.SecretString === undefined) throw new CommandError(`the token secret ${secretId} has no string value`);
  const parsed = parseTokenSecret(output.SecretString);
  if (parsed.kind !== 'found') throw new CommandError(`the token secret ${secretId} cannot be used: ${parsed.problem}`);
  return parsed.value;
}
