/**
 * `npm start`: the whole service on this machine, with a demo.
 *
 * Starts moto (SQS, DynamoDB, Secrets Manager) and the Graph API simulator, provisions the queues and the ledger,
 * seeds a token and demo PINs, runs the real worker behind an SQS poller that behaves like Lambda's event source,
 * enqueues a demo set, and prints what happened and why, read back from the worker's outcomes, the dead-letter
 * queue and the ledger. Then it keeps running for the CLI (`npx wa-registrar status 1005`) until Ctrl-C.
 *
 *   npm start                 demo, then keep running
 *   npm start -- --once       demo, then exit 0
 *   GRAPH_API_BASE_URL=http://127.0.0.1:8080 npm start   use another Graph-compatible server instead of the simulator
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createWorker } from '../functions/register-worker/worker.ts';
import { createAwsClients, type AwsClients } from '../shared/aws-clients.ts';
import { systemClock } from '../shared/clock.ts';
import { loadConfig } from '../shared/config.ts';
import type { JobOutcome } from '../shared/domain/run-job.ts';
import { enqueueJobs } from '../shared/jobs/enqueue.ts';
import type { JobV1Input } from '../shared/jobs/job.v1.ts';
import { listDeadLetters, SqsDeadLetterQueue } from '../shared/dead-letters/index.ts';
import { LOCAL_RESOURCES_FILE, removeLocalResources, writeLocalResources, type LocalResources } from '../shared/local-resources.ts';
import { provisionEmulatorResources } from '../tools/emulator-resources.ts';
import { startGraphSimulator, type GraphSimulator } from '../tools/graph-simulator.ts';
import { startMotoServer, type MotoServer } from '../tools/moto-server.ts';
import { SqsPoller } from '../tools/sqs-poller.ts';
import { runCliCaptured } from './cli.ts';
import { renderDeadLetterTable } from './views/dead-letters.ts';
import { formatTime, table } from './views/format.ts';

const REGION = 'eu-west-1';
const DEMO_TOKEN = 'local-demo-token';

/** One job outcome, as the timeline shows it: straight from the worker's outcome hook, never parsed from logs. */
export interface OutcomeLine {
  at: number;
  jobKey: string;
  phoneNumberId?: string;
  action?: string;
  outcome: string;
  category?: string;
  code?: number;
  graphCalls: Array<{ operation: string; outcome: string; code?: number }>;
  detail: string;
}

/** The timeline's view of an outcome the worker reported. */
export function toOutcomeLine(outcome: JobOutcome, at = Date.now()): OutcomeLine {
  const code = outcome.graphCalls.findLast((call) => call.code !== undefined)?.code;
  return {
    at,
    jobKey: outcome.jobKey,
    ...(outcome.phoneNumberId ? { phoneNumberId: outcome.phoneNumberId } : {}),
    ...(outcome.action ? { action: outcome.action } : {}),
    outcome: outcome.status,
    ...(outcome.status === 'dead_lettered' ? { category: outcome.category } : {}),
    ...(code !== undefined ? { code } : {}),
    graphCalls: outcome.graphCalls,
    detail: outcome.detail,
  };
}

/** The demo: numbers in the simulator with their true PINs, the PINs stored for the worker, and the jobs. */
interface DemoNumber {
  phoneNumberId: string;
  story: string;
  simulator: { registered: boolean; pin?: string };
  storedPin: string;
}

const DEMO_NUMBERS: DemoNumber[] = [
  { phoneNumberId: '1001', story: 'a new number registers', simulator: { registered: false }, storedPin: '482913' },
  { phoneNumberId: '1002', story: 'a registered number is deregistered', simulator: { registered: true, pin: '246810' }, storedPin: '246810' },
  { phoneNumberId: '1003', story: 'data localization changes to CH (deregister, then register)', simulator: { registered: true, pin: '135790' }, storedPin: '135790' },
  { phoneNumberId: '1004', story: 'the stored PIN is wrong (Meta says 133005)', simulator: { registered: false, pin: '111111' }, storedPin: '222222' },
  { phoneNumberId: '1005', story: 'a burst of 12 requests meets the 10-per-72-hour window', simulator: { registered: true, pin: '000123' }, storedPin: '000123' },
];

