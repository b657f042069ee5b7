/**
 * Bundle benchmark: each Lambda handler bundled with esbuild exactly as the stack bundles it
 * (infra/definitions.ts BUNDLE: minified ESM for node24, tree-shaken, SDK inside), its size, and its
 * cold module-load time in a fresh Node process; beside a plain, unshaken bundle that pulls in the
 * whole SDK client packages it uses, as the baseline.
 * Run alone with `npx tsx bench/bundle.bench.ts`, or with the others via `npm run bench`.
 * Prints figures; asserts nothing about timings.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { BUNDLE, ENTRIES } from '../infra/definitions.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RUNS = 10;

/** Valid dummy values for everything the handlers read at module load (they fail fast otherwise). */
const DUMMY_ENV: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  GRAPH_API_BASE_URL: 'https://graph.facebook.com',
  GRAPH_API_VERSION: 'v25.0',
  LEDGER_TABLE_NAME: 'bench-ledger',
  JOB_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-jobs.fifo',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-dead-letters.fifo',
  TOKEN_SECRET_ID: 'bench/graph-token',
  PIN_SECRET_PREFIX: 'bench/pin/',
  // The webhook receiver, the event resolver and the deadline watch.
  APP_SECRET_ID: 'bench/meta-app-secret',
  VERIFY_TOKEN_SECRET_ID: 'bench/webhook-verify-token',
  EVENT_BUS_NAME: 'bench-events',
  WEBHOOK_CHANGES_TABLE_NAME: 'bench-webhook-changes',
  EVENTS_DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-event-dead-letters',
  POWERTOOLS_SERVICE_NAME: 'wa-registrar',
  POWERTOOLS_METRICS_NAMESPACE: 'WaRegistrar',
  POWERTOOLS_METRICS_DISABLED: 'true',
};

/** The stack's bundling (NodejsFunction with infra/definitions.ts BUNDLE), as esbuild options. */
const deployedOptions: BuildOptions = {
  bundle: true,
  platform: BUNDLE.platform,
  format: BUNDLE.format,
  target: BUNDLE.target,
  minify: BUNDLE.minify,
  sourcemap: BUNDLE.sourcemap,
  sourcesContent: BUNDLE.sourcesContent,
  mainFields: [...BUNDLE.mainFields],
  banner: { js: BUNDLE.banner },
  external: [], // bundleAwsSDK: true
  metafile: true,
  logLevel: 'silent',
};

/** The baseline: esbuild's defaults for Node (CJS builds first), no minification, no tree shaking. */
const plainOptions: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: BUNDLE.target,
  treeShaking: false,
  banner: { js: BUNDLE.banner },
  external: [],
  metafile: true,
  logLevel: 'silent',
};

interface Bundle {
  file: string;
  bytes: number;
  gzipBytes: number;
  sdkClients: string[];
}

async function bundle(entry: string, outfile: string, options: BuildOptions): Promise<Bundle> {
  const result = await build({ ...options, entryPoints: [entry], outfile });
  const code = readFileSync(outfile);
  return { file: outfile, bytes: statSync(outfile).size, gzipBytes: gzipSync(code).length, sdkClients: sdkClientsIn(result.metafile!) };
}

/** The @aws-sdk/client-* packages that ended up in a bundle. */
function sdkClientsIn(metafile: Metafile): string[] {
  const clients = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /node_modules\/(@aws-sdk\/client-[a-z0-9-]+)\//.exec(input);
    if (match) clients.add(match[1]!);
  }
  return [...clients].sort();
}

/** Time to import the bundle in a fresh Node process (module load only, not process start-up). */
function coldLoadMs(file: string, nodeOptions: string): number[] {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '', ...DUMMY_ENV, NODE_OPTIONS: nodeOptions },
      encoding: 'utf8',
    });
    if (child.status !== 0) throw new Error(`importing ${file} failed: ${child.stderr}`);
    times.push(Number(child.stdout));
  }
  return times;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return sorted.length % 2 === 0 ? (sorted[middle - 1]! + sorted[middle]!) / 2 : sorted[Math.floor(middle)]!;
};
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const ms = (values: number[]) => `${median(values).toFixed(1)} ms`;

/** Runs the benchmark and returns its Markdown section. */
export async function run(): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'wa-registrar-bundle-bench-'));
  try {
    const rows: string[] = [];
    for (const [name, entryPath] of Object.entries(ENTRIES)) {
      const entry = join(ROOT, entryPath);
      const deployed = await bundle(entry, join(work, name, 'deployed', 'index.mjs'), deployedOptions);

      // Baseline entry: the same handler, plus the whole of every SDK client package it uses.
      const baselineEntry = join(work, name, 'plain-entry.mjs');
      const imports = deployed.sdkClients.map((pkg, i) => `import * as sdk${i} from '${pkg}';`).join('\n');
      const keep = `export const __wholeSdk = [${deployed.sdkClients.map((_, i) => `sdk${i}`).join(', ')}];`;
      mkdirSync(join(work, name), { recursive: true });
      writeFileSync(baselineEntry, `${imports}\n${keep}\nexport { handler } from ${JSON.stringify(entry)};\n`);
      const plain = await bundle(baselineEntry, join(work, name, 'plain', 'index.mjs'), { ...plainOptions, nodePaths: [join(ROOT, 'node_modules')] });

      const deployedWithMaps = coldLoadMs(deployed.file, '--enable-source-maps');
      const deployedNoMaps = coldLoadMs(deployed.file, '');
      const plainLoad = coldLoadMs(plain.file, '');

      rows.push(
        `| ${name} | stack bundle (minified ESM, tree-shaken) | ${kb(deployed.bytes)} | ${kb(deployed.gzipBytes)} | ${ms(deployedWithMaps)} | ${ms(deployedNoMaps)} |`,
        `| ${name} | plain bundle, whole SDK clients (${deployed.sdkClients.join(', ') || 'none'}) | ${kb(plain.bytes)} | ${kb(plain.gzipBytes)} | n/a (no map) | ${ms(plainLoad)} |`,
      );
    }
    const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
    return [
      '### Bundle size and cold module load',
      '',
      `esbuild bundles built as the stack builds them (\`infra/definitions.ts\` BUNDLE), against a plain unshaken bundle of the same handler that imports the whole SDK client packages. ` +
        `Load time: \`await import()\` of the bundle in a fresh Node process, median of ${RUNS}. Node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} × ${cpu}.`,
      '',
      '| Function | Bundle | Size | gzip | Load (as deployed, `--enable-source-maps`) | Load (no source maps) |',
      '|---|---|---:|---:|---:|---:|',
      ...rows,
      '',
    ].join('\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await run());
}
