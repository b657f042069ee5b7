import type { DeadLetter } from './dead-letter.ts';
import type { DeadLetterQueue, ScanOptions } from './port.ts';

/** Outcome of `dlq purge`. */
export interface PurgeReport {
  deleted: string[];
  notFound: string[];
  failed: Array<{ messageId: string; error: string }>;
  cancelled: boolean;
}

/**
 * Deletes named dead-letters for good, after `confirm` agrees (it sees exactly what will go). The messages stay
 * held while the person decides, and everything not deleted is released.
 */
export async function purgeDeadLetters(
  queue: DeadLetterQueue,
  ids: string[],
  confirm: (messages: DeadLetter[]) => Promise<boolean>,
  scanOptions: ScanOptions = {},
): Promise<PurgeReport> {
  const scan = await queue.scan({ visibilityTimeoutSeconds: 300, ...scanOptions });
  const report: PurgeReport = { deleted: [], notFound: [], failed: [], cancelled: false };
  const deleted = new Set<string>();
  try {
    const targets = scan.messages.filter((message) => ids.includes(message.messageId));
    report.notFound = ids.filter((id) => !targets.some((message) => message.messageId === id));
    if (targets.length === 0) return report;
    if (!(await confirm(targets))) {
      report.cancelled = true;
      return report;
    }
    for (const message of targets) {
      try {
        await queue.delete(message);
        deleted.add(message.messageId);
        report.deleted.push(message.messageId);
      } catch (error) {
        report.failed.push({ messageId: message.messageId, error: (error as Error).message });
      }
    }
    return report;
  } finally {
    await scan.release(scan.messages.filter((message) => !deleted.has(message.messageId)));
  }
}