function demoJobs(): JobV1Input[] {
  const burst: JobV1Input[] = Array.from({ length: 12 }, (_, index) => ({
    action: index % 2 === 0 ? 'deregister' : 'register',
    phoneNumberId: '1005',
    reason: 'manual',
    idempotencyKey: `demo-1005-burst-${String(index + 1).padStart(2, '0')}`,
  }));
  return [
    { action: 'register', phoneNumberId: '1001', reason: 'account_creation', idempotencyKey: 'demo-1001-register' },
    { action: 'deregister', phoneNumberId: '1002', reason: 'manual', idempotencyKey: 'demo-1002-deregister' },
    { action: 'set_localization', phoneNumberId: '1003', dataLocalizationRegion: 'CH', reason: 'localization_change', idempotencyKey: 'demo-1003-to-ch' },
    { action: 'register', phoneNumberId: '1004', reason: 'account_creation', idempotencyKey: 'demo-1004-register' },
    ...burst,
  ];
}

export interface LocalRunOptions {
  once: boolean;
  /** The directory that gets `.wa-registrar/local-stack.json` and from which the CLI finds it (default: cwd). */
  cwd?: string;
  /** Echo the worker's JSON logs too. */
  verbose?: boolean;
  env?: Record<string, string | undefined>;
  out?: { write(text: string): unknown };
  /** Resolves to stop a running (not --once) local run; default: SIGINT/SIGTERM. */
  stopSignal?: Promise<void>;
}

