/**
 * The local run's demo (`npm start`): the numbers with their stories, the jobs it enqueues, and the two webhook
 * stories, played against the local stack (tools/local-stack.ts) and told hop by hop from the components' outcomes.
 */
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { JobOutcome } from '../shared/domain/outcome.ts';
import type { EventOutcome } from '../shared/events/run-event.ts';
import { enqueueJob } from '../shared/jobs/enqueue.ts';
import type { JobV1Input } from '../shared/jobs/job.v1.ts';
import type { WebhookOutcome } from '../shared/webhooks/outcome.ts';
import type { LocalNumber, LocalStack } from '../tools/local-stack.ts';
import { postSignedWebhook } from '../tools/webhook-sender.ts';
import { graphCallsText } from './views/timeline.ts';

/** The demo's business account (WABA): every demo number is listed under it in the simulator. */
export const DEMO_BUSINESS = '9000';

interface DemoNumber extends LocalNumber {
  story: string;
}

const demoNumber = (phoneNumberId: string, story: string, simulator: LocalNumber['simulator'], storedPin: string | undefined): DemoNumber => ({
  phoneNumberId,
  story,
  // As Meta's number list shows it; its webhooks name the number by the digits, 15550101006.
  displayPhoneNumber: `+1 555-010-${phoneNumberId}`,
  simulator,
  ...(storedPin === undefined ? {} : { storedPin }),
});

export const DEMO_NUMBERS: DemoNumber[] = [
  demoNumber('1001', 'a new number registers', { registered: false }, '482913'),
  demoNumber('1002', 'a registered number is deregistered', { registered: true, pin: '246810' }, '246810'),
  demoNumber('1003', 'data localization changes to CH (deregister, then register)', { registered: true, pin: '135790' }, '135790'),
  demoNumber('1004', 'the stored PIN is wrong (Meta says 133005)', { registered: false, pin: '111111' }, '222222'),
  demoNumber('1005', 'a burst of 12 requests meets the 10-per-72-hour window', { registered: true, pin: '000123' }, '000123'),
  demoNumber('1006', "Meta approves its new display name (webhook): one re-register, however often Meta sends it", { registered: true, pin: '864209' }, '864209'),
  demoNumber('1007', 'Meta says its PIN was changed elsewhere (webhook): its next register sends nothing', { registered: false, pin: '975310' }, '975310'),
  demoNumber('1008', 'a new number with no PIN: wa-registrar provisions one and registers with it', { registered: false }, undefined),
  demoNumber('1009', 'its verification lapsed: held, then fixed by OTP (verify request / confirm)', { registered: false, pin: '314159', codeVerificationStatus: 'EXPIRED' }, '314159'),
];

/** The jobs enqueued at the start; the webhook stories add theirs. */
export function demoJobs(): JobV1Input[] {
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

/** A webhook body as Meta sends it: one entry of the demo business, one change. `time` in Unix seconds. */
function metaWebhook(time: number, field: string, value: Record<string, unknown>): string {
  return JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: DEMO_BUSINESS, time, changes: [{ field, value }] }] });
}

const digits = (phoneNumberId: string) => demoNumberOf(phoneNumberId).displayPhoneNumber.replace(/\D/g, '');

function demoNumberOf(phoneNumberId: string): DemoNumber {
  const number = DEMO_NUMBERS.find((candidate) => candidate.phoneNumberId === phoneNumberId);
  if (!number) throw new Error(`no demo number ${phoneNumberId}`);
  return number;
}

/** Meta's `phone_number_name_update` APPROVED for a demo number, approved at `time` (Unix seconds). */
function nameApprovalWebhook(phoneNumberId: string, time: number): string {
  return metaWebhook(time, 'phone_number_name_update', {
    display_phone_number: digits(phoneNumberId),
    decision: 'APPROVED',
    requested_verified_name: `Acme Demo ${phoneNumberId}`,
    rejection_reason: null,
  });
}

