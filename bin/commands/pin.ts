import { isLoopbackUrl } from '../../shared/loopback.ts';
import { pinSecretName, PinRotationError, rotateInProcess, SecretsManagerPinVault, type RotationStepResult } from '../../shared/pins/index.ts';
import { inProcessRotationDeps, provisionPin, startRotation } from '../ops/pins.ts';
import type { Resources } from '../ops/resources.ts';
import { requireResource } from '../ops/resources.ts';
import {
  budgetPolicy,
  checkPhoneNumberId,
  CommandError,
  onePositional,
  parse,
  RESOURCE_HELP,
  RESOURCE_OPTIONS,
  UsageError,
  withResources,
  type CliIo,
  type Command,
} from '../cli-support.ts';

const provisionHelp = `Usage: wa-registrar pin provision <phoneNumberId> [--force] [--reveal] [options]

Stores a new random PIN (6 digits from the system's CSPRNG; trivial ones such as 000000, 123456 or 121212 are never
drawn) as the number's PIN secret, PIN_SECRET_PREFIX + phoneNumberId, as {"pin":"…"}. Only the secret changes:
nothing is sent to Meta. The number's first register sends the PIN; if two-step verification is not on yet at Meta,
it becomes the number's PIN then. If it is on already (a PIN set in WhatsApp Manager or by another system), store that
PIN instead: Meta would refuse this one (133005).

  --force    the secret exists already: store the new PIN as its current version anyway (the old value stays as
             AWSPREVIOUS). Only for a stored PIN that was never sent or is wrong: to change a PIN Meta already has,
             use \`wa-registrar pin rotate\`, which sets it at Meta and in the secret together.
  --reveal   print the PIN, on a terminal only (refused when stdout is not a terminal, and with --json)

The PIN is never printed otherwise, nor logged. Needs secretsmanager:CreateSecret (and DescribeSecret and
PutSecretValue for --force) on the PIN secret; the operator policies do not include them.
${RESOURCE_HELP}`;

const rotateHelp = `Usage: wa-registrar pin rotate <phoneNumberId> [--every-days N] [--rotation-lambda-arn ARN] [--in-process] [options]

Changes the number's PIN at Meta and in its secret together, with Secrets Manager's rotation contract: createSecret (a
new random PIN stored as AWSPENDING; register jobs for the number wait from now on), setSecret (POST /{id} {pin}),
testSecret (Meta shows two-step verification on; no API checks a PIN without registering), finishSecret (AWSCURRENT
moves to the new PIN, a PIN hold is lifted, registers go on). An unfinished rotation is resumed, never replaced.

Where a rotation function is known (--rotation-lambda-arn, or the stack's PinRotationFunctionArn with --stack),
Secrets Manager runs the steps (RotateSecret, asynchronous):
  --every-days N          attach the function with a rotation every N days (1-1000), and rotate now. Default: the
                          stack's PinRotationDays. With 0 a secret whose rotation is configured already is rotated
                          with its own settings; one without is refused (Secrets Manager needs a schedule).
Elsewhere (the local emulator: moto cannot invoke a Lambda), or with --in-process, the CLI runs the same four steps
itself, with your credentials: it reads the token and the PIN secrets, writes the PIN secret and the ledger, and
calls Graph at GRAPH_API_BASE_URL (default https://graph.facebook.com; the local run's simulator URL for npm start).

The PIN is never printed. Needs secretsmanager:RotateSecret on the PIN secret and lambda:InvokeFunction on the
function (or, in-process, what the rotation function's role has); the operator policies do not include them.
${RESOURCE_HELP}`;

