import { GetSecretValueCommand, ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { runCli, type CliIo } from '../../bin/cli.ts';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import { writeLocalResources } from '../../shared/local-resources.ts';
import { STAGE } from '../../shared/pins/pin-secret.ts';
import { parsePinSecret } from '../../shared/secrets/secret-values.ts';
import { SqsPoller } from '../../tools/sqs-poller.ts';
import { expectNoSecrets } from './secrets-scan.ts';
import { createWorkerHarness, TEST_TOKEN, type WorkerHarness } from './worker-harness.ts';

/** A PIN test's world: the worker harness (moto, the simulator, a shared clock), the CLI beside it, and a secret scan. */
export interface PinWorld {
  h: WorkerHarness;
  ledger: DynamoDbAttemptLedger;
  /** Runs the CLI with the local resources file of this world and the simulator as Graph; output is kept for the scan. */
  cli(args: string[], io?: Partial<CliIo>): Promise<{ code: number; stdout: string; stderr: string }>;
  secretName(phoneNumberId: string): string;
  /** The PIN under a label (AWSCURRENT by default) and its version. */
  pinAt(phoneNumberId: string, stage?: string): Promise<{ pin: string; versionId: string } | undefined>;
  /** Every version's label of the number's PIN secret, as ListSecretVersionIds says (versions without a label too). */
  labels(phoneNumberId: string): Promise<Record<string, string[]>>;
  /** Runs queued jobs through a new worker instance (an empty secret cache, as a fresh Lambda container). */
  runFreshWorker(): Promise<void>;
}

/**
 * A fresh PinWorld per test. After each test, every PIN any of the test's PIN secrets ever held (all versions) and
 * the token must be absent from everything printed: CLI output and the functions' logs.
 */
export function usePinWorld(): PinWorld {
  let current: { world: PinWorld; captured: string[]; numbers: Set<string> } | undefined;
  beforeEach(async () => {
    const h = await createWorkerHarness();
    const cwd = await mkdtemp(join(tmpdir(), 'wa-pin-'));
    await writeLocalResources(cwd, h.stack);
    const captured: string[] = [];
    const numbers = new Set<string>();
    const secretName = (id: string) => `${h.stack.pinSecretPrefix}${id}`;
    const world: PinWorld = {
      h,
      ledger: new DynamoDbAttemptLedger(h.clients.dynamodb, h.stack.ledgerTableName),
      async cli(args, io = {}) {
        const id = args.find((arg) => /^\d{1,20}$/.test(arg));
        if (id) numbers.add(id);
        let stdout = '';
        let stderr = '';
        const code = await runCli(args, {
          stdout: { write: (text: string) => (stdout += text) },
          stderr: { write: (text: string) => (stderr += text) },
          stdinIsTTY: false,
          env: { ...process.env, GRAPH_API_BASE_URL: h.simulator.baseUrl, GRAPH_TIMEOUT_MS: '1500' },
          cwd,
          clock: h.clock,
          ...io,
        });
        captured.push(stdout, stderr);
        return { code, stdout, stderr };
      },
      secretName,
      async pinAt(id, stage = STAGE.current) {
        numbers.add(id);
        const versions = await world.labels(id);
        const versionId = Object.entries(versions).find(([, labels]) => labels.includes(stage))?.[0];
        if (versionId === undefined) return undefined;
        const value = await h.clients.secretsManager.send(new GetSecretValueCommand({ SecretId: secretName(id), VersionId: versionId }));
        const parsed = parsePinSecret(value.SecretString ?? '');
        return parsed.kind === 'found' ? { pin: parsed.value, versionId } : undefined;
      },
      async labels(id) {
        numbers.add(id);
        const output = await h.clients.secretsManager.send(new ListSecretVersionIdsCommand({ SecretId: secretName(id), IncludeDeprecated: true }));
        return Object.fromEntries((output.Versions ?? []).map((version) => [version.VersionId!, version.VersionStages ?? []]));
      },
      async runFreshWorker() {
        await new SqsPoller(h.clients.sqs, h.stack.jobQueueUrl, h.anotherWorker().handleBatch).drain();
      },
    };
    current = { world, captured, numbers };
  });
  afterEach(async () => {
    const { world, captured, numbers } = current!;
    current = undefined;
    try {
      const pins: string[] = [...world.h.storedPins];
      for (const id of numbers) {
        let versions: Record<string, string[]>;
        try {
          versions = await world.labels(id);
        } catch {
          continue; // No secret for this number.
        }
        for (const versionId of Object.keys(versions)) {
          const value = await world.h.clients.secretsManager.send(new GetSecretValueCommand({ SecretId: world.secretName(id), VersionId: versionId }));
          const parsed = parsePinSecret(value.SecretString ?? '');
          if (parsed.kind === 'found') pins.push(parsed.value);
        }
      }
      expectNoSecrets([...captured, ...world.h.logs], [...pins, TEST_TOKEN]);
    } finally {
      await world.h.stop();
    }
  });
  return new Proxy({} as PinWorld, {
    get: (_target, property) => {
      if (!current) throw new Error('usePinWorld: used outside a test');
      return current.world[property as keyof PinWorld];
    },
  });
}
