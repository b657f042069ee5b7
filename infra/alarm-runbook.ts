/**
 * What each alarm means and the first command to run: the one definition. The stack writes it into each alarm's
 * description (so the notification says what happened), and `test/infra/alarm-runbook.test.ts` checks that
 * docs/deployment.md lists every row. Plain data: no aws-cdk-lib import.
 *
 * Commands may name the placeholders of {@link PLACEHOLDERS} (`<stack>`, `<workerLogGroup>`, ...); the stack fills them
 * in for the alarm description, and the docs show them as written there.
 */
import { GRAPH_CODE_TABLE } from '../shared/graph/error-codes.ts';
import type { DeadLetterCategory } from '../shared/jobs/dlq-envelope.v1.ts';
import { PERSON_CATEGORIES } from '../shared/metrics.ts';
import { DEADLINE_WARN_DAYS, EVENT_BUFFER_QUEUE } from './definitions.ts';

/** One alarm's page in the runbook. */
export interface RunbookEntry {
  /** When it fires, in CloudWatch terms. */
  readonly fires: string;
  /** What happened, for the person reading the notification. */
  readonly means: string;
  /** The first command to run. */
  readonly firstCommand: string;
}

const DAY = 24 * 60 * 60;

/** An alarm when the oldest dead letter is this old: SQS deletes dead letters at 14 days, so 4 days are left to act. */
export const OLDEST_DEAD_LETTER_ALARM_SECONDS = 10 * DAY;

/** An alarm when the oldest job has waited this long. Above a day: retries are parked deliberately for up to a day (PIN lockouts). */
export const OLDEST_JOB_ALARM_SECONDS = 30 * 60 * 60;

/** Meta's throttle codes, from the error table the worker runs on. */
const THROTTLE_CODES = GRAPH_CODE_TABLE.filter((row) => row.meaning === 'throttled').flatMap((row) => row.codes).join(', ');

const perCategory = (category: DeadLetterCategory) => `\`DeadLettered\` with \`category=${category}\`: Sum ≥ 1 in a minute (every new arrival)`;
const dlqList = (category: string) => `npx wa-registrar dlq list --category ${category} --stack <stack>`;

/**
 * Per dead-letter category: each category that needs a person has an alarm named `dead-letter-<category>`. The
 * rate_limited row documents why it has none.
 */
export const DEAD_LETTER_RUNBOOK: Record<DeadLetterCategory, RunbookEntry> = {
  invalid_job: {
    fires: perCategory('invalid_job'),
    means: 'A message on the job queue is not a valid job, or reuses an idempotency key with other content. Nothing was sent to Meta. Fix the producer, enqueue a corrected job, then purge the dead letter.',
    firstCommand: dlqList('invalid_job'),
  },
  rate_limited: {
    fires: 'no alarm: the scheduled redrive sends the job back at eligibleAt (a 133016 behind it pages through number-blocked)',
    means: "The number's attempt window is full, Meta blocked the number, or Meta throttles the app for longer than a job may wait.",
    firstCommand: dlqList('rate_limited'),
  },
  permanent_error: {
    fires: perCategory('permanent_error'),
    means: 'Meta refused for a reason a retry cannot fix (a permission, a locked account, a deleted number, an unknown code). `dlq show` gives Meta\'s error and fbtrace_id; fix the cause, then redrive by id.',
    firstCommand: dlqList('permanent_error'),
  },
  needs_verification: {
    fires: perCategory('needs_verification'),
    means: "The number's verification lapsed (133006, or a pre-flight read that is not VERIFIED) and the number is held. Verify it (request_code, verify_code), then `hold clear <phoneNumberId>`.",
    firstCommand: dlqList('needs_verification'),
  },
  missing_secret: {
    fires: perCategory('missing_secret'),
    means: 'The token or a number\'s PIN is missing or malformed in Secrets Manager; nothing was sent. Store it, then `dlq redrive --all`.',
    firstCommand: dlqList('missing_secret'),
  },
  retries_exhausted: {
    fires: perCategory('retries_exhausted'),
    means: 'Transient failures (5xx, timeouts, failed state reads) used up the job\'s transient budget. Check the number with `status`, then `dlq redrive --all`.',
    firstCommand: dlqList('retries_exhausted'),
  },
  pin_rejected: {
    fires: perCategory('pin_rejected'),
    means: 'Meta refused the stored PIN (133005); the number is held so no queued job sends it again. Store the right PIN as a new version of its secret (or `hold clear` once sure it is right).',
    firstCommand: dlqList('pin_rejected'),
  },
  pin_changed: {
    fires: perCategory('pin_changed'),
    means: "Meta's security webhook said the number's PIN was changed or a reset was requested, so the stored PIN may be stale; the number's register jobs are held and nothing was sent. Store the current PIN as a new version of its secret: the scheduled redrive then sends the held jobs back.",
    firstCommand: dlqList('pin_changed'),
  },
  account_restricted: {
    fires: perCategory('account_restricted'),
    means: "An account_update webhook restricted, disabled or removed the number's business account; every job of its numbers is held and nothing was sent. A later update that lifts it (or `hold clear <phoneNumberId>`) lets the scheduled redrive send them back.",
    firstCommand: dlqList('account_restricted'),
  },
  pin_locked: {
    fires: perCategory('pin_locked'),
    means: 'Meta stopped checking PINs for the number (133008/133009) until eligibleAt; the number is held. After that, store a new PIN version if it was wrong (or `hold clear`).',
    firstCommand: dlqList('pin_locked'),
  },
  token_rejected: {
    fires: perCategory('token_rejected'),
    means: 'Meta refused the token (190/0): the app\'s token gate is closed and no job sends anything. Store a new token version (or `hold clear --token` once sure the token is right).',
    firstCommand: dlqList('token_rejected'),
  },
};

