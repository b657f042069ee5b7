import { randomUUID } from 'node:crypto';
import type { EventPublisher, OutgoingEvent, PublishResult } from '../../shared/events/publisher.ts';
import type { ChangeLog, ClaimRequest, ClaimResult } from '../../shared/webhooks/change-log.ts';
import type { WebhookSecret, WebhookSecrets } from '../../shared/webhooks/webhook-secrets.ts';

interface Marker {
  state: 'claimed' | 'published';
  claimId: string;
  claimedAt: number;
  expiresAtSeconds: number;
}

/**
 * A ChangeLog with the DynamoDB adapter's semantics (test/integration/change-log-contract.test.ts holds both to the
 * same behaviour): one winner per claim, stale claims taken over, expired markers treated as absent.
 */
export class InMemoryChangeLog implements ChangeLog {
  readonly markers = new Map<string, Marker>();

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const marker = this.markers.get(request.changeId);
    const free =
      !marker || marker.expiresAtSeconds < Math.floor(request.now / 1000) || (marker.state === 'claimed' && marker.claimedAt < request.now - request.claimTimeoutMs);
    if (!free) return marker.state === 'published' ? { kind: 'published' } : { kind: 'in_progress' };
    const claimId = randomUUID();
    this.markers.set(request.changeId, { state: 'claimed', claimId, claimedAt: request.now, expiresAtSeconds: Math.ceil((request.now + request.retainMs) / 1000) });
    return { kind: 'claimed', claimId };
  }

  async markPublished(changeId: string, claimId: string): Promise<boolean> {
    const marker = this.markers.get(changeId);
    if (marker?.claimId !== claimId) return false;
    marker.state = 'published';
    return true;
  }

  async release(changeId: string, claimId: string): Promise<void> {
    const marker = this.markers.get(changeId);
    if (marker?.claimId === claimId && marker.state === 'claimed') this.markers.delete(changeId);
  }
}

/** Records what is published; `failNext(n)` makes the next n publish calls fail every event (as a PutEvents error). */
export class RecordingPublisher implements EventPublisher {
  readonly published: OutgoingEvent[] = [];
  calls = 0;
  #failures = 0;

  failNext(calls = 1): void {
    this.#failures = calls;
  }

  async publish(events: OutgoingEvent[]): Promise<PublishResult[]> {
    this.calls += 1;
    if (this.#failures > 0) {
      this.#failures -= 1;
      return events.map(() => ({ ok: false, error: 'InternalException' }));
    }
    this.published.push(...events);
    return events.map(() => ({ ok: true }));
  }
}

/** Secrets held in memory: `rotate` changes the stored value; the cached one is returned until a fresh read. */
export class InMemoryWebhookSecrets implements WebhookSecrets {
  reads = 0;
  #stored: { appSecret: string; verifyToken: string };
  #cached: { appSecret: string; verifyToken: string };

  constructor(values: { appSecret: string; verifyToken: string }) {
    this.#stored = { ...values };
    this.#cached = { ...values };
  }

  rotate(values: Partial<{ appSecret: string; verifyToken: string }>): void {
    this.#stored = { ...this.#stored, ...values };
  }

  async appSecret(options: { fresh?: boolean } = {}): Promise<WebhookSecret> {
    return this.#read('appSecret', options.fresh ?? false);
  }

  async verifyToken(options: { fresh?: boolean } = {}): Promise<WebhookSecret> {
    return this.#read('verifyToken', options.fresh ?? false);
  }

  #read(name: 'appSecret' | 'verifyToken', fresh: boolean): WebhookSecret {
    this.reads += 1;
    if (fresh) this.#cached[name] = this.#stored[name];
    return { value: this.#cached[name], fresh };
  }
}
