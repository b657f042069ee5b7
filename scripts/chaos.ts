/**
 * The model-based fault suite (jobs, faults, crashes, operator actions and Meta's webhooks through the real receiver and
 * resolver) with longer programs, for soak runs:
 *
 *   npm run chaos -- --runs 300 --seed 42 [--steps 40] [--hangs 6] [--path "12:3:0"]
 *
 * Prints the seed first, then progress, then either a summary or the shrunk counterexample (with the command
 * that replays it). Exits 1 when an invariant broke.
 */
import { parseArgs } from 'node:util';

// As in unit tests: Powertools in dev mode, metrics off (the worker's log lines are captured and scanned, not shown).
process.env.POWERTOOLS_DEV ??= 'true';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    seed: { type: 'string' },
    steps: { type: 'string', default: '40' },
    hangs: { type: 'string', default: '6' },
    path: { type: 'string' },
  },
});

const wholeNumber = (name: string, text: string | undefined): number => {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`--${name} must be a whole number, got "${text}"`);
    process.exit(2);
  }
  return value;
};

const seed = values.seed === undefined ? Date.now() % 2 ** 31 : wholeNumber('seed', values.seed);
const runs = wholeNumber('runs', values.runs);
const maxSteps = wholeNumber('steps', values.steps);
const maxHangs = wholeNumber('hangs', values.hangs);

console.log(`chaos: seed ${seed}, ${runs} programs of up to ${maxSteps} steps, ${maxHangs} hangs each${values.path ? `, replaying path ${values.path}` : ''}`);
const { checkModel } = await import('../test/support/model/property.ts');
const started = Date.now();
const result = await checkModel({
  seed,
  numRuns: runs,
  maxSteps,
  maxHangs,
  ...(values.path ? { path: values.path } : {}),
  onProgram: (count) => {
    if (count % 25 === 0) console.log(`  … ${count} programs (${Math.round((Date.now() - started) / 1000)} s)`);
  },
});
console.log(result.report);
console.log(`${result.failed ? 'FAILED' : 'passed'} in ${Math.round((Date.now() - started) / 1000)} s (seed ${seed})`);
process.exit(result.failed ? 1 : 0);