/** Writes a name approval for 1001 beside the resources file, for `tools/webhook-sender.ts` while the run keeps going. */
export async function writeSampleWebhook(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${nameApprovalWebhook('1001', Math.floor(Date.now() / 1000))}\n`);
}

/** Where the sample webhook goes, beside the resources file. */
export const sampleWebhookPath = (dir: string) => join(dir, '.wa-registrar', 'sample-name-approved.json');

/** One line for a webhook request's outcome. */
export function describeWebhook(outcome: WebhookOutcome): string {
  if (outcome.kind === 'rejected') return `HTTP ${outcome.status}: ${outcome.reason.replaceAll('_', ' ')}`;
  if (outcome.kind !== 'delivery') return `HTTP ${outcome.status}`;
  const parts = [
    `${counted(outcome.published.length, 'event')} published${outcome.published.length > 0 ? ` (${outcome.published.map((event) => event.detailType).join(', ')})` : ''}`,
    outcome.duplicates.length > 0 ? `${counted(outcome.duplicates.length, 'duplicate')} dropped` : '',
    outcome.ignored.length > 0 ? `ignored: ${outcome.ignored.join(', ')}` : '',
    outcome.failed.length > 0 ? `${outcome.failed.length} failed (Meta would redeliver)` : '',
  ];
  return `HTTP ${outcome.status}: ${parts.filter(Boolean).join('; ')}`;
}

/** One line for an event the resolver handled. */
export const describeEvent = (outcome: EventOutcome) => `${outcome.detailType ?? 'event'} ${outcome.status}: ${outcome.detail}`;

type Say = (text?: string) => void;
const WAIT_MS = 30_000;
const GAP = '        ';

/** The two webhook stories, told hop by hop. Needs the simulator (it lists the demo business's numbers). */
export async function playWebhookStories(stack: LocalStack, appSecret: string, say: Say): Promise<void> {
  say('');
  say(`Webhooks (signed like Meta's, posted to the receiver at ${stack.webhookUrl}):`);
  await nameApprovalStory(stack, appSecret, say);
  await pinChangedStory(stack, appSecret, say);
}

/** A name approval, posted 3 times (twice at once) and once forged: one event, one job, one register request. */
async function nameApprovalStory(stack: LocalStack, appSecret: string, say: Say): Promise<void> {
  const id = '1006';
  const body = nameApprovalWebhook(id, Math.floor(Date.now() / 1000));
  const post = (secret = appSecret) => postSignedWebhook(stack.webhookUrl, body, secret);
  const firstWebhook = stack.outcomes.webhooks.length;
  const firstEvent = stack.outcomes.events.length;
  const firstJob = stack.outcomes.jobs.length;
  const concurrent = await Promise.all([post(), post()]);
  const again = await post();
  const forged = await post('not-the-app-secret');
  const deliveries = stack.outcomes.webhooks.slice(firstWebhook).map((entry) => entry.outcome);
  const published = deliveries.flatMap((outcome) => (outcome.kind === 'delivery' ? outcome.published : []));
  const duplicates = deliveries.flatMap((outcome) => (outcome.kind === 'delivery' ? outcome.duplicates : []));
  say(`  ${id}  phone_number_name_update APPROVED, posted 3 times (2 at once, then again): HTTP ${[...concurrent, again].map((answer) => answer.status).join(', ')}`);
  say(`${GAP}receiver: ${counted(published.length, 'event')} published, ${counted(duplicates.length, 'duplicate')} dropped (the change log knows the change)`);
  say(`${GAP}the same body with a wrong signature: HTTP ${forged.status} (${forged.text}), nothing published`);

  const eventFor = () => stack.outcomes.events.slice(firstEvent).find((entry) => entry.outcome.phoneNumberIds.includes(id))?.outcome;
  await stack.until(() => eventFor() !== undefined, WAIT_MS, `the resolver on the ${id} approval`);
  const event = eventFor()!;
  const jobKey = event.jobKeys[0];
  const events = stack.outcomes.events.slice(firstEvent).filter((entry) => entry.outcome.phoneNumberIds.includes(id));
  say(`${GAP}bus → buffer queue → resolver: ${counted(events.length, 'event')}, ${counted(event.jobKeys.length, 'job')} (register ${id}, reason name_change, key ${jobKey?.slice(0, 26)}…)`);
  const jobFor = () => stack.outcomes.jobs.slice(firstJob).find((entry) => entry.outcome.jobKey === jobKey)?.outcome;
  await stack.until(() => jobFor() !== undefined, WAIT_MS, `the worker on job ${jobKey}`);
  // Nothing else on either queue: the dedup held all the way.
  const settledAfter = Date.now();
  await stack.until(() => stack.quietSince(settledAfter), WAIT_MS, 'the queues to empty');
  const jobs = stack.outcomes.jobs.slice(firstJob).filter((entry) => entry.outcome.phoneNumberId === id);
  say(`${GAP}worker: ${counted(jobs.length, 'job')} for ${id}: ${describeJob(jobFor()!)}; the Graph simulator received ${counted(stack.simulator?.limitedCalls(id).length ?? 0, 'register request')} for ${id}`);
}

/** PIN_CHANGED holds the number: the register job after it is dead-lettered without a Graph call. */
async function pinChangedStory(stack: LocalStack, appSecret: string, say: Say): Promise<void> {
  const id = '1007';
  // Meta's time is in seconds: not before the stored PIN's date, which makes that PIN the stale one.
  const stored = (await stack.clients.secretsManager.send(new DescribeSecretCommand({ SecretId: `${stack.resources.pinSecretPrefix}${id}` }))).CreatedDate?.getTime() ?? 0;
  const time = Math.max(Math.floor(Date.now() / 1000), Math.ceil(stored / 1000));
  const body = metaWebhook(time, 'security', { display_phone_number: digits(id), event: 'PIN_CHANGED', requester: '1234567890' });
  const firstWebhook = stack.outcomes.webhooks.length;
  const firstEvent = stack.outcomes.events.length;
  const firstJob = stack.outcomes.jobs.length;
  await postSignedWebhook(stack.webhookUrl, body, appSecret);
  say(`  ${id}  security PIN_CHANGED: ${stack.outcomes.webhooks.slice(firstWebhook).map((entry) => describeWebhook(entry.outcome)).join('; ')}`);
  const eventFor = () => stack.outcomes.events.slice(firstEvent).find((entry) => entry.outcome.phoneNumberIds.includes(id))?.outcome;
  await stack.until(() => eventFor() !== undefined, WAIT_MS, `the resolver on the ${id} PIN change`);
  const event = eventFor()!;
  say(`${GAP}resolver: ${event.detail}${event.status === 'applied' ? `; ${id} is held (pin_changed) until a PIN version stored after the change` : ''}`);
  const job: JobV1Input = { action: 'register', phoneNumberId: id, reason: 'manual', idempotencyKey: `demo-${id}-register` };
  await enqueueJob(stack.clients.sqs, stack.resources.jobQueueUrl, job);
  const jobFor = () => stack.outcomes.jobs.slice(firstJob).find((entry) => entry.outcome.jobKey === job.idempotencyKey)?.outcome;
  await stack.until(() => jobFor() !== undefined, WAIT_MS, `the worker on job ${job.idempotencyKey}`);
  say(`${GAP}a register job for ${id} → worker: ${describeJob(jobFor()!)}; the Graph simulator received ${counted(stack.simulator?.limitedCalls(id).length ?? 0, 'register request')} for ${id}`);
}

/** `1 event`, `2 events`. */
const counted = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

const describeJob = (outcome: JobOutcome) =>
  `${outcome.status === 'dead_lettered' ? `dead-lettered (${outcome.category})` : outcome.status}, Graph calls: ${graphCallsText(outcome)}`;
