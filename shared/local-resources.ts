import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { isLoopbackUrl } from './loopback.ts';

/**
 * The local resources file: where the local run's emulator resources are. `tools/emulator-resources.ts` produces
 * the value, the local run (`npm start`) writes it, the CLI reads it by default. This module is its only
 * definition: path, shape and both ends.
 */
export const LOCAL_RESOURCES_FILE = join('.wa-registrar', 'local-stack.json');

/** A resource name or URL the file names. */
const named = z.string().min(1);
/** A URL on this machine (see the schema below). */
const loopbackUrl = z.string().min(1).refine(isLoopbackUrl, 'is not a loopback address');

/**
 * What the emulator provisioning creates (tools/emulator-resources.ts): the job path and the event path, all on the
 * emulator. The endpoint must be on this machine: the CLI sends the file's resources dummy credentials, so a file
 * naming a remote host (edited, or copied from elsewhere) is refused rather than used.
 */
const emulatorResourcesSchema = z.object({
  region: named,
  endpoint: loopbackUrl,
  jobQueueUrl: named,
  deadLetterQueueUrl: named,
  ledgerTableName: named,
  tokenSecretId: named,
  pinSecretPrefix: named,
  /** The event bus (the stack's EventBusName output). */
  eventBusName: named,
  /** The event resolver's buffer queue, which the bus's two rules feed. */
  eventQueueUrl: named,
  /** The buffer queue's dead-letter queue, where the resolver's own envelopes go too (EventsDeadLetterQueueUrl). */
  eventsDeadLetterQueueUrl: named,
  /** The webhook receiver's change log table. */
  changeTableName: named,
  /** The Meta app secret (the webhook signature key) and the handshake's verify token: secret ids, never values. */
  appSecretId: named,
  verifyTokenSecretId: named,
});

/** The event path's keys: files written before issue 10 lack them, and the CLI does not need them. */
const EVENT_PATH_KEYS = {
  eventBusName: true,
  eventQueueUrl: true,
  eventsDeadLetterQueueUrl: true,
  changeTableName: true,
  appSecretId: true,
  verifyTokenSecretId: true,
} as const;

/**
 * The file's shape: the emulator's resources, and the webhook receiver's URL when the local run serves it (on this
 * machine too: the webhook sender signs what it sends there with the app secret).
 */
const localResourcesSchema = emulatorResourcesSchema.partial(EVENT_PATH_KEYS).extend({
  webhookUrl: loopbackUrl.optional(),
  /** The Graph simulator the local run's components call: `verify` and `explain` beside it call the same one. */
  graphApiBaseUrl: loopbackUrl.optional(),
});

/** Everything `provisionEmulatorResources` created on the emulator. */
export type EmulatorResources = z.output<typeof emulatorResourcesSchema>;

/** Where the locally provisioned queues, table and secret names are, and where the local run serves the webhook receiver. */
export type LocalResources = z.output<typeof localResourcesSchema>;

/** Keys whose value must be on this machine. */
const LOOPBACK_KEYS = ['endpoint', 'webhookUrl', 'graphApiBaseUrl'] as const;

/** The file is there but cannot be used; the message says why and what to do. */
export class LocalResourcesError extends Error {
  override readonly name = 'LocalResourcesError';
}

/** Writes `dir/.wa-registrar/local-stack.json` (checked against the shape first) and returns its path. */
export async function writeLocalResources(dir: string, resources: LocalResources): Promise<string> {
  const path = join(dir, LOCAL_RESOURCES_FILE);
  const checked = localResourcesSchema.parse(resources);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(checked, null, 2)}\n`);
  return path;
}

/** Removes the file, if there is one. */
export async function removeLocalResources(dir: string): Promise<void> {
  await rm(join(dir, LOCAL_RESOURCES_FILE), { force: true });
}

/**
 * The file in `dir`, or undefined when there is none. A malformed file, or one whose endpoint is not on this
 * machine, is a `LocalResourcesError`, never silently skipped.
 */
export async function readLocalResources(dir: string): Promise<LocalResources | undefined> {
  const path = join(dir, LOCAL_RESOURCES_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LocalResourcesError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new LocalResourcesError(`${path} is not valid JSON; delete it and start the local run again (npm start)`);
  }
  const parsed = localResourcesSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const remote = parsed.error.issues.find((issue) => (LOOPBACK_KEYS as readonly PropertyKey[]).includes(issue.path[0]!) && issue.code === 'custom');
  if (remote) {
    const key = String(remote.path[0]);
    const why =
      key === 'endpoint'
        ? 'the local run writes only loopback endpoints, and the CLI would send them dummy credentials'
        : 'the local run serves its webhook receiver on loopback only, and the webhook sender signs with the app secret what it sends there';
    throw new LocalResourcesError(
      `${path} names the ${key} ${String((raw as Record<string, unknown>)[key])}, which is not on this machine: ${why}. ` +
        'Delete it and start the local run again (npm start), or name a deployed stack with --stack NAME',
    );
  }
  throw new LocalResourcesError(`${path} lacks ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}; start the local run again (npm start)`);
}
