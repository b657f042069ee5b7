/** A record of an SQS FIFO batch, as far as ordering goes. */
export interface FifoRecord {
  messageId: string;
  /** The FIFO message group (the phone number id). */
  groupId: string;
}

/**
 * Processes a FIFO batch: different groups in parallel, one group's records in order.
 * After a record fails, the later records of its group are failed unprocessed, so SQS redelivers
 * them in order behind it (a later job for a number must never overtake an earlier one).
 * Returns the message ids to report as batch item failures.
 */
export async function processFifoBatch<R extends FifoRecord>(
  records: R[],
  processRecord: (record: R) => Promise<'done' | 'failed'>,
): Promise<string[]> {
  const groups = new Map<string, R[]>();
  for (const record of records) groups.set(record.groupId, [...(groups.get(record.groupId) ?? []), record]);
  const failedPerGroup = await Promise.all(
    [...groups.values()].map(async (group) => {
      for (const [index, record] of group.entries()) {
        let result: 'done' | 'failed';
        try {
          result = await processRecord(record);
        } catch {
          // processRecord reports its own errors; a throw here still must not lose the record.
          result = 'failed';
        }
        if (result === 'failed') return group.slice(index).map((failed) => failed.messageId);
      }
      return [];
    }),
  );
  return failedPerGroup.flat();
}
