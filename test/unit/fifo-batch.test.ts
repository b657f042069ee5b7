import { describe, expect, it } from 'vitest';
import { processFifoBatch } from '../../shared/domain/fifo-batch.ts';

const rec = (messageId: string, groupId: string) => ({ messageId, groupId });

describe('processFifoBatch', () => {
  it('fails the rest of a group after a failure, without processing it, and leaves other groups alone', async () => {
    const seen: string[] = [];
    const { failedIds, skipped } = await processFifoBatch([rec('a1', 'a'), rec('b1', 'b'), rec('a2', 'a'), rec('a3', 'a'), rec('b2', 'b')], async (record) => {
      seen.push(record.messageId);
      return record.messageId === 'a2' ? 'failed' : 'done';
    });
    expect(new Set(failedIds)).toEqual(new Set(['a2', 'a3']));
    expect(skipped.map((record) => record.messageId)).toEqual(['a3']);
    expect(seen).not.toContain('a3');
    expect(seen).toContain('b2');
  });

  it('treats a throw as a failure', async () => {
    const { failedIds } = await processFifoBatch([rec('x', 'g'), rec('y', 'g')], async () => {
      throw new Error('boom');
    });
    expect(new Set(failedIds)).toEqual(new Set(['x', 'y']));
  });

  it('runs different groups concurrently and one group in order', async () => {
    const order: string[] = [];
    let running = 0;
    let maxRunning = 0;
    await processFifoBatch([rec('a1', 'a'), rec('a2', 'a'), rec('b1', 'b'), rec('c1', 'c')], async (record) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await Promise.resolve();
      order.push(record.messageId);
      running--;
      return 'done';
    });
    expect(maxRunning).toBe(3);
    expect(order.indexOf('a1')).toBeLessThan(order.indexOf('a2'));
  });

  it('acknowledges a record that stops its group, and skips the rest of that group only', async () => {
    const seen: string[] = [];
    const { failedIds, skipped } = await processFifoBatch([rec('a1', 'a'), rec('a2', 'a'), rec('b1', 'b')], async (record) => {
      seen.push(record.messageId);
      return record.messageId === 'a1' ? 'done_stop_group' : 'done';
    });
    expect(failedIds).toEqual(['a2']);
    expect(skipped.map((record) => record.messageId)).toEqual(['a2']);
    expect(seen).not.toContain('a2');
    expect(seen).toContain('b1');
  });
});