/** Runs the local stack and the demo. Resolves with the exit code once stopped. */
export async function runLocal(options: LocalRunOptions): Promise<number> {
  const out = options.out ?? process.stdout;
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const say = (text = '') => out.write(`${text}\n`);
  // The emulator takes any credentials; set harmless ones so no real AWS profile is ever used.
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;

  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    say('wa-registrar local run');
    say('  starting moto (SQS, DynamoDB, Secrets Manager); the first run installs it into .venv ...');
    const moto: MotoServer = await startMotoServer();
    cleanups.push(() => moto.stop());
    const clients = createAwsClients({ endpoint: moto.endpoint, region: REGION });
    cleanups.push(async () => {
      clients.sqs.destroy();
      clients.dynamodb.destroy();
      clients.secretsManager.destroy();
    });
    const stack = await provisionEmulatorResources({ endpoint: moto.endpoint, region: REGION, namePrefix: 'wa-local' }, clients);

    const externalGraph = env.GRAPH_API_BASE_URL;
    let simulator: GraphSimulator | undefined;
    let graphBaseUrl: string;
    const token = externalGraph ? (env.GRAPH_ACCESS_TOKEN ?? DEMO_TOKEN) : DEMO_TOKEN;
    if (externalGraph) {
      graphBaseUrl = externalGraph;
    } else {
      simulator = await startGraphSimulator({ tokens: [token] });
      cleanups.push(() => simulator!.stop());
      for (const number of DEMO_NUMBERS) simulator.addNumber(number.phoneNumberId, number.simulator);
      graphBaseUrl = simulator.baseUrl;
    }
    await seedSecrets(clients, stack, token);

    const stateFile = await writeLocalResources(cwd, stack);
    cleanups.push(() => removeLocalResources(cwd));

    say(`  moto:            ${moto.endpoint}`);
    say(`  Graph API:       ${graphBaseUrl}${simulator ? ' (simulator)' : ' (GRAPH_API_BASE_URL)'}`);
    say(`  job queue:       ${stack.jobQueueUrl}`);
    say(`  dead letters:    ${stack.deadLetterQueueUrl}`);
    say(`  ledger table:    ${stack.ledgerTableName}`);
    say(`  secrets:         token ${stack.tokenSecretId}, PINs ${stack.pinSecretPrefix}<phoneNumberId>`);
    say(`  resources file:  ${relative(cwd, stateFile) || stateFile} (the CLI reads it by default)`);

    const outcomes: OutcomeLine[] = [];
    // Quiet on the terminal: the timeline comes from the outcome hook; --verbose also shows the worker's JSON logs.
    const logger = new Logger({ serviceName: 'wa-registrar', logLevel: options.verbose ? 'INFO' : 'ERROR' });
    // The worker's CloudWatch metrics (EMF lines) mean nothing on a terminal; --verbose shows them.
    if (!options.verbose) process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const worker = createWorker(
      loadConfig({
        GRAPH_API_BASE_URL: graphBaseUrl,
        LEDGER_TABLE_NAME: stack.ledgerTableName,
        JOB_QUEUE_URL: stack.jobQueueUrl,
        DEAD_LETTER_QUEUE_URL: stack.deadLetterQueueUrl,
        TOKEN_SECRET_ID: stack.tokenSecretId,
        PIN_SECRET_PREFIX: stack.pinSecretPrefix,
        // Short, so a PIN fixed in Secrets Manager is picked up by the next redrive.
        SECRET_CACHE_SECONDS: '5',
        ATTEMPT_LIMIT: env.ATTEMPT_LIMIT,
        ATTEMPT_WINDOW_HOURS: env.ATTEMPT_WINDOW_HOURS,
        ATTEMPT_BUDGET_SHARED: env.ATTEMPT_BUDGET_SHARED,
        // The CLI reads the same variable, so `status` counts the window as this worker does.
        WINDOW_MARGIN_MINUTES: env.WINDOW_MARGIN_MINUTES,
      }),
      { clients, logger, clock: systemClock, onOutcome: (outcome) => outcomes.push(toOutcomeLine(outcome)) },
    );
    const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => worker.handleBatch(event);
    const source = new SqsPoller(clients.sqs, stack.jobQueueUrl, handler);

    // The demo.
    say('');
    say('Demo:');
    for (const number of DEMO_NUMBERS) say(`  ${number.phoneNumberId}  ${number.story}`);
    const jobs = demoJobs();
    const sent = await enqueueJobs(clients.sqs, stack.jobQueueUrl, jobs);
    if (sent.failed.length > 0) throw new Error(`SQS refused ${sent.failed.length} demo job(s): ${sent.failed[0]!.error}`);
    say(`  queued ${sent.sent.length} jobs; the worker polls the queue like Lambda's event source ...`);
    await runUntil(source, () => outcomes.length >= jobs.length, 120_000);

    say('');
    say('Timeline (the worker\'s own outcome for each job, in the order they ran):');
    say(renderTimeline(outcomes));

    say('');
    say('Dead-letter queue (wa-registrar dlq list):');
    const listing = await listDeadLetters(new SqsDeadLetterQueue(clients.sqs, stack.deadLetterQueueUrl), {}, { waitTimeSeconds: 0 });
    say(indent(renderDeadLetterTable(listing.messages, Date.now())));

    say('');
    say('Ledger (wa-registrar status, per number):');
    for (const number of DEMO_NUMBERS) {
      const status = await cliOutput(['status', number.phoneNumberId], cwd);
      say(indent(status.split('\n').filter((line) => /used,|BLOCKED|window full|next slot|^HELD|^TOKEN GATE|^APP THROTTLED/.test(line)).map((line) => `${number.phoneNumberId}  ${line.trim()}`).join('\n')));
    }
    if (simulator) {
      say('');
      // Refused = dead-lettered without a register or deregister (a state read may have come first).
      const refused = outcomes.filter(
        (line) => line.outcome === 'dead_lettered' && !line.graphCalls.some((call) => call.operation === 'register' || call.operation === 'deregister'),
      ).length;
      say(`The Graph simulator received ${simulator.limitedCalls().length} register/deregister requests for ${jobs.length} jobs; ${refused} job(s) were refused by the worker before anything was sent.`);
    }

    if (options.once) {
      say('');
      say('Done (--once).');
      return 0;
    }
    say('');
    say('Ready. In another terminal:');
    say('  npx wa-registrar status 1005');
    say('  npx wa-registrar dlq list');
    say('  npx wa-registrar enqueue register 1001 --reason manual');
    say('The worker keeps polling; new outcomes print below. Ctrl-C stops everything.');
    const stop = options.stopSignal ?? signalled();
    let stopped = false;
    void stop.then(() => (stopped = true));
    let printed = outcomes.length;
    while (!stopped) {
      const result = await source.pollOnce({ waitTimeSeconds: 1 });
      if (result.received === 0) await Promise.race([stop, delay(250)]);
      const fresh = outcomes.slice(printed);
      printed = outcomes.length;
      if (fresh.length > 0) say(renderTimeline(fresh, false));
    }
    say('Stopping.');
    return 0;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

/** Polls until `done()` or the deadline; messages waiting out a retry delay are made visible again. */
async function runUntil(source: SqsPoller, done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('the demo jobs did not all finish within 2 minutes');
    const result = await source.pollOnce({ waitTimeSeconds: 0 });
    if (result.received === 0) {
      // A job told to retry waits out its delay; in the demo, release it now rather than wait minutes.
      if ((await source.releaseFailed()) === 0) await delay(100);
    }
  }
}

