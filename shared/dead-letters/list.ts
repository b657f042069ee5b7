import { matchesFilter, sortDeadLetters, type DeadLetter, type DeadLetterFilter } from './dead-letter.ts';
import type { DeadLetterQueue, ScanOptions } from './port.ts';

/** `dlq list` result: what the scan saw, after filters, plus whether the queue holds more than it could see. */
export interface DeadLetterListing {
  messages: DeadLetter[];
  /** Messages the scan saw before filtering. */
  seen: number;
  /** The queue's own (approximate) count before the scan: visible + in flight. */
  queueCount: number;
  /** Set when the scan could not see everything, as a sentence. */
  incomplete?: string;
  releaseProblems: string[];
}

/**
 * Lists the DLQ without changing it: every message is read with a short visibility timeout and released
 * (visibility 0) right after, whatever happens in between.
 */
export async function listDeadLetters(queue: DeadLetterQueue, filter: DeadLetterFilter = {}, scanOptions: ScanOptions = {}): Promise<DeadLetterListing> {
  const before = await queue.count();
  const scan = await queue.scan(scanOptions);
  const releaseProblems = await scan.release();
  const queueCount = before.visible + before.inFlight;
  let incomplete: string | undefined;
  if (scan.truncated) {
    incomplete = `stopped after ${scan.messages.length} messages; narrow the listing or raise the limit`;
  } else if (before.inFlight > 0 || queueCount > scan.messages.length) {
    incomplete =
      `the queue holds about ${queueCount} message(s) (${before.inFlight} in flight elsewhere) and ${scan.messages.length} were readable: ` +
      'messages another reader holds are hidden, and in a FIFO queue a group shows only the messages delivered with its head';
  }
  return {
    messages: sortDeadLetters(scan.messages.filter((message) => matchesFilter(message, filter))),
    seen: scan.messages.length,
    queueCount,
    ...(incomplete === undefined ? {} : { incomplete }),
    releaseProblems,
  };
}

/** Finds one message by id (read, then released straight away). */
export async function findDeadLetter(
  queue: DeadLetterQueue,
  messageId: string,
  scanOptions: ScanOptions = {},
): Promise<{ message?: DeadLetter; releaseProblems: string[] }> {
  const scan = await queue.scan(scanOptions);
  const releaseProblems = await scan.release();
  const message = scan.messages.find((candidate) => candidate.messageId === messageId);
  return { ...(message ? { message } : {}), releaseProblems };
}
