import type { DeadLetter } from '../../shared/dead-letters/index.ts';
import { formatRelative, formatTime, table } from './format.ts';
import { redactSecrets, redactText } from './redact.ts';

/** How the `dlq` commands show dead-letters: the list table, one message's story, and their JSON. */

/** The row `dlq list --json` prints for a message. No receipt handle, no envelope body. */
export function deadLetterSummary(message: DeadLetter, now: number) {
  return {
    messageId: message.messageId,
    phoneNumberId: message.phoneNumberId ?? null,
    businessAccountId: businessOf(message) ?? null,
    action: message.action ?? null,
    category: message.category,
    code: message.code ?? null,
    deadLetteredAt: isoOrNull(message.deadLetteredAt),
    eligibleAt: message.eligibleAt === undefined ? null : new Date(message.eligibleAt).toISOString(),
    eligibleNow: message.eligibleAt !== undefined && message.eligibleAt <= now,
    receiveCount: message.receiveCount ?? null,
    jobKey: message.jobKey ?? null,
    redriveGeneration: message.redriveGeneration,
  };
}

/** The business a dead letter concerns: the job's, else the business whose token or account held it. */
const businessOf = (message: DeadLetter) => message.job?.businessAccountId ?? message.envelope?.hold?.businessAccountId;

/** The `dlq list` table. A BUSINESS column appears when a listed message names one (Solution Partners). */
export function renderDeadLetterTable(messages: DeadLetter[], now: number): string {
  if (messages.length === 0) return 'No dead-letters match.';
  const withBusiness = messages.some((message) => businessOf(message) !== undefined);
  const rows = messages.map((message) => [
    message.messageId,
    message.phoneNumberId,
    ...(withBusiness ? [businessOf(message)] : []),
    message.action,
    message.category,
    message.code,
    message.deadLetteredAt > 0 ? formatTime(message.deadLetteredAt) : undefined,
    message.eligibleAt === undefined
      ? undefined
      : message.eligibleAt <= now
        ? `${formatTime(message.eligibleAt)} (now)`
        : `${formatTime(message.eligibleAt)} (${formatRelative(message.eligibleAt, now)})`,
    message.receiveCount,
  ]);
  return table(['MESSAGE ID', 'NUMBER', ...(withBusiness ? ['BUSINESS'] : []), 'ACTION', 'CATEGORY', 'CODE', 'DEAD-LETTERED', 'ELIGIBLE FOR REDRIVE', 'RECEIVES'], rows);
}

/** What `dlq show --json` prints: the whole envelope (or the bare job / problem), secrets masked as a backstop. */
export function deadLetterDocument(message: DeadLetter): Record<string, unknown> {
  return redactSecrets({
    messageId: message.messageId,
    category: message.category,
    ...(message.envelope ? { envelope: message.envelope } : {}),
    ...(!message.envelope && message.job ? { job: message.job, note: 'moved by SQS after maxReceiveCount deliveries; the worker never decided on it' } : {}),
    ...(message.problem ? { problem: message.problem } : {}),
  });
}

/** The `dlq show` people view: what happened, what to do, and the job's request history. */
export function renderDeadLetter(message: DeadLetter, now: number): string {
  const safe = redactSecrets(message.envelope);
  const lines: string[] = [];
  const field = (name: string, value: string | number | undefined | null) => {
    if (value !== undefined && value !== null && value !== '') lines.push(`${`${name}:`.padEnd(22)}${value}`);
  };
  field('Message id', message.messageId);
  field('Category', message.category);
  field('Number', message.phoneNumberId);
  field('Action', message.action);
  field('Job key', message.jobKey);
  field('Redrive generation', message.redriveGeneration);
  if (message.deadLetteredAt > 0) field('Dead-lettered', formatTime(message.deadLetteredAt));
  if (message.eligibleAt !== undefined) {
    field('Eligible for redrive', `${formatTime(message.eligibleAt)} (${formatRelative(message.eligibleAt, now)})`);
  }
  if (safe) {
    field('Reason', safe.reason);
    field('Next step', safe.hint);
    if (safe.blockedUntil) field('Blocked until', formatTime(Date.parse(safe.blockedUntil)));
    if (safe.hold) {
      const hold = safe.hold;
      const facts = [
        `since ${formatTime(Date.parse(hold.since))}`,
        hold.until === undefined ? undefined : `until ${formatTime(Date.parse(hold.until))}`,
        hold.secretVersion === undefined ? undefined : `${hold.cause === 'token_rejected' ? 'token' : 'PIN'} version ${hold.secretVersion}`,
      ].filter(Boolean);
      field('Hold', `${hold.cause} (${facts.join(', ')}); goes back once lifted (hold clear, or a new secret version)`);
    }
    if (safe.graphError) {
      const error = safe.graphError;
      field('Meta error', [error.code, error.subcode === undefined ? undefined : `subcode ${error.subcode}`, error.message].filter(Boolean).join(' '));
      field('Details', error.details);
      field('fbtrace_id', error.fbtraceId);
      field('HTTP status', error.httpStatus);
    }
    if (safe.budget) field('Budget', `${safe.budget.used}/${safe.budget.limit} in ${safe.budget.windowHours} h (${safe.budget.scope})`);
    field('Deliveries', safe.receiveCount);
    field('Source message', safe.sourceMessageId);
    if (safe.job) field('Job', JSON.stringify(safe.job));
    if (safe.rawBody !== undefined) field('Raw body', `${safe.rawBody}${safe.rawBodyBytes ? ` (${safe.rawBodyBytes} bytes)` : ''}`);
    lines.push('', 'Requests for this job:');
    if (safe.attempts.length === 0) {
      lines.push('  none (nothing was sent to Meta)');
    } else {
      const rows = safe.attempts.map((attempt) => [
        formatTime(Date.parse(attempt.at)),
        attempt.action,
        attempt.outcome,
        attempt.code,
        attempt.httpStatus,
        attempt.fbtraceId,
        attempt.durationMs === undefined ? undefined : `${Math.round(attempt.durationMs)} ms`,
      ]);
      lines.push(table(['TIME', 'ACTION', 'OUTCOME', 'CODE', 'HTTP', 'FBTRACE_ID', 'DURATION'], rows).replace(/^/gm, '  '));
    }
  } else if (message.job) {
    lines.push('', 'SQS moved this job after its maximum number of deliveries; the worker never decided on it.');
    lines.push(`Job: ${JSON.stringify(redactSecrets(message.job))}`);
    lines.push('Check `wa-registrar status` for the number, then redrive it by id if the job should still run.');
  } else if (message.problem) {
    field('Problem', redactText(message.problem));
  }
  return lines.join('\n');
}

const isoOrNull = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : null);
