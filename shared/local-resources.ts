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

/**
 * The file's shape. The endpoint must be on this machine: the CLI sends the file's resources dummy credentials,
 * so a file naming a remote host (edited, or copied from elsewhere) is refused rather than used.
 */
const localResourcesSchema = z.object({
  region: z.string().min(1),
  endpoint: z.string().min(1).refine(isLoopbackUrl, 'is not a loopback address'),
  jobQueueUrl: z.string().min(1),
  deadLetterQueueUrl: z.string().min(1),
  ledgerTableName: z.string().min(1),
  tokenSecretId: z.string().min(1),
  pinSecretPrefix: z.string().min(1),
});

/** Where the locally provisioned queues, table and secret names are. */
export type LocalResources = z.output<typeof localResourcesSchema>;

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
  const remote = parsed.error.issues.find((issue) => issue.path[0] === 'endpoint' && issue.code === 'custom');
  if (remote) {
    throw new LocalResourcesError(
      `${path} names the endpoint ${String((raw as { endpoint?: unknown }).endpoint)}, which is not on this machine: ` +
        'the local run writes only loopback endpoints, and the CLI would send them dummy credentials. ' +
        'Delete it and start the local run again (npm start), or name a deployed stack with --stack NAME',
    );
  }
  throw new LocalResourcesError(`${path} lacks ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}; start the local run again (npm start)`);
}
