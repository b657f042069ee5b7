import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { LOCAL_RESOURCES_FILE, readLocalResources } from '../shared/local-resources.ts';

/**
 * POSTs a webhook body the way Meta does: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw bytes>`, keyed
 * with the app secret. The bytes sent are the bytes signed: a string is sent as its UTF-8, an object as its JSON.
 * For tests and the local run; standalone on purpose (no import from the receiver it exercises).
 */
export async function postSignedWebhook(
  url: string,
  body: string | Uint8Array | object,
  appSecret: string,
  options: { headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string }> {
  const bytes = Buffer.from(body instanceof Uint8Array ? body : typeof body === 'string' ? body : JSON.stringify(body));
  const signature = `sha256=${createHmac('sha256', appSecret).update(bytes).digest('hex')}`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature, ...options.headers },
    body: bytes,
    redirect: 'manual',
  });
  return { status: response.status, text: await response.text() };
}

const USAGE = `Usage: npx tsx tools/webhook-sender.ts FILE.json [--dir DIR]

Posts FILE.json's bytes, signed like Meta signs webhooks, to the webhook receiver of a running local run (npm start).
The URL and the app secret's id come from DIR/${LOCAL_RESOURCES_FILE} (default: the current directory); the app
secret itself is read from Secrets Manager on the local emulator and never printed.
`;

/** `npx tsx tools/webhook-sender.ts FILE.json`: sends a file to the local run's receiver; the exit code is 0 for HTTP 2xx. */
async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (values.help || positionals.length !== 1) {
    (values.help ? process.stdout : process.stderr).write(USAGE);
    return values.help ? 0 : 2;
  }
  const dir = resolve(values.dir ?? '.');
  // Checked like the CLI checks it: the emulator endpoint and the receiver's URL must be on this machine.
  const local = await readLocalResources(dir);
  if (!local?.webhookUrl || !local.appSecretId) throw new Error(`no running local run found: ${resolve(dir, LOCAL_RESOURCES_FILE)} is missing or names no webhook receiver; start one with npm start`);
  const body = await readFile(positionals[0]!);
  // The emulator takes any credentials; never a real AWS profile.
  const secrets = new SecretsManagerClient({ endpoint: local.endpoint, region: local.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 2 });
  let appSecret: string | undefined;
  try {
    appSecret = (await secrets.send(new GetSecretValueCommand({ SecretId: local.appSecretId }))).SecretString;
  } finally {
    secrets.destroy();
  }
  if (!appSecret) throw new Error(`the secret ${local.appSecretId} holds no string`);
  // The receiver also accepts {"appSecret": "..."}; the local run stores it plain.
  const key = appSecret.trimStart().startsWith('{') ? String((JSON.parse(appSecret) as { appSecret?: unknown }).appSecret ?? '') : appSecret;
  const answer = await postSignedWebhook(local.webhookUrl, body, key);
  process.stdout.write(`POST ${local.webhookUrl} (${body.length} bytes, signed with ${local.appSecretId}): HTTP ${answer.status} ${answer.text}\n`);
  return answer.status >= 200 && answer.status < 300 ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`webhook-sender: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
