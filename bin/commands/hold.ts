import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import { clearNumberHold, clearTokenGate } from '../ops/holds.ts';
import { requireResource } from '../ops/resources.ts';
import { formatRelative, formatTime } from '../views/format.ts';
import {
  budgetPolicy,
  checkPhoneNumberId,
  CommandError,
  parse,
  RESOURCE_HELP,
  RESOURCE_OPTIONS,
  UsageError,
  withResources,
  type CliIo,
  type Command,
} from '../cli-support.ts';

const help = `Usage: wa-registrar hold clear <phoneNumberId> [--force] [options]
       wa-registrar hold clear --token [--business <wabaId>] [options]

Lifts a hold the worker set, once the cause is dealt with, so the number's jobs run again:
  pin_rejected         Meta refused the stored PIN (133005). Clear it once sure the PIN is right; storing a new
                       PIN version lifts it by itself.
  pin_locked           Meta stopped checking PINs (133008/133009) until a time. Refused before then unless --force:
                       Meta checks no PIN before then, so a register would only earn another lockout.
  needs_verification   The number's verification lapsed. Verify it (request_code, verify_code), then clear.
  pin_changed          Meta's security webhook said the PIN changed elsewhere. Storing the current PIN as a new
                       version lifts it by itself; clear it once sure the stored PIN is right.
  account_restricted   An account_update restricted the business. A later lifting update ends it by itself.
  --token              the app's token gate (Meta refused the token, 190/0): every job waits on it. Storing a new
                       token version lifts it by itself.
  --business <wabaId>  with --token: the gate of that business's own token (TOKEN_SECRET_PREFIX + wabaId)
  --force              clear a pin_locked hold before its end

Only the ledger changes: nothing is sent to Meta. The held dead-letters go back with the next scheduled redrive,
or now with \`wa-registrar dlq redrive --eligible\`. With no hold, says so and exits 0.
${RESOURCE_HELP}`;

async function clear(args: string[], io: CliIo): Promise<void> {
  const parsed = parse(
    args,
    { ...RESOURCE_OPTIONS, region: { type: 'string' }, token: { type: 'boolean' }, business: { type: 'string' }, force: { type: 'boolean' } },
    'hold clear',
  );
  if (!parsed) {
    io.stdout.write(`${help}\n`);
    return;
  }
  const { values, positionals } = parsed;
  const token = Boolean(values.token);
  if (token && positionals.length > 0) throw new UsageError('hold clear --token takes no phoneNumberId: the token gate is app-wide');
  if (token && values.force) throw new UsageError('--force applies only to a number\'s pin_locked hold');
  if (!token && positionals.length !== 1) throw new UsageError('hold clear needs one <phoneNumberId>, or --token');
  const business = values.business as string | undefined;
  if (business !== undefined && !token) throw new UsageError('--business applies only with --token');
  if (business !== undefined && !/^\d{1,20}$/.test(business)) throw new UsageError('--business must be a WhatsApp Business Account id (1-20 digits)');
  const phoneNumberId = token ? undefined : checkPhoneNumberId(positionals[0]!);
  // The number item's TTL is recomputed on write: it must cover the window + margin the worker counts
  // (ATTEMPT_WINDOW_HOURS, WINDOW_MARGIN_MINUTES, BLOCK_HOURS from the environment, else the worker's defaults).
  const policy = budgetPolicy({}, io.env);
  await withResources(values, io, { regionAlias: true }, async (resources, clients) => {
    const ledger = new DynamoDbAttemptLedger(clients.dynamodb, requireResource(resources, 'ledgerTableName'));
    const now = io.clock.now();
    const next = 'Held dead-letters go back with the next scheduled redrive, or now with `wa-registrar dlq redrive --eligible`.';
    if (phoneNumberId === undefined) {
      const result = await clearTokenGate(ledger, { now, policy, ...(business === undefined ? {} : { scope: business }) });
      const which = business === undefined ? 'the token gate' : `the token gate of business ${business}`;
      if (values.json) {
        io.stdout.write(`${JSON.stringify(result.cleared ? { cleared: true, tokenGate: { ...result.gate, since: iso(result.gate.since) } } : { cleared: false, why: result.why }, null, 2)}\n`);
      } else if (!result.cleared) {
        io.stdout.write(`${which[0]!.toUpperCase()}${which.slice(1)} is open; nothing to clear.\n`);
      } else {
        const gate = result.gate;
        io.stdout.write(`Cleared ${which} (code ${gate.code} since ${formatTime(gate.since)}, token version ${gate.tokenVersion}).\n${next}\n`);
      }
      return;
    }
    const result = await clearNumberHold(ledger, phoneNumberId, { now, policy, force: Boolean(values.force) });
    if (!result.cleared && result.why === 'locked') {
      const until = result.hold.until!;
      throw new CommandError(
        `number ${phoneNumberId} is PIN-locked by Meta until ${formatTime(until)} (${formatRelative(until, now)}): Meta checks no PIN before then, ` +
          'so a register would only earn another lockout. Nothing changed; pass --force to clear it anyway',
      );
    }
    if (values.json) {
      const hold = result.cleared ? result.hold : undefined;
      const shown = hold ? { ...hold, since: iso(hold.since), ...(hold.until === undefined ? {} : { until: iso(hold.until) }) } : undefined;
      io.stdout.write(`${JSON.stringify(result.cleared ? { cleared: true, phoneNumberId, hold: shown } : { cleared: false, phoneNumberId, why: result.why }, null, 2)}\n`);
      return;
    }
    if (!result.cleared) {
      io.stdout.write(`Number ${phoneNumberId} has no hold; nothing to clear.\n`);
      return;
    }
    const hold = result.hold;
    const facts = [
      `since ${formatTime(hold.since)}`,
      hold.code === undefined ? undefined : `code ${hold.code}`,
      hold.pinVersion === undefined ? undefined : `PIN version ${hold.pinVersion}`,
      hold.until === undefined ? undefined : `until ${formatTime(hold.until)}`,
    ].filter(Boolean);
    io.stdout.write(`Cleared the ${hold.cause} hold on number ${phoneNumberId} (${facts.join(', ')}): ${hold.detail}.\n${next}\n`);
  });
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Usage of the group, printed for `wa-registrar hold --help`. */
export const HOLD_HELP = 'Usage: wa-registrar hold clear <phoneNumberId> [--force] | hold clear --token [--business <wabaId>]   (see `wa-registrar hold clear --help`)';

/** `wa-registrar hold clear`. */
export const holdCommands: Record<string, Command> = {
  clear: { help, run: clear },
};
