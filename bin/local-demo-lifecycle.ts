/**
 * The local run's number-lifecycle stories (`npm start`): a PIN wa-registrar provisions for a new number, a lapsed
 * verification fixed by OTP with `wa-registrar verify`, and `wa-registrar explain` on every demo number. Told from
 * the components' outcomes and the CLI's own output; no PIN or code is ever printed.
 */
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { systemClock } from '../shared/clock.ts';
import type { JobOutcome } from '../shared/domain/outcome.ts';
import { enqueueJob } from '../shared/jobs/enqueue.ts';
import type { LocalStack } from '../tools/local-stack.ts';
import { simulatorDigest } from '../tools/graph-simulator.ts';
import { runCliCaptured } from './cli.ts';
import { graphCallsText } from './views/timeline.ts';

type Say = (text?: string) => void;
const WAIT_MS = 30_000;
const GAP = '        ';

/** The two lifecycle numbers' ids, declared with the other demo numbers. */
const PROVISIONED_NUMBER = '1008';
const LAPSED_NUMBER = '1009';

/** The stories, in order. Needs the simulator (it hands out the verification code the owner would receive). */
export async function playLifecycleStories(stack: LocalStack, cwd: string, demoNumbers: readonly string[], say: Say): Promise<void> {
  say('');
  say('Number lifecycle:');
  await provisionedPinStory(stack, say);
  await verificationStory(stack, cwd, say);
  await explainEach(cwd, demoNumbers, say);
}

/** A new number with no PIN secret, and a register job that may provision one: the PIN Graph receives is the stored one. */
async function provisionedPinStory(stack: LocalStack, say: Say): Promise<void> {
  const id = PROVISIONED_NUMBER;
  const jobKey = `demo-${id}-provision`;
  const outcome = await runJob(stack, jobKey, () =>
    enqueueJob(stack.clients.sqs, stack.resources.jobQueueUrl, { action: 'register', phoneNumberId: id, reason: 'account_creation', pinPolicy: 'provision-if-missing', idempotencyKey: jobKey }),
  );
  const secret = await stack.clients.secretsManager.send(new GetSecretValueCommand({ SecretId: `${stack.resources.pinSecretPrefix}${id}` }));
  const sent = stack.simulator?.limitedCalls(id).at(-1);
  const same = sent?.pinUsed !== undefined && sent.pinUsed === simulatorDigest(secret.SecretString ?? '');
  say(`  ${id}  a new number with no PIN secret, register with pinPolicy provision-if-missing:`);
  say(`${GAP}worker: ${describe(outcome)}`);
  say(`${GAP}a random 6-digit PIN was stored as ${stack.resources.pinSecretPrefix}${id} before the register sent it; the PIN Graph received ${same ? 'is' : 'is NOT'} the stored one (neither printed)`);
}

/** Verification EXPIRED: the register is held; `verify request` + `verify confirm` lift the hold and send the job back. */
async function verificationStory(stack: LocalStack, cwd: string, say: Say): Promise<void> {
  const id = LAPSED_NUMBER;
  const jobKey = `demo-${id}-register`;
  const held = await runJob(stack, jobKey, () => enqueueJob(stack.clients.sqs, stack.resources.jobQueueUrl, { action: 'register', phoneNumberId: id, reason: 'account_creation', idempotencyKey: jobKey }));
  say(`  ${id}  its verification lapsed (EXPIRED): a register job → worker: ${describe(held)}`);
  const requested = await cli(['verify', 'request', id, '--method', 'sms'], cwd);
  say(`${GAP}$ wa-registrar verify request ${id} --method sms`);
  say(indent(firstLines(requested, 2), `${GAP}  `));
  // The owner reads the SMS; the simulator hands the code to the demo, which passes it on without printing it.
  const code = stack.simulator!.verificationCode(id);
  if (code === undefined) throw new Error(`the simulator sent no verification code for ${id}`);
  const first = stack.outcomes.jobs.length;
  const confirmed = await cli(['verify', 'confirm', id, code], cwd);
  say(`${GAP}$ wa-registrar verify confirm ${id} -      (the code the owner received, typed at a hidden prompt)`);
  say(indent(firstLines(confirmed, 5), `${GAP}  `));
  const redriven = () => stack.outcomes.jobs.slice(first).find((entry) => entry.outcome.jobKey === jobKey)?.outcome;
  await stack.until(() => redriven() !== undefined, WAIT_MS, `the worker on the redriven job ${jobKey}`);
  say(`${GAP}the held job, sent back by verify confirm → worker: ${describe(redriven()!)}`);
}

/** `wa-registrar explain <id>`: the verdict line for every demo number. */
async function explainEach(cwd: string, demoNumbers: readonly string[], say: Say): Promise<void> {
  say('');
  say('Why is each number (not) live? (wa-registrar explain <id>, first line)');
  for (const id of demoNumbers) {
    const text = await cli(['explain', id], cwd);
    say(`  ${firstLines(text, 1).replace(/^Number \d+: /, `${id}  `)}`);
  }
}

/** Enqueues one job and waits for the worker's outcome for its key. */
async function runJob(stack: LocalStack, jobKey: string, enqueue: () => Promise<unknown>): Promise<JobOutcome> {
  const first = stack.outcomes.jobs.length;
  await enqueue();
  const outcome = () => stack.outcomes.jobs.slice(first).find((entry) => entry.outcome.jobKey === jobKey)?.outcome;
  await stack.until(() => outcome() !== undefined, WAIT_MS, `the worker on job ${jobKey}`);
  return outcome()!;
}

/** Runs the CLI in-process, as `npx wa-registrar` would beside the local run. */
async function cli(args: string[], cwd: string): Promise<string> {
  const { code, stdout, stderr } = await runCliCaptured(args, { env: process.env, cwd, clock: systemClock });
  if (code !== 0) throw new Error(`wa-registrar ${args[0]} ${args[1]} failed: ${stderr.trim()}`);
  return stdout;
}

const describe = (outcome: JobOutcome) =>
  `${outcome.status === 'dead_lettered' ? `dead-lettered (${outcome.category})` : outcome.status}, Graph calls: ${graphCallsText(outcome)}`;
const firstLines = (text: string, count: number) => text.trim().split('\n').slice(0, count).join('\n');
const indent = (text: string, prefix: string) => text.split('\n').map((line) => `${prefix}${line}`).join('\n');