/** Every alarm besides the per-category ones, by the name it gets after `<stack>/`. */
export const ALARM_RUNBOOK = {
  'dead-letter-queue-depth': {
    fires: 'dead-letter queue `ApproximateNumberOfMessagesVisible + ApproximateNumberOfMessagesNotVisible` > 0 (5-minute maximum)',
    means:
      'Dead letters are waiting. This is the only alarm for jobs SQS moved itself after 10 receives (category max_receives: the worker crashed or timed out on them), which the worker never counted. It stays in alarm while any dead letter waits, rate_limited ones included; new arrivals that need a person page through their dead-letter-<category> alarm.',
    firstCommand: dlqList('max_receives'),
  },
  'oldest-dead-letter': {
    fires: `dead-letter queue \`ApproximateAgeOfOldestMessage\` > ${OLDEST_DEAD_LETTER_ALARM_SECONDS} s (10 days; 5-minute maximum)`,
    means: 'A dead letter has waited 10 days; SQS deletes it at 14. Act on it, redrive it or purge it.',
    firstCommand: 'npx wa-registrar dlq list --stack <stack>',
  },
  'number-blocked': {
    fires: '`NumberBlocked` Sum ≥ 1 in a minute',
    means:
      'Meta answered 133016: a number is blocked from register/deregister for 72 hours, the outcome the ledger exists to prevent. Nothing more is sent for it until the block ends. Find out how its window filled (requests made by hand in WhatsApp Manager count too).',
    firstCommand: 'npx wa-registrar dlq list --category rate_limited --code 133016 --stack <stack>',
  },
  'migration-incident': {
    fires: '`MigrationIncident` Sum ≥ 1 in a minute',
    means:
      'A migrate job from the On-Premises API was refused the PIN (133005, or a PIN lockout): the On-Premises client is down and the number is not on Cloud API, so the business cannot message until a person acts. The number is held. Find the right PIN (WhatsApp Manager), store it as a new version of the PIN secret, then redrive the job by id.',
    firstCommand: 'npx wa-registrar dlq list --category pin_rejected --stack <stack>',
  },
  'infrastructure-failure': {
    fires: '`InfrastructureFailure` Sum ≥ 1 in a minute',
    means:
      "A delivery failed on DynamoDB, SQS, Secrets Manager or KMS (a job in the worker, or an event in the event resolver); SQS delivers it again. The worker's log names the error; if it has no \"job failed\" line, look for \"event failed\" in the event resolver's log.",
    firstCommand: 'aws logs tail <workerLogGroup> --since 1h --filter-pattern \'"job failed"\'',
  },
  'app-gate-token': {
    fires: '`AppGateClosed` with `gate=token`: Sum ≥ 1 in a minute',
    means: 'A job met the closed token gate: Meta refused the token (190/0), and every job is held until a new token version is stored. `status` shows the gate with the refused version.',
    firstCommand: 'npx wa-registrar status <phoneNumberId> --stack <stack>',
  },
  'app-gate-throttle': {
    fires: '`AppGateClosed` with `gate=throttle`: Sum ≥ 1 in a minute',
    means: `Meta throttles the app (codes ${THROTTLE_CODES}): every job waits until the regain time and nothing is sent. \`status\` shows the throttle's end; look for another system using the same app.`,
    firstCommand: 'npx wa-registrar status <phoneNumberId> --stack <stack>',
  },
  'oldest-job': {
    fires: `job queue \`ApproximateAgeOfOldestMessage\` > ${OLDEST_JOB_ALARM_SECONDS} s (30 hours; 5-minute maximum)`,
    means: 'Jobs are not being finished. Retries are parked deliberately for up to a day (PIN lockouts), so the threshold is above a day. Check the worker\'s errors.',
    firstCommand: 'aws logs tail <workerLogGroup> --since 1h',
  },
  'worker-errors': {
    fires: 'Lambda `Errors` of the worker > 0 in 5 minutes',
    means: 'A whole invocation failed (one failing job is a partial batch failure, not an error). Often configuration: a bad environment fails the cold start and names the variable.',
    firstCommand: 'aws logs tail <workerLogGroup> --since 1h',
  },
  'worker-throttles': {
    fires: 'Lambda `Throttles` of the worker > 0 in 5 minutes',
    means: 'The account or region ran out of Lambda concurrency. Raise the account limit, or lower other functions\' concurrency.',
    firstCommand: 'aws lambda get-account-settings',
  },
  'scheduled-redrive-errors': {
    fires: 'Lambda `Errors` of the scheduled redrive > 0 in 15 minutes (only with `scheduledRedrive=true`)',
    means: 'Due dead letters are not being sent back. The next run retries.',
    firstCommand: 'aws logs tail <redriveLogGroup> --since 1h',
  },
  'event-dead-letters': {
    fires: 'events dead-letter queue `ApproximateNumberOfMessagesVisible + ApproximateNumberOfMessagesNotVisible` > 0 (5-minute maximum)',
    means:
      'An event needs a person; nothing was enqueued for it. The event resolver dead-letters an event with a reason and a hint ' +
      "(a display number missing from its business account's list, a malformed event); SQS moves an event after " +
      `${EVENT_BUFFER_QUEUE.maxReceiveCount} failed deliveries (Graph number-list reads kept failing, or the resolver crashed), and EventBridge one it could not deliver. ` +
      'Act on it (put the event on the bus again, or `enqueue` the job by hand), then delete it. It stays in alarm while any waits.',
    firstCommand: 'aws sqs receive-message --queue-url <eventsDeadLetterQueueUrl> --max-number-of-messages 10 --attribute-names All --message-attribute-names All',
  },
  'name-deadline-at-risk': {
    fires: `\`NameDeadlineAtRisk\` Maximum ≥ 1 in an hour (the deadline watch reports every hour)`,
    means:
      `Meta approved a number's new display name, and the number must be registered again within 14 days of the approval; that deadline is less than ${DEADLINE_WARN_DAYS} days away (or passed) ` +
      "and no register took effect since. The resolver enqueued a name_change job at the approval: find why it did not finish (a dead letter, a hold), fix it and redrive or enqueue it. The watch's log names each number.",
    firstCommand: 'aws logs tail <deadlineWatchLogGroup> --since 2h --filter-pattern \'"name approval needs a re-register"\'',
  },
  'webhook-receiver-errors': {
    fires: 'Function URL `Url5xxCount` + Lambda `Errors` of the webhook receiver > 0 in 5 minutes',
    means:
      "Meta's webhook deliveries are failing: the receiver answered 5xx (it could not read its secrets, claim a change or put its event on the bus, and answers 500 so that Meta redelivers, for up to 7 days), or the function failed (a bad environment fails the cold start and names the variable). No change is lost while Meta redelivers, but none reaches the resolver.",
    firstCommand: 'aws logs tail <receiverLogGroup> --since 1h',
  },
  'event-resolver-errors': {
    fires: 'Lambda `Errors` of the event resolver > 0 in 5 minutes',
    means:
      `A whole batch of events failed (one failing event is a partial batch failure, not an error); SQS delivers them again, and moves an event to the events dead-letter queue after ${EVENT_BUFFER_QUEUE.maxReceiveCount} receives. Often configuration: a bad environment fails the cold start and names the variable.`,
    firstCommand: 'aws logs tail <resolverLogGroup> --since 1h',
  },
  'deadline-watch-errors': {
    fires: 'Lambda `Errors` of the deadline watch > 0 in an hour',
    means: 'Name-approval deadlines are not being checked, so name-deadline-at-risk cannot fire. The next hourly run tries again.',
    firstCommand: 'aws logs tail <deadlineWatchLogGroup> --since 2h',
  },
} as const satisfies Record<string, RunbookEntry>;

