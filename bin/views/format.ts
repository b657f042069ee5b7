/** Small, pure presentation helpers for the ops CLI. No colours: output must read the same in logs and pipes. */

/** `2026-11-25 12:00 UTC`: minutes are enough for a 72-hour window, and UTC avoids guessing the reader's zone. */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `in 2d 3h`, `5m ago`, `now`. */
export function formatRelative(ms: number, now: number): string {
  const delta = ms - now;
  if (Math.abs(delta) < 60_000) return 'now';
  const minutes = Math.round(Math.abs(delta) / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const parts = days > 0 ? [`${days}d`, hours > 0 ? `${hours}h` : ''] : hours > 0 ? [`${hours}h`, mins > 0 ? `${mins}m` : ''] : [`${mins}m`];
  const text = parts.filter(Boolean).join(' ');
  return delta > 0 ? `in ${text}` : `${text} ago`;
}

/** `[■■■■□□□□□□] 4/10`: one cell per slot up to 10 slots, scaled above that. */
export function usageBar(used: number, limit: number, cells = Math.min(10, Math.max(1, limit))): string {
  const filled = limit <= 0 ? cells : Math.min(cells, Math.round((Math.min(used, limit) / limit) * cells));
  return `[${'■'.repeat(filled)}${'□'.repeat(cells - filled)}] ${used}/${limit}`;
}

/** A progress bar for a TTY line: `[██████░░░░]  600/1000`. */
export function progressBar(done: number, total: number, width = 30): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(done).padStart(String(total).length)}/${total}`;
}

/** A plain left-aligned table with a header row; empty cells print as `-`. */
export function table(headers: string[], rows: Array<Array<string | number | undefined>>): string {
  const cells = rows.map((row) => headers.map((_, index) => {
    const value = row[index];
    return value === undefined || value === '' ? '-' : String(value);
  }));
  const widths = headers.map((header, index) => Math.max(header.length, ...cells.map((row) => row[index]!.length)));
  const line = (row: string[]) => row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index]!))).join('  ');
  return [line(headers), ...cells.map(line)].join('\n');
}
