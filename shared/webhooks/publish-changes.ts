import type { Clock } from '../clock.ts';
import type { EventPublisher, OutgoingEvent } from '../events/publisher.ts';
import type { ChangeLog } from './change-log.ts';
import type { WebhookOutcome } from './outcome.ts';

interface ChangePolicy {
  /** A claim older than this is taken over; must exceed the receiver's own worst-case run (its Lambda timeout). */
  claimTimeoutMs: number;
  /** How long a change's marker is kept; longer than Meta's 7 days of redelivery. */
  retainMs: number;
  /** How often a change another delivery is publishing is looked at again before this delivery gives up with a 500. */
  inProgressPolls: number;
  pollIntervalMs: number;
}

export interface PublishChangesDeps {
  changeLog: ChangeLog;
  publisher: EventPublisher;
  clock: Clock;
  policy: ChangePolicy;
  sleep(ms: number): Promise<void>;
}

type DeliveryOutcome = Extract<WebhookOutcome, { kind: 'delivery' }>;
export type ChangesReport = Pick<DeliveryOutcome, 'published' | 'duplicates' | 'failed' | 'unmarked'>;

const errorName = (error: unknown) => (error instanceof Error ? error.name : 'Unknown');

/**
 * Publishes each change exactly once across deliveries: claim it in the change log, put the claimed ones on the bus,
 * then mark them published, or release the claims of those that failed so Meta's redelivery can claim them at once.
 * A change another delivery is publishing right now (a concurrent duplicate) is looked at again a few times after
 * this delivery's own changes are out (so two deliveries with the same changes in another order never wait on each
 * other); if it is still not published, it fails as `in_progress` and the answer is a 500: a claim whose delivery
 * crashed must not be acknowledged, or the change would be lost.
 */
export async function publishChanges(events: OutgoingEvent[], deps: PublishChangesDeps): Promise<ChangesReport> {
  const report: ChangesReport = { published: [], duplicates: [], failed: [], unmarked: [] };
  // The same change twice in one body is one change.
  let pending = [...new Map(events.map((event) => [event.changeId, event])).values()];
  for (let round = 0; pending.length > 0; round++) {
    const now = deps.clock.now();
    const claims = await Promise.all(
      pending.map((event) =>
        deps.changeLog
          .claim({ changeId: event.changeId, detailType: event.detailType, now, claimTimeoutMs: deps.policy.claimTimeoutMs, retainMs: deps.policy.retainMs })
          .then((result) => ({ event, result }), (error: unknown) => ({ event, error: errorName(error) })),
      ),
    );
    const claimed: Array<{ event: OutgoingEvent; claimId: string }> = [];
    const waiting: OutgoingEvent[] = [];
    for (const claim of claims) {
      if ('error' in claim) report.failed.push({ changeId: claim.event.changeId, stage: 'claim', error: claim.error });
      else if (claim.result.kind === 'claimed') claimed.push({ event: claim.event, claimId: claim.result.claimId });
      else if (claim.result.kind === 'published') report.duplicates.push(claim.event.changeId);
      else waiting.push(claim.event);
    }
    if (claimed.length > 0) await publishClaimed(claimed, deps, report);
    if (waiting.length > 0 && round >= deps.policy.inProgressPolls) {
      for (const event of waiting) report.failed.push({ changeId: event.changeId, stage: 'in_progress' });
      break;
    }
    if (waiting.length > 0) await deps.sleep(deps.policy.pollIntervalMs);
    pending = waiting;
  }
  return report;
}

async function publishClaimed(claimed: Array<{ event: OutgoingEvent; claimId: string }>, deps: PublishChangesDeps, report: ChangesReport): Promise<void> {
  // The port promises not to reject; should an adapter break that, its claims are still released below.
  const results = await deps.publisher.publish(claimed.map(({ event }) => event)).catch((error: unknown) => claimed.map(() => ({ ok: false as const, error: errorName(error) })));
  const now = deps.clock.now();
  await Promise.all(
    claimed.map(async ({ event, claimId }, index) => {
      const result = results[index] ?? { ok: false, error: 'NoResult' };
      if (result.ok) {
        report.published.push({ detailType: event.detailType, changeId: event.changeId });
        // The event is out: a marker that cannot be written only means a later copy may publish it again.
        const marked = await deps.changeLog.markPublished(event.changeId, claimId, now).catch(() => false);
        if (!marked) report.unmarked.push(event.changeId);
        return;
      }
      report.failed.push({ changeId: event.changeId, stage: 'publish', error: result.error });
      // A claim that cannot be released goes stale and is taken over after the claim timeout.
      await deps.changeLog.release(event.changeId, claimId).catch(() => undefined);
    }),
  );
}