export type AlarmSlug = keyof typeof ALARM_RUNBOOK;

/** The name (after `<stack>/`) of a dead-letter category's alarm. */
export const deadLetterAlarmSlug = (category: DeadLetterCategory) => `dead-letter-${category}`;

/** Every alarm the stack creates (the scheduled redrive's only when it is deployed), by name after `<stack>/`. */
export function alarmSlugs(options: { scheduledRedrive: boolean }): string[] {
  return [
    ...PERSON_CATEGORIES.map(deadLetterAlarmSlug),
    ...(Object.keys(ALARM_RUNBOOK) as AlarmSlug[]).filter((slug) => options.scheduledRedrive || slug !== 'scheduled-redrive-errors'),
  ];
}

/** The placeholders a first command may name (as `<name>`), each with how the docs write it. */
export const PLACEHOLDERS = {
  stack: 'wa-registrar-<stage>',
  workerLogGroup: '<worker log group>',
  redriveLogGroup: '<redrive log group>',
  receiverLogGroup: '<receiver log group>',
  resolverLogGroup: '<resolver log group>',
  deadlineWatchLogGroup: '<deadline watch log group>',
  eventsDeadLetterQueueUrl: '<events dead-letter queue URL>',
} as const;

type Placeholder = keyof typeof PLACEHOLDERS;

