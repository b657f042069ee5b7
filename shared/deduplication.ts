import { createHash } from 'node:crypto';

/** FIFO deduplication ids are at most 128 characters; a hash keeps any job key within that. */
export function deduplicationId(...parts: Array<string | number>): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex');
}
