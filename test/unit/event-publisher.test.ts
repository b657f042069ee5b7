import type { EventBridgeClient, PutEventsCommand, PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { EventBridgePublisher, type OutgoingEvent } from '../../shared/events/publisher.ts';

/**
 * PutEvents answers no server can be made to give (per-entry failures, a bare FailedEntryCount): a scripted client
 * stands in for EventBridge here; the moto integration test covers the real round trip.
 */
function scriptedClient(answer: (entries: number) => Partial<PutEventsCommandOutput> | Error) {
  const calls: number[] = [];
  const client = {
    send: async (command: PutEventsCommand) => {
      const entries = command.input.Entries?.length ?? 0;
      calls.push(entries);
      const result = answer(entries);
      if (result instanceof Error) throw result;
      return result;
    },
  } as unknown as EventBridgeClient;
  return { client, calls };
}

const events = (count: number): OutgoingEvent[] =>
  Array.from({ length: count }, (_, index) => ({ changeId: String(index).padStart(64, '0'), detailType: 'PinChanged', detail: { n: index } }));

describe('EventBridgePublisher', () => {
  it('puts at most 10 entries per call', async () => {
    const { client, calls } = scriptedClient((entries) => ({ FailedEntryCount: 0, Entries: Array.from({ length: entries }, (_, i) => ({ EventId: `e${i}` })) }));
    const results = await new EventBridgePublisher(client, 'bus').publish(events(23));
    expect(calls.sort((a, b) => b - a)).toEqual([10, 10, 3]);
    expect(results.every((result) => result.ok)).toBe(true);
  });

  it('fails exactly the entries EventBridge refused', async () => {
    const { client } = scriptedClient(() => ({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'x' }, { EventId: 'c' }] }));
    const results = await new EventBridgePublisher(client, 'bus').publish(events(3));
    expect(results).toEqual([{ ok: true }, { ok: false, error: 'InternalFailure' }, { ok: true }]);
  });

  it('fails every entry when FailedEntryCount names more failures than the entries show', async () => {
    const { client } = scriptedClient(() => ({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { EventId: 'b' }] }));
    const results = await new EventBridgePublisher(client, 'bus').publish(events(2));
    expect(results.every((result) => !result.ok)).toBe(true);
  });

  it('fails an entry with no result or no id', async () => {
    const { client } = scriptedClient(() => ({ FailedEntryCount: 0, Entries: [{}] }));
    expect(await new EventBridgePublisher(client, 'bus').publish(events(2))).toEqual([
      { ok: false, error: 'NoEventId' },
      { ok: false, error: 'NoEventId' },
    ]);
  });

  it('fails every entry of a call that throws, without rejecting', async () => {
    const { client } = scriptedClient(() => Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    expect(await new EventBridgePublisher(client, 'bus').publish(events(2))).toEqual([
      { ok: false, error: 'ThrottlingException' },
      { ok: false, error: 'ThrottlingException' },
    ]);
  });
});