async function seedSecrets(clients: AwsClients, stack: LocalResources, token: string): Promise<void> {
  await clients.secretsManager.send(new CreateSecretCommand({ Name: stack.tokenSecretId, SecretString: token }));
  for (const number of DEMO_NUMBERS) {
    await clients.secretsManager.send(new CreateSecretCommand({ Name: `${stack.pinSecretPrefix}${number.phoneNumberId}`, SecretString: number.storedPin }));
  }
}

/** The timeline table: one row per job outcome, with the Graph calls it made. Never a PIN or token. */
export function renderTimeline(outcomes: OutcomeLine[], header = true): string {
  const rows = outcomes.map((line) => [
    formatTime(line.at).slice(11, 16) + new Date(line.at).toISOString().slice(16, 19),
    line.phoneNumberId,
    line.action,
    line.outcome === 'dead_lettered' ? `dead-lettered: ${line.category}` : line.outcome,
    line.code,
    line.graphCalls.length === 0 ? 'none' : line.graphCalls.map((call) => `${call.operation}→${call.code ?? call.outcome}`).join(', '),
    line.detail,
  ]);
  const text = table(['TIME', 'NUMBER', 'ACTION', 'OUTCOME', 'CODE', 'GRAPH CALLS', 'WHY'], rows);
  return indent(header ? text : text.split('\n').slice(1).join('\n'));
}

/** Runs the CLI in-process against the local run, exactly as `npx wa-registrar` would beside it. */
async function cliOutput(args: string[], cwd: string): Promise<string> {
  const { code, stdout, stderr } = await runCliCaptured(args, { env: process.env, cwd, clock: systemClock });
  if (code !== 0) throw new Error(`wa-registrar ${args.join(' ')} failed: ${stderr.trim()}`);
  return stdout;
}

const indent = (text: string) => text.split('\n').map((line) => `  ${line}`).join('\n');
const delay = (ms: number) => new Promise<void>((done) => setTimeout(done, ms).unref());

function signalled(): Promise<void> {
  return new Promise((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: { once: { type: 'boolean' }, verbose: { type: 'boolean' }, dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`local-run: ${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    process.stdout.write(`Usage: npm start [-- --once] [-- --verbose] [-- --dir DIR]

Starts moto and the Graph simulator, provisions queues and the ledger, runs the worker, and plays a demo.
  --once        exit after the demo (exit code 0)
  --verbose     also print the worker's JSON logs
  --dir DIR     write DIR/${LOCAL_RESOURCES_FILE} (default: the current directory, where the CLI looks for it)
Environment: GRAPH_API_BASE_URL (another Graph-compatible server), GRAPH_ACCESS_TOKEN (its token),
ATTEMPT_LIMIT, ATTEMPT_WINDOW_HOURS, ATTEMPT_BUDGET_SHARED, WINDOW_MARGIN_MINUTES.
`);
    return;
  }
  try {
    process.exitCode = await runLocal({
      once: Boolean(values.once),
      verbose: Boolean(values.verbose),
      ...(values.dir ? { cwd: resolve(values.dir) } : {}),
    });
  } catch (error) {
    process.stderr.write(`local-run: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('local-run.ts')) {
  await main();
}
