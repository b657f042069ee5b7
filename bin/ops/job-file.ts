import { validateJob, type JobV1 } from '../../shared/jobs/job.v1.ts';

/** A job read from a file, with the line it started on (1-based). */
export interface FileJob {
  line: number;
  job: JobV1;
}

/** A line that is not a valid job; `error` never echoes values (a line might carry a secret). */
interface FileProblem {
  line: number;
  error: string;
}

export interface ParsedJobFile {
  format: 'jsonl' | 'csv';
  jobs: FileJob[];
  invalid: FileProblem[];
}

export type JobFileFormat = 'jsonl' | 'csv';

/** The format from the file name: `.jsonl`/`.ndjson` or `.csv`. */
export function formatFromName(name: string): JobFileFormat | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (lower.endsWith('.csv')) return 'csv';
  return undefined;
}

/**
 * Reads a bulk job file. Every row goes through `validateJob`, the same check the worker applies. Blank lines
 * are skipped. Two rows with the same idempotency key are an error too: SQS would silently drop the second.
 */
export function parseJobFile(text: string, format: JobFileFormat): ParsedJobFile {
  const rows = format === 'jsonl' ? jsonlRows(text) : csvRows(text);
  const jobs: FileJob[] = [];
  const invalid: FileProblem[] = [];
  const keys = new Map<string, number>();
  for (const row of rows) {
    if ('error' in row) {
      invalid.push(row);
      continue;
    }
    const result = validateJob(row.value);
    if (!result.ok) {
      invalid.push({ line: row.line, error: result.error });
      continue;
    }
    const key = result.job.idempotencyKey;
    if (key !== undefined) {
      const first = keys.get(key);
      if (first !== undefined) {
        invalid.push({ line: row.line, error: `idempotencyKey repeats line ${first}: SQS would drop this job as a duplicate` });
        continue;
      }
      keys.set(key, row.line);
    }
    jobs.push({ line: row.line, job: result.job });
  }
  return { format, jobs, invalid };
}

type Row = { line: number; value: unknown } | { line: number; error: string };

function jsonlRows(text: string): Row[] {
  const rows: Row[] = [];
  text.split(/\r?\n/).forEach((content, index) => {
    if (content.trim() === '') return;
    try {
      rows.push({ line: index + 1, value: JSON.parse(content) });
    } catch {
      rows.push({ line: index + 1, error: 'not valid JSON' });
    }
  });
  return rows;
}

/** Columns a CSV may have: the job's fields. Unknown columns reach `validateJob`, which names them. */
const NUMERIC_COLUMNS = new Set(['schemaVersion']);

function csvRows(text: string): Row[] {
  const records = parseCsv(text);
  const header = records.shift();
  if (!header) return [];
  const columns = header.cells.map((cell) => cell.trim());
  const rows: Row[] = [];
  for (const record of records) {
    if (record.cells.every((cell) => cell.trim() === '')) continue;
    if (record.cells.length !== columns.length) {
      rows.push({ line: record.line, error: `has ${record.cells.length} fields; the header has ${columns.length}` });
      continue;
    }
    const value: Record<string, unknown> = {};
    columns.forEach((column, index) => {
      const cell = record.cells[index]!.trim();
      if (cell === '') return; // empty cell = field absent, so defaults apply
      value[column] = NUMERIC_COLUMNS.has(column) && /^\d+$/.test(cell) ? Number(cell) : cell;
    });
    rows.push({ line: record.line, value });
  }
  return rows;
}

/** RFC 4180 records with the line each starts on: quoted fields may hold commas, quotes ("") and newlines. */
export function parseCsv(text: string): Array<{ line: number; cells: string[] }> {
  const records: Array<{ line: number; cells: string[] }> = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let startLine = 1;
  let fieldStarted = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (quoted) {
      if (char === '"') {
        if (text[index + 1] === '"') {
          cell += '"';
          index++;
        } else {
          quoted = false;
        }
      } else {
        if (char === '\n') line++;
        cell += char;
      }
      continue;
    }
    if (char === '"' && cell === '') {
      quoted = true;
      fieldStarted = true;
    } else if (char === ',') {
      cells.push(cell);
      cell = '';
      fieldStarted = true;
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[index + 1] === '\n') index++;
      if (fieldStarted || cell !== '' || cells.length > 0) {
        cells.push(cell);
        records.push({ line: startLine, cells });
      }
      cells = [];
      cell = '';
      fieldStarted = false;
      line++;
      startLine = line;
    } else {
      cell += char;
      fieldStarted = true;
    }
  }
  if (fieldStarted || cell !== '' || cells.length > 0) {
    cells.push(cell);
    records.push({ line: startLine, cells });
  }
  return records;
}
