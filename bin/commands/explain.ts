import { listDeadLetters, SqsDeadLetterQueue } from '../../shared/dead-letters/index.ts';
import type { GraphClient } from '../../shared/graph/port.ts';
import { DynamoDbAttemptLedger } from '../../shared/ledger/dynamodb-ledger.ts';
import { GRAPH_HELP, GRAPH_OPTIONS, graphClientFor, knownTokenSecretId, readGraphToken } from '../ops/graph-access.ts';
import { requireResource, type Resources } from '../ops/resources.ts';
import { buildExplainView, readExplainFacts, readLiveState, renderExplain, type ExplainSources } from '../views/explain.ts';
import {
  BUDGET_HELP,
  BUDGET_OPTIONS,
  budgetPolicy,
  checkPhoneNumberId,
  holdProbeFor,
  onePositional,
  parse,
  RESOURCE_HELP,
  RESOURCE_OPTIONS,
  scanOptions,
  UsageError,
  withResources,
  type CliIo,
  type Command,
  type Values,
} from '../cli-support.ts';

const help = `Usage: wa-registrar explain <phoneNumberId> [--json] [options]

Why is this number not live? A verdict and the next step first (other findings under it), then a timeline of the
number's requests, holds and gates (token, throttles), its dead letters, Meta's webhook events, the name-approval
deadline, verification and PIN rotation records, and one live state read.
Read-only: the dead-letter queue is only peeked at, nothing is written, and Meta gets one GET /{id}, never a
register or deregister. The live read needs the Graph token: when it cannot be read (access denied, no secret,
no Graph URL beside the local run), explain says "live state: not read (why)" and goes on.
  --offline               no live read, and no token read
${GRAPH_HELP}
${BUDGET_HELP}
${RESOURCE_HELP}`;

const OPTIONS = { ...RESOURCE_OPTIONS, ...BUDGET_OPTIONS, ...GRAPH_OPTIONS, region: { type: 'string' }, offline: { type: 'boolean' } } as const;

async function run(args: string[], io: CliIo): Promise<void> {
  const parsed = parse(args, OPTIONS, 'explain');
  if (!parsed) {
    io.stdout.write(`${help}\n`);
    return;
  }
  const { values, positionals } = parsed;
  const phoneNumberId = checkPhoneNumberId(onePositional(positionals, 'explain needs one <phoneNumberId>'));
  const policy = budgetPolicy(values, io.env);
  await withResources(values, io, { regionAlias: true }, async (resources, clients) => {
    const ledger = new DynamoDbAttemptLedger(clients.dynamodb, requireResource(resources, 'ledgerTableName'));
    const tokenSecretId = knownTokenSecretId(values, io.env, resources);
    const dlqUrl = resources.deadLetterQueueUrl;
    const graph = values.offline ? { notRead: '--offline' } : liveGraph(values, io, resources);
    const sources: ExplainSources = {
      ledger,
      deadLetters: dlqUrl
        ? () => listDeadLetters(new SqsDeadLetterQueue(clients.sqs, dlqUrl), { phoneNumberId }, scanOptions(resources, io))
        : { notRead: 'no dead-letter queue is known (--dlq-url or --stack)' },
      // Versions only (ListSecretVersionIds): whether a new PIN or token version lifted a hold.
      secretVersions: holdProbeFor({ ...resources, ...(tokenSecretId === undefined ? {} : { tokenSecretId }) }, clients)!,
      live: () =>
        readLiveState(phoneNumberId, { graph, token: () => readGraphToken(clients.secretsManager, values, io.env, resources), now: () => io.clock.now() }),
    };
    const { facts, notes } = await readExplainFacts(sources, phoneNumberId, policy, io.clock.now());
    const view = buildExplainView(facts, notes);
    io.stdout.write(values.json ? `${JSON.stringify(view, null, 2)}\n` : `${renderExplain(view)}\n`);
  });
}

/**
 * The Graph client for the live read, as `verify` builds it. A wrong --graph-url or --graph-version is a usage
 * error; a Graph URL that is merely unknown (beside the local run) or a bad variable only skips the live read.
 */
function liveGraph(values: Values, io: CliIo, resources: Resources): GraphClient | { notRead: string } {
  try {
    return graphClientFor(values, io.env, resources, () => io.clock.now());
  } catch (error) {
    if (!(error instanceof UsageError) || values['graph-url'] !== undefined || values['graph-version'] !== undefined) throw error;
    return { notRead: error.message };
  }
}

/** `wa-registrar explain <phoneNumberId>`: why a number is not live, and what to do next. */
export const explainCommand: Command = { help, run };
