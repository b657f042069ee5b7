/**
 * `npm start`: the whole service on this machine, with a demo.
 *
 * Starts the local stack (tools/local-stack.ts: moto, the Graph API simulator, the queues, the ledger, the event bus
 * and the webhook path as the stack defines them, the webhook receiver on a local port, the event resolver and the
 * worker behind SQS pollers that behave like Lambda's event source), enqueues a demo set, posts signed webhooks, and
 * prints what happened and why, read back from the components' outcomes, the dead-letter queue and the ledger. Then
 * it keeps running for the CLI (`npx wa-registrar status 1005`) and for webhooks until Ctrl-C.
 *
 *   npm start                 demo, then keep running
 *   npm start -- --once       demo, then exit 0
 *   GRAPH_API_BASE_URL=http://127.0.0.1:8080 npm start   use another Graph-compatible server instead of the simulator
 */
import { rm } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../shared/clock.ts';
import { listDeadLetters, SqsDeadLetterQueue } from '../shared/dead-letters/index.ts';
import { enqueueJobs } from '../shared/jobs/enqueue.ts';
import { LOCAL_RESOURCES_FILE, removeLocalResources, writeLocalResources } from '../shared/local-resources.ts';
import { LOCAL_WEBHOOK_SECRETS } from '../tools/emulator-resources.ts';
import { startLocalStack, type LocalStack } from '../tools/local-stack.ts';
import { runCliCaptured } from './cli.ts';
import { playLifecycleStories } from './local-demo-lifecycle.ts';
import { DEMO_BUSINESS, DEMO_NUMBERS, demoJobs, describeEvent, describeWebhook, playWebhookStories, sampleWebhookPath, writeSampleWebhook } from './local-demo.ts';
import { renderDeadLetterTable } from './views/dead-letters.ts';
import { renderTimeline } from './views/timeline.ts';

export interface LocalRunOptions {
  once: boolean;
  /** The directory that gets `.wa-registrar/local-stack.json` and from which the CLI finds it (default: cwd). */
  cwd?: string;
  /** Echo the components' JSON logs too. */
  verbose?: boolean;
  /** The webhook receiver's port on 127.0.0.1 (default: a free one). */
  webhookPort?: number;
  env?: Record<string, string | undefined>;
  out?: { write(text: string): unknown };
  /** Resolves to stop a running (not --once) local run; default: SIGINT/SIGTERM. */
  stopSignal?: Promise<void>;
}

/** Short polls while the demo runs (a retry's delay is released at once); long polls, as Lambda's, once it keeps running. */
const DEMO_POLLING = { waitTimeSeconds: 0, idleMs: 20, releaseRetries: true };
const KEEP_RUNNING_POLLING = { waitTimeSeconds: 1, idleMs: 0, releaseRetries: false };

