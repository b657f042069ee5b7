import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import { requireResource } from '../ops/resources.ts';
import { readStatus, renderStatus } from '../views/status.ts';
import {
  BUDGET_HELP,
  BUDGET_OPTIONS,
  budgetPolicy,
  checkPhoneNumberId,
  onePositional,
  parse,
  RESOURCE_HELP,
  RESOURCE_OPTIONS,
  withResources,
  type CliIo,
  type Command,
} from '../cli-support.ts';

const help = `Usage: wa-registrar status <phoneNumberId> [options]

Shows, per budget counter, the requests in the current window (time, operation, reason, outcome, code),
the slots left (counting slots reserved by jobs in progress), when the next slot frees, any block by Meta
(133016), the number's hold (wrong PIN, PIN lockout, verification) and what lifts it, its last success,
and the app-wide gates (Meta's throttle, a refused token).
${BUDGET_HELP}
${RESOURCE_HELP}`;

async function run(args: string[], io: CliIo): Promise<void> {
  const parsed = parse(args, { ...RESOURCE_OPTIONS, ...BUDGET_OPTIONS, region: { type: 'string' } }, 'status');
  if (!parsed) {
    io.stdout.write(`${help}\n`);
    return;
  }
  const { values, positionals } = parsed;
  const phoneNumberId = checkPhoneNumberId(onePositional(positionals, 'status needs one <phoneNumberId>'));
  const policy = budgetPolicy(values, io.env);
  await withResources(values, io, { regionAlias: true }, async (resources, clients) => {
    const ledger = new DynamoDbAttemptLedger(clients.dynamodb, requireResource(resources, 'ledgerTableName'));
    const view = await readStatus(ledger, phoneNumberId, policy, io.clock.now());
    io.stdout.write(values.json ? `${JSON.stringify(view, null, 2)}\n` : `${renderStatus(view)}\n`);
  });
}

/** `wa-registrar status <phoneNumberId>`: why a number is (not) registered. */
export const statusCommand: Command = { help, run };
