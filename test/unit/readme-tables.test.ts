import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GUARDS } from '../../shared/domain/guards.ts';
import { withTables } from '../../tools/readme-tables.ts';

const root = new URL('../../', import.meta.url);

describe('the README says what the code does', () => {
  it('has the guard, error-policy and reasons tables exactly as rendered from the code (run `npm run docs`)', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    expect(readme).toBe(withTables(readme));
  });

  it.each(GUARDS.map((row) => ({ ...row, name: row.risk })))('names a test that exists for "$name"', ({ provenBy }) => {
    const [file, title] = provenBy.split(' › ') as [string, string];
    expect(existsSync(new URL(file, root)), file).toBe(true);
    const source = readFileSync(new URL(file, root), 'utf8');
    expect(source).toMatch(new RegExp(`it\\(\\s*['"\`]${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });
});
