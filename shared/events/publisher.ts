import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE, type EventDetailType } from './registrar-events.v1.ts';

/** One event to put on the bus; `changeId` only correlates the result (it is also inside the detail). */
export interface OutgoingEvent {
  changeId: string;
  detailType: EventDetailType;
  detail: Record<string, unknown>;
}

/** Per event, in the order given: put, or not (with the error code, never the event). */
export type PublishResult = { ok: true } | { ok: false; error: string };

/** Where wa-registrar's events go. */
export interface EventPublisher {
  /** Never rejects: a failed call fails each of its events, so the caller can release exactly those. */
  publish(events: OutgoingEvent[]): Promise<PublishResult[]>;
}

/** PutEvents takes at most 10 entries per call. */
const MAX_ENTRIES_PER_CALL = 10;

/**
 * The EventBridge adapter: PutEvents in calls of up to 10 entries (run in parallel), source `wa-registrar`. A call
 * can succeed with some entries refused (`FailedEntryCount`, per-entry `ErrorCode`): each entry is judged alone.
 */
export class EventBridgePublisher implements EventPublisher {
  readonly #client: EventBridgeClient;
  readonly #busName: string;

  constructor(client: EventBridgeClient, busName: string) {
    this.#client = client;
    this.#busName = busName;
  }

  async publish(events: OutgoingEvent[]): Promise<PublishResult[]> {
    const chunks: OutgoingEvent[][] = [];
    for (let start = 0; start < events.length; start += MAX_ENTRIES_PER_CALL) chunks.push(events.slice(start, start + MAX_ENTRIES_PER_CALL));
    return (await Promise.all(chunks.map((chunk) => this.#put(chunk)))).flat();
  }

  async #put(events: OutgoingEvent[]): Promise<PublishResult[]> {
    const entries: PutEventsRequestEntry[] = events.map((event) => ({
      EventBusName: this.#busName,
      Source: EVENT_SOURCE,
      DetailType: event.detailType,
      Detail: JSON.stringify(event.detail),
    }));
    try {
      const output = await this.#client.send(new PutEventsCommand({ Entries: entries }));
      const results = output.Entries ?? [];
      const judged = events.map((_, index): PublishResult => {
        const result = results[index];
        if (result?.ErrorCode) return { ok: false, error: result.ErrorCode };
        return result?.EventId ? { ok: true } : { ok: false, error: 'NoEventId' };
      });
      // FailedEntryCount says some failed but no entry says which: none can be trusted.
      const failedCount = judged.filter((result) => !result.ok).length;
      if ((output.FailedEntryCount ?? 0) > failedCount) return events.map(() => ({ ok: false, error: 'FailedEntryCount' }));
      return judged;
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Unknown';
      return events.map(() => ({ ok: false, error: name }));
    }
  }
}
