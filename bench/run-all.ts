/**
 * `npm run bench`: every bench/*.bench.ts in one run, printed as Markdown for the README.
 * Figures are measured, never asserted: these machines are noisy, so comparisons are side by side.
 */
import { readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

const modules = readdirSync(import.meta.dirname).filter((name) => name.endsWith('.bench.ts')).sort();
const sections: string[] = [
  '## Benchmarks',
  '',
  `Node ${process.version} on ${cpus()[0]?.model.trim() ?? 'unknown CPU'} (${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB), ${new Date().toISOString().slice(0, 10)}.`,
  '',
];
for (const name of modules) {
  const started = performance.now();
  const module = (await import(`./${name}`)) as { run?: () => Promise<string> };
  if (typeof module.run !== 'function') throw new Error(`bench/${name} exports no run()`);
  sections.push(await module.run(), '', `_${name}: ${((performance.now() - started) / 1000).toFixed(1)} s_`, '');
  console.error(`finished ${name}`);
}
console.log(sections.join('\n'));
