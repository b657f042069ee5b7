import fc from 'fast-check';
import { checkEnd, checkStep } from './invariants.ts';
import { programArb, type Program } from './program.ts';
import { describeStep, formatFailure } from './report.ts';
import { captureOutput } from './secret-scan.ts';
import { applyStep } from './steps.ts';
import { World } from './world.ts';

export interface RunOptions {
  /** 'hang' faults allowed per program (each costs 100 ms of real time); later ones become HTTP 500s. */
  maxHangs: number;
}

export interface RunResult {
  violations: string[];
  trace: string[];
  world: World;
  /** Steps performed: a run stops at the first step that breaks an invariant. */
  stepsRun: number;
}

/**
 * Runs one program against the real worker: each step, then the queue until quiet, then the invariants; after the
 * last step, the drain and the end invariants. Stops at the first step that breaks an invariant.
 */
export async function runProgram(program: Program, options: RunOptions): Promise<RunResult> {
  const world = await World.create(program.setup, options);
  const restore = captureOutput((text) => world.catalog.scan('a log line', text));
  try {
    for (const [index, step] of program.steps.entries()) {
      world.records.note(`[${world.time()}] step ${index + 1}: ${describeStep(step, (n) => world.numberId(n))}`);
      await applyStep(world, step);
      const violations = await checkStep(world);
      if (violations.length > 0) return { violations: [`after step ${index + 1}:`, ...violations], trace: world.records.trace, world, stepsRun: index + 1 };
    }
    await world.drain();
    const violations = await checkEnd(world);
    return { violations: violations.length > 0 ? ['at the end:', ...violations] : [], trace: world.records.trace, world, stepsRun: program.steps.length };
  } finally {
    restore();
    await world.stop();
  }
}

export interface ModelCheckOptions extends RunOptions {
  seed: number;
  numRuns: number;
  maxSteps: number;
  /** fast-check's replay path of a counterexample (with the same seed and settings). */
  path?: string;
  /** Called after each program with the count so far. */
  onProgram?: (count: number) => void;
}

export interface ModelCheckResult {
  failed: boolean;
  numRuns: number;
  /** A summary line, or the full counterexample report. */
  report: string;
}

/** The property: every random program keeps every invariant. Shrinks a failure and describes it readably. */
export async function checkModel(options: ModelCheckOptions): Promise<ModelCheckResult> {
  let count = 0;
  let lastFailure: { program: Program; violations: string[]; trace: string[] } | undefined;
  const property = fc.asyncProperty(programArb({ maxSteps: options.maxSteps }), async (program) => {
    count += 1;
    options.onProgram?.(count);
    try {
      const result = await runProgram(program, options);
      if (result.violations.length === 0) return true;
      // Steps after the failing one never ran: the report leaves them out.
      lastFailure = { program: { ...program, steps: program.steps.slice(0, result.stepsRun) }, violations: result.violations, trace: result.trace };
    } catch (error) {
      lastFailure = { program, violations: [`the model itself failed: ${(error as Error).stack ?? String(error)}`], trace: [] };
    }
    return false;
  });
  const details = await fc.check(property, { seed: options.seed, numRuns: options.numRuns, ...(options.path ? { path: options.path } : {}) });
  if (details.failed && lastFailure) lastFailure = await withoutNeedlessSteps(lastFailure, options);
  if (!details.failed || !lastFailure) {
    const note = details.failed ? `; fast-check reported: ${String(details.errorInstance)}` : '';
    return { failed: details.failed, numRuns: details.numRuns, report: `${details.numRuns} programs (seed ${options.seed})${note}` };
  }
  const replay = `npm run chaos -- --seed ${options.seed} --path "${details.counterexamplePath}" --steps ${options.maxSteps} --hangs ${options.maxHangs}`;
  return {
    failed: true,
    numRuns: details.numRuns,
    report: [
      `Model-based fault suite: a program broke an invariant (seed ${options.seed}, after ${details.numRuns} programs, shrunk ${details.numShrinks} times).`,
      `Replay fast-check's counterexample (before the last step-dropping pass): ${replay}`,
      '',
      formatFailure(lastFailure.program, lastFailure.violations, lastFailure.trace),
      '',
      `As a regression test: runProgram(${JSON.stringify(lastFailure.program)}, { maxHangs: ${options.maxHangs} })`,
    ].join('\n'),
  };
}

/**
 * fast-check shrinks arrays mostly from the front; this pass drops any single step the failure does not need,
 * in one pass from the last step to the first. The result is the program the report shows.
 */
async function withoutNeedlessSteps(failure: { program: Program; violations: string[]; trace: string[] }, options: RunOptions) {
  let current = failure;
  for (let index = current.program.steps.length - 1; index >= 0 && current.program.steps.length > 1; index--) {
    const program = { ...current.program, steps: current.program.steps.filter((_, position) => position !== index) };
    const result = await runProgram(program, options).catch(() => undefined);
    if (result && result.violations.length > 0) {
      current = { program: { ...program, steps: program.steps.slice(0, result.stepsRun) }, violations: result.violations, trace: result.trace };
      index = Math.min(index, current.program.steps.length);
    }
  }
  return current;
}