async function provision(args: string[], io: CliIo): Promise<void> {
  const parsed = parse(args, { ...RESOURCE_OPTIONS, region: { type: 'string' }, force: { type: 'boolean' }, reveal: { type: 'boolean' } }, 'pin provision');
  if (!parsed) {
    io.stdout.write(`${provisionHelp}\n`);
    return;
  }
  const { values, positionals } = parsed;
  const phoneNumberId = checkPhoneNumberId(onePositional(positionals, 'pin provision needs one <phoneNumberId>'));
  const reveal = Boolean(values.reveal);
  if (reveal && values.json) throw new UsageError('--reveal prints the PIN on a terminal only, never in --json output');
  if (reveal && io.stdout.isTTY !== true) throw new UsageError('--reveal prints the PIN only when stdout is a terminal; it is not (a pipe, a file, a log)');
  await withResources(values, io, { regionAlias: true }, async (resources, clients) => {
    const secretName = pinSecretName(requirePinPrefix(resources), phoneNumberId);
    const stored = await provisionPin(new SecretsManagerPinVault(clients.secretsManager), secretName, phoneNumberId, { force: Boolean(values.force) });
    if (values.json) {
      io.stdout.write(`${JSON.stringify({ phoneNumberId, secretName, versionId: stored.versionId, replaced: stored.replaced, revealed: false }, null, 2)}\n`);
      return;
    }
    const what = stored.replaced ? `Replaced the PIN in ${secretName} with a new one (version ${stored.versionId}; the old value stays as AWSPREVIOUS)` : `Stored a new PIN for number ${phoneNumberId} in ${secretName} (version ${stored.versionId})`;
    io.stdout.write(`${what}.\n`);
    io.stdout.write(reveal ? `PIN: ${stored.pin}\n` : 'The PIN is not shown (--reveal shows it, on a terminal).\n');
    io.stdout.write(
      `Next: the number's first register sends it, and it becomes the number's PIN at Meta if two-step verification is not on yet: \`wa-registrar enqueue register ${phoneNumberId}\`.\n` +
        `If two-step verification is already on for the number, Meta has another PIN: store that one instead (Meta would refuse this one with 133005), or change Meta's with \`wa-registrar pin rotate ${phoneNumberId}\` once the stored PIN is Meta's.\n`,
    );
  });
}

async function rotate(args: string[], io: CliIo): Promise<void> {
  const parsed = parse(
    args,
    { ...RESOURCE_OPTIONS, region: { type: 'string' }, 'every-days': { type: 'string' }, 'rotation-lambda-arn': { type: 'string' }, 'in-process': { type: 'boolean' } },
    'pin rotate',
  );
  if (!parsed) {
    io.stdout.write(`${rotateHelp}\n`);
    return;
  }
  const { values, positionals } = parsed;
  const phoneNumberId = checkPhoneNumberId(onePositional(positionals, 'pin rotate needs one <phoneNumberId>'));
  const everyDays = values['every-days'] === undefined ? undefined : daysFrom(String(values['every-days']), '--every-days');
  const inProcessAsked = Boolean(values['in-process']);
  if (inProcessAsked && (everyDays !== undefined || values['rotation-lambda-arn'] !== undefined)) {
    throw new UsageError('--in-process runs the steps here: --every-days and --rotation-lambda-arn are for a rotation by Secrets Manager');
  }
  const policy = budgetPolicy({}, io.env);
  await withResources(values, io, { regionAlias: true }, async (resources, clients) => {
    const prefix = requirePinPrefix(resources);
    const secretName = pinSecretName(prefix, phoneNumberId);
    const lambdaArn = (values['rotation-lambda-arn'] as string | undefined) ?? resources.pinRotationFunctionArn;
    const inProcess = inProcessAsked || (lambdaArn === undefined && isLoopbackUrl(resources.endpoint));
    if (!inProcess) {
      if (lambdaArn === undefined) {
        throw new CommandError(
          `no rotation function is known (looked in: ${resources.source}): pass --stack NAME (its PinRotationFunctionArn output) or --rotation-lambda-arn ARN, ` +
            'or --in-process to run the four steps here with your own credentials',
        );
      }
      const days = everyDays ?? (resources.pinRotationDays === undefined ? 0 : daysFrom(resources.pinRotationDays, 'the stack\'s PinRotationDays'));
      const started = await startRotation(clients.secretsManager, new SecretsManagerPinVault(clients.secretsManager), { secretName, phoneNumberId, lambdaArn, days });
      if (values.json) {
        io.stdout.write(`${JSON.stringify({ phoneNumberId, secretName, mode: 'secrets-manager', ...started }, null, 2)}\n`);
        return;
      }
      io.stdout.write(
        `Secrets Manager is rotating ${secretName}${started.versionId ? ` to version ${started.versionId}` : ''} with ${started.lambdaArn}` +
          `${started.configured ? ` (every ${started.days} days from now on)` : ' (the secret\'s own rotation settings)'}.\n` +
          'It runs asynchronously: createSecret, setSecret, testSecret, finishSecret. Register jobs for the number wait until it finishes.\n' +
          `Follow it with \`aws secretsmanager describe-secret --secret-id ${secretName} --query VersionIdsToStages\` (done when one version is AWSCURRENT and no other is AWSPENDING) and the function's log group.\n`,
      );
      return;
    }
    const deps = inProcessRotationDeps(clients, {
      ledgerTableName: requireResource(resources, 'ledgerTableName'),
      tokenSecretId: requireTokenSecret(resources),
      pinSecretPrefix: prefix,
      env: io.env,
      clock: io.clock,
      policy,
    });
    const steps: RotationStepResult[] = [];
    if (!values.json) io.stdout.write(`Rotating the PIN of number ${phoneNumberId} (${secretName}) here, step by step${inProcessAsked ? '' : ': no rotation function is configured (the local emulator)'}.\n`);
    try {
      const done = await rotateInProcess(deps, phoneNumberId, {
        onStep: (step) => {
          steps.push(step);
          if (!values.json) io.stdout.write(`  ${step.step.padEnd(13)} ${step.outcome.padEnd(16)} ${step.detail}\n`);
        },
      });
      if (values.json) {
        io.stdout.write(`${JSON.stringify({ phoneNumberId, secretName, mode: 'in-process', versionId: done.versionId, resumed: done.resumed, steps }, null, 2)}\n`);
        return;
      }
      io.stdout.write(`Done${done.resumed ? ' (an unfinished rotation was resumed)' : ''}: version ${done.versionId} is AWSCURRENT and the number's PIN at Meta. The PIN is not shown.\n`);
    } catch (error) {
      if (!(error instanceof PinRotationError)) throw error;
      if (values.json) io.stdout.write(`${JSON.stringify({ phoneNumberId, secretName, mode: 'in-process', steps, failed: { step: error.step, kind: error.kind, message: error.message, code: error.code } }, null, 2)}\n`);
      else io.stdout.write(`  ${error.step.padEnd(13)} ${'FAILED'.padEnd(16)} ${error.message}\n`);
      throw new CommandError(failureSummary(error, phoneNumberId));
    }
  });
}