/** The first command with its placeholders filled in; one without a value (a resource not deployed) stays as it is. */
export function fillCommand(command: string, values: Partial<Record<Placeholder, string>>): string {
  let filled = command;
  for (const [name, value] of Object.entries(values)) filled = filled.replaceAll(`<${name}>`, value);
  return filled;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const row = (name: string, entry: RunbookEntry) =>
  `| \`${name}\` | ${cell(entry.fires)} | ${cell(entry.means)} | \`${cell(fillCommand(entry.firstCommand, PLACEHOLDERS))}\` |`;
const HEADER = ['| Alarm (`wa-registrar-<stage>/…`) | Fires when | What happened | First command |', '|---|---|---|---|'];

/** docs/deployment.md's table of the per-category dead-letter alarms, rendered from {@link DEAD_LETTER_RUNBOOK}. */
function deadLetterAlarmTable(): string {
  const categories = Object.keys(DEAD_LETTER_RUNBOOK) as DeadLetterCategory[];
  return [
    ...HEADER,
    ...categories.map((category) => row(PERSON_CATEGORIES.includes(category) ? deadLetterAlarmSlug(category) : `(none: ${category})`, DEAD_LETTER_RUNBOOK[category])),
  ].join('\n');
}

/** docs/deployment.md's table of the other alarms, rendered from {@link ALARM_RUNBOOK}. */
function alarmTable(): string {
  return [...HEADER, ...Object.entries(ALARM_RUNBOOK).map(([slug, entry]) => row(slug, entry))].join('\n');
}

/** The tables docs/deployment.md shows between `<!-- name:start -->` and `<!-- name:end -->`. */
const DEPLOYMENT_DOC_TABLES = { 'dead-letter-alarms': deadLetterAlarmTable, 'alarms': alarmTable } as const;

/** The document with each marked block replaced by its rendered table. */
export function withAlarmTables(document: string): string {
  let text = document;
  for (const [name, render] of Object.entries(DEPLOYMENT_DOC_TABLES)) {
    const pattern = new RegExp(`(<!-- ${name}:start -->)[\\s\\S]*?(<!-- ${name}:end -->)`);
    if (!pattern.test(text)) throw new Error(`docs/deployment.md has no ${name} markers`);
    text = text.replace(pattern, (_match, start: string, end: string) => `${start}\n${render()}\n${end}`);
  }
  return text;
}

// `npx tsx infra/alarm-runbook.ts` rewrites docs/deployment.md's alarm tables from the rows above.
if (process.argv[1]?.endsWith('alarm-runbook.ts')) {
  const { readFileSync, writeFileSync } = await import('node:fs');
  const path = new URL('../docs/deployment.md', import.meta.url);
  writeFileSync(path, withAlarmTables(readFileSync(path, 'utf8')));
  console.log('docs/deployment.md alarm tables written');
}