/** Runs the local stack and the demo. Resolves with the exit code once stopped. */
export async function runLocal(options: LocalRunOptions): Promise<number> {
  const out = options.out ?? process.stdout;
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const say = (text = '') => out.write(`${text}\n`);

  say('wa-registrar local run');
  const stack = await startLocalStack({
    businessAccountId: DEMO_BUSINESS,
    numbers: DEMO_NUMBERS,
    ...(env.GRAPH_API_BASE_URL ? { graphBaseUrl: env.GRAPH_API_BASE_URL } : {}),
    ...(env.GRAPH_ACCESS_TOKEN ? { graphToken: env.GRAPH_ACCESS_TOKEN } : {}),
    ...(options.webhookPort ? { webhookPort: options.webhookPort } : {}),
    workerEnv: env,
    verbose: Boolean(options.verbose),
    onMotoStarting: () => say('  starting moto (SQS, DynamoDB, Secrets Manager, EventBridge); the first run installs it into .venv ...'),
  });
  const sample = sampleWebhookPath(cwd);
  try {
    const { resources } = stack;
    const stateFile = await writeLocalResources(cwd, resources);
    // Relative to where the command was typed, unless that climbs out of it.
    const shown = (path: string) => (relative(process.cwd(), path).startsWith('..') ? path : relative(process.cwd(), path) || path);
    say(`  moto:            ${stack.motoEndpoint}`);
    say(`  Graph API:       ${stack.graphBaseUrl}${stack.simulator ? ` (simulator; business ${DEMO_BUSINESS} lists the demo numbers)` : ' (GRAPH_API_BASE_URL)'}`);
    say(`  job queue:       ${resources.jobQueueUrl}`);
    say(`  dead letters:    ${resources.deadLetterQueueUrl}`);
    say(`  ledger table:    ${resources.ledgerTableName}`);
    say(`  secrets:         token ${resources.tokenSecretId}, PINs ${resources.pinSecretPrefix}<phoneNumberId>`);
    say(`  webhooks:        ${stack.webhookUrl} (receiver) → bus ${resources.eventBusName} → ${resources.eventQueueUrl.split('/').pop()} (resolver) → job queue`);
    say(`                   app secret ${resources.appSecretId}, verify token ${resources.verifyTokenSecretId}`);
    say(`  resources file:  ${shown(stateFile)} (the CLI reads it by default)`);

    say('');
    say('Demo:');
    for (const number of DEMO_NUMBERS) say(`  ${number.phoneNumberId}  ${number.story}`);
    const jobs = demoJobs();
    const sent = await enqueueJobs(stack.clients.sqs, resources.jobQueueUrl, jobs);
    if (sent.failed.length > 0) throw new Error(`SQS refused ${sent.failed.length} demo job(s): ${sent.failed[0]!.error}`);
    say(`  queued ${sent.sent.length} jobs; the worker polls the queue like Lambda's event source ...`);
    stack.startPolling(DEMO_POLLING);
    await stack.until(() => stack.outcomes.jobs.length >= jobs.length, 120_000, 'the demo jobs');
    if (stack.simulator) {
      await playWebhookStories(stack, LOCAL_WEBHOOK_SECRETS.appSecret, say);
      await playLifecycleStories(stack, cwd, DEMO_NUMBERS.map((number) => number.phoneNumberId), say);
    } else {
      say('  (the webhook and lifecycle stories need the simulator, which lists the demo business; skipped with GRAPH_API_BASE_URL)');
    }

    say('');
    say("Timeline (the worker's own outcome for each job, in the order they ran):");
    say(renderTimeline(stack.outcomes.jobs));
    await printState(stack, cwd, say);

    if (options.once) {
      say('');
      say('Done (--once).');
      return 0;
    }
    await writeSampleWebhook(sample);
    const dirFlag = resolve(cwd) === process.cwd() ? '' : ` --dir ${shown(cwd)}`;
    say('');
    say('Ready. In another terminal:');
    say('  npx wa-registrar explain 1004        why a number is not live, and what to do');
    say('  npx wa-registrar status 1005');
    say('  npx wa-registrar dlq list');
    say('  npx wa-registrar enqueue register 1001 --reason manual');
    say(`  npx tsx tools/webhook-sender.ts ${shown(sample)}${dirFlag}`);
    say(`      posts a name approval for 1001 to the receiver (${stack.webhookUrl}), signed with the app secret`);
    say('      it reads from Secrets Manager on moto; any body of Meta\'s shape will do, and a second post of the same one is a duplicate.');
    say('The pollers keep going; new outcomes print below. Ctrl-C stops everything.');
    stack.startPolling(KEEP_RUNNING_POLLING);
    await followOutcomes(stack, options.stopSignal ?? signalled(), say);
    say('Stopping.');
    return 0;
  } finally {
    await rm(sample, { force: true });
    await removeLocalResources(cwd);
    await stack.stop();
  }
}