/** One sentence on where a failed rotation leaves the number, and what to do. */
function failureSummary(error: PinRotationError, phoneNumberId: string): string {
  switch (error.kind) {
    case 'rolled_back':
      return `the rotation was rolled back at ${error.step}: the number's PIN is still the one that was current, at Meta and in its secret`;
    case 'retry':
      return (
        `the rotation stopped at ${error.step} and stays pending: both PINs stay stored and register jobs for the number wait; ` +
        `run \`wa-registrar pin rotate ${phoneNumberId}\` again to resume it`
      );
    case 'refused':
      return `the rotation was refused at ${error.step}; nothing was sent to Meta in this step`;
  }
}

function requirePinPrefix(resources: Resources): string {
  if (resources.pinSecretPrefix) return resources.pinSecretPrefix;
  throw new CommandError(`the PIN secrets' prefix is not known (looked in: ${resources.source}): pass --stack NAME (its PinSecretPrefix output), or start the local run (npm start)`);
}

function requireTokenSecret(resources: Resources): string {
  if (resources.tokenSecretId) return resources.tokenSecretId;
  throw new CommandError(`the token secret's name is not known (looked in: ${resources.source}): pass --stack NAME (its TokenSecretId output), or start the local run (npm start)`);
}

function daysFrom(raw: string, source: string): number {
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 0 || days > 1000) throw new UsageError(`${source} must be a whole number of days from 0 to 1000 (Secrets Manager's AutomaticallyAfterDays; 0 attaches no schedule)`);
  return days;
}

/** Usage of the group, printed for `wa-registrar pin --help`. */
export const PIN_HELP =
  'Usage: wa-registrar pin provision <phoneNumberId> [--force] [--reveal] | pin rotate <phoneNumberId> [--every-days N] [--in-process]   (see `wa-registrar pin <command> --help`)';

/** `wa-registrar pin provision` and `wa-registrar pin rotate`. */
export const pinCommands: Record<string, Command> = {
  provision: { help: provisionHelp, run: provision },
  rotate: { help: rotateHelp, run: rotate },
};
