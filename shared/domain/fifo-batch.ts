/** A record of an SQS FIFO batch, as far as ordering goes. */
export interface FifoRecord {
  messageId: string;
  /** The FIFO message group (the phone number id). */
  groupId: string;
}

/** Which records to report as failed, and which of them were never processed (behind a failed record). */
export interface FifoBatchResult<R> {
  failedIds: string[];
  skipped: R[];
}

/**
 * Processes a FIFO batch: different groups in parallel, one group's records in order.
 * After a record fails, the later records of its group are failed unprocessed, so SQS redelivers
 * them in order behind it (a later job for a number must never overtake an earlier one). `done_stop_group`
 * acknowledges the record but stops its group the same way.
 */
export async function processFifoBatch<R extends FifoRecord>(
  records: R[],
  processRecord: (record: R) => Promise<'done' | 'failed' | 'done_stop_group'>,
): Promise<FifoBatchResult<R>> {
  const groups = new Map<string, R[]>();
  for (const record of records) groups.set(record.groupId, [...(groups.get(record.groupId) ?? []), record]);
  const perGroup = await Promise.all(
    [...groups.values()].map(async (group): Promise<FifoBatchResult<R>> => {
      for (const [index, record] of group.entries()) {
        let result: 'done' | 'failed' | 'done_stop_group';
        try {
          result = await processRecord(record);
        } catch {
          // processRecord reports its own errors; a throw here still must not lose the record.
          result = 'failed';
        }
        if (result === 'failed') return { failedIds: group.slice(index).map((failed) => failed.messageId), skipped: group.slice(index + 1) };
        // Done, but what it learned is not on the ledger yet: the rest of the group waits for the next delivery.
        if (result === 'done_stop_group') return { failedIds: group.slice(index + 1).map((failed) => failed.messageId), skipped: group.slice(index + 1) };
      }
      return { failedIds: [], skipped: [] };
    }),
  );
  return { failedIds: perGroup.flatMap((group) => group.failedIds), skipped: perGroup.flatMap((group) => group.skipped) };
}