/** The dead-letter queue and each number's ledger, read back as the CLI shows them, and the Graph simulator's count. */
async function printState(stack: LocalStack, cwd: string, say: (text?: string) => void): Promise<void> {
  say('');
  say('Dead-letter queue (wa-registrar dlq list):');
  const listing = await listDeadLetters(new SqsDeadLetterQueue(stack.clients.sqs, stack.resources.deadLetterQueueUrl), {}, { waitTimeSeconds: 0 });
  say(indent(renderDeadLetterTable(listing.messages, Date.now())));

  say('');
  say('Ledger (wa-registrar status, per number):');
  for (const number of DEMO_NUMBERS) {
    const status = await cliOutput(['status', number.phoneNumberId], cwd);
    const lines = status.split('\n').filter((line) => /used,|BLOCKED|window full|next slot|^HELD|^ACCOUNT HELD|^Name:|^TOKEN GATE|^APP THROTTLED/.test(line));
    say(indent(lines.map((line) => `${number.phoneNumberId}  ${line.trim()}`).join('\n')));
  }
  if (stack.simulator) {
    const outcomes = stack.outcomes.jobs.map((entry) => entry.outcome);
    // Refused = dead-lettered without a register or deregister (a state read may have come first).
    const refused = outcomes.filter(
      (outcome) => outcome.status === 'dead_lettered' && !outcome.graphCalls.some((call) => call.operation === 'register' || call.operation === 'deregister'),
    ).length;
    say('');
    say(`The Graph simulator received ${stack.simulator.limitedCalls().length} register/deregister requests for ${outcomes.length} jobs; ${refused} job(s) were refused by the worker before anything was sent.`);
  }
}

/** Prints webhooks, events and job outcomes as they come, until stopped. */
async function followOutcomes(stack: LocalStack, stop: Promise<void>, say: (text?: string) => void): Promise<void> {
  let stopped = false;
  void stop.then(() => (stopped = true));
  const printed = { webhooks: stack.outcomes.webhooks.length, events: stack.outcomes.events.length, jobs: stack.outcomes.jobs.length };
  while (!stopped) {
    await Promise.race([stop, delay(200)]);
    const fresh = { webhooks: stack.outcomes.webhooks.slice(printed.webhooks), events: stack.outcomes.events.slice(printed.events), jobs: stack.outcomes.jobs.slice(printed.jobs) };
    for (const entry of fresh.webhooks) say(`  webhook  ${describeWebhook(entry.outcome)}`);
    for (const entry of fresh.events) say(`  event    ${describeEvent(entry.outcome)}`);
    if (fresh.jobs.length > 0) say(renderTimeline(fresh.jobs, false));
    printed.webhooks += fresh.webhooks.length;
    printed.events += fresh.events.length;
    printed.jobs += fresh.jobs.length;
  }
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
      options: {
        once: { type: 'boolean' },
        verbose: { type: 'boolean' },
        dir: { type: 'string' },
        'webhook-port': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`local-run: ${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    process.stdout.write(`Usage: npm start [-- --once] [-- --verbose] [-- --dir DIR] [-- --webhook-port PORT]

Starts moto and the Graph simulator, provisions the queues, the ledger and the event path, serves the webhook
receiver, runs the event resolver and the worker, and plays a demo.
  --once               exit after the demo (exit code 0)
  --verbose            also print the components' JSON logs
  --dir DIR            write DIR/${LOCAL_RESOURCES_FILE} (default: the current directory, where the CLI looks for it)
  --webhook-port PORT  serve the webhook receiver on 127.0.0.1:PORT (default: a free port)
Environment: GRAPH_API_BASE_URL (another Graph-compatible server), GRAPH_ACCESS_TOKEN (its token),
ATTEMPT_LIMIT, ATTEMPT_WINDOW_HOURS, ATTEMPT_BUDGET_SHARED, WINDOW_MARGIN_MINUTES.
`);
    return;
  }
  const port = values['webhook-port'] === undefined ? undefined : Number(values['webhook-port']);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    process.stderr.write('local-run: --webhook-port must be a port number (1-65535)\n');
    process.exitCode = 2;
    return;
  }
  try {
    process.exitCode = await runLocal({
      once: Boolean(values.once),
      verbose: Boolean(values.verbose),
      ...(values.dir ? { cwd: resolve(values.dir) } : {}),
      ...(port ? { webhookPort: port } : {}),
    });
  } catch (error) {
    process.stderr.write(`local-run: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('local-run.ts')) {
  await main();
}
