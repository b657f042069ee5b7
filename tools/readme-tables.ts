import { readFileSync, writeFileSync } from 'node:fs';
import { GUARDS } from '../shared/domain/guards.ts';
import { NO_ANSWER_ROW } from '../shared/domain/interpret.ts';
import { DEAD_LETTER_REASONS } from '../shared/domain/reasons.ts';
import { GRAPH_CODE_TABLE, UNKNOWN_CODE_ROW, type GraphCodeRow } from '../shared/graph/error-codes.ts';

/**
 * The README's policy tables, rendered from the tables the worker runs on. `npm run docs` writes them between
 * their markers; a unit test fails when the README and the code disagree.
 */
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

const WHAT: Record<GraphCodeRow['meaning'], string> = {
  blocked: 'block the operation for `BLOCK_HOURS` (both in shared mode); **never retried**',
  pin_rejected: 'hold the number under the refused PIN version; no job sends that PIN again',
  pin_locked: "hold the number until Meta's lock time (from `details`, else `PIN_LOCK_HOURS`), then until a new PIN version",
  needs_verification: 'hold the number until it is verified again (`hold clear`)',
  token_rejected: 'close the app-wide token gate under the token version; no job sends anything until a new token version',
  incomplete_deregister: 'deregister once, then go on; a second 133000 is dead-lettered',
  not_registered: 'a deregister is done; a register is dead-lettered',
  transient: 'outcome unknown, counted as spent; retried after a state read, within `TRANSIENT_ATTEMPTS_PER_JOB`',
  throttled: 'pause every job until the regain time (≥ 15 min); the job waits without a failed receive',
  permanent: 'dead-letter with the hint',
};

function codesOf(row: GraphCodeRow): string {
  const codes = row.codes.map(String);
  if (row.range) codes.push(`${row.range[0]}–${row.range[1]}`);
  return codes.join(', ');
}

export function graphPolicyTable(): string {
  const rows = [...GRAPH_CODE_TABLE, { ...NO_ANSWER_ROW, label: '5xx, timeout, dropped connection' }, { ...UNKNOWN_CODE_ROW, label: 'any other code' }];
  const lines = rows.map((row) => {
    const label = 'label' in row ? row.label : codesOf(row);
    const wait = row.minDelaySeconds ? ` (≥ ${row.minDelaySeconds / 60} min)` : '';
    return `| ${label} | ${cell(WHAT[row.meaning])}${wait} | \`${row.category ?? ''}\` | ${cell(row.hint)} |`;
  });
  return ['| Meta code | What the worker does | Category when it ends the job | Hint in the dead letter |', '|---|---|---|---|', ...lines].join('\n');
}

export function reasonsTable(): string {
  const lines = Object.entries(DEAD_LETTER_REASONS).map(([key, row]) => `| \`${key}\` | ${cell(row.summary)} | \`${row.category}\` | ${cell(row.hint)} |`);
  return ['| Reason | When (nothing is sent) | Category | Hint |', '|---|---|---|---|', ...lines].join('\n');
}

export function guardTable(): string {
  const lines = GUARDS.map((row) => {
    const [file, title] = row.provenBy.split(' › ') as [string, string];
    return `| ${cell(row.risk)} | ${cell(row.guard)} | \`${file.replace(/^test\//, '')}\` › ${cell(title)} |`;
  });
  return ['| Risk | Guard | Proven by |', '|---|---|---|', ...lines].join('\n');
}

export const README_TABLES = { 'guard-table': guardTable, 'graph-policy': graphPolicyTable, 'reasons-table': reasonsTable } as const;

/** The README with each `<!-- name:start -->…<!-- name:end -->` block replaced by the rendered table. */
export function withTables(readme: string): string {
  let text = readme;
  for (const [name, render] of Object.entries(README_TABLES)) {
    const pattern = new RegExp(`(<!-- ${name}:start -->)[\\s\\S]*?(<!-- ${name}:end -->)`);
    if (!pattern.test(text)) throw new Error(`README has no ${name} markers`);
    text = text.replace(pattern, (_match, start: string, end: string) => `${start}\n${render()}\n${end}`);
  }
  return text;
}

if (process.argv[1]?.endsWith('readme-tables.ts')) {
  const path = new URL('../README.md', import.meta.url);
  writeFileSync(path, withTables(readFileSync(path, 'utf8')));
  console.log('README tables written');
}
