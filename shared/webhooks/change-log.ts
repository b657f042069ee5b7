/**
 * The change log decides which delivery of a webhook change publishes it. Meta redelivers for 7 days and sends
 * duplicates, also concurrently; a change is claimed with a conditional write before it is published and marked
 * published after, so a claim left by a crash is taken over once it is stale and a change is never lost (at worst
 * published twice, which the downstream job key, derived from the change id, absorbs).
 */

/** Who holds a change after a claim attempt. */
export type ClaimResult =
  /** This delivery holds it and must publish, then `markPublished`, or `release` if publishing failed. */
  | { kind: 'claimed'; claimId: string }
  /** Already published: a redelivery or a duplicate. */
  | { kind: 'published' }
  /** Another delivery holds a claim younger than the claim timeout. */
  | { kind: 'in_progress' };

export interface ClaimRequest {
  changeId: string;
  /** What the change becomes, kept on the marker for whoever looks at the table. */
  detailType: string;
  /** Milliseconds since the epoch (the receiver's clock). */
  now: number;
  /** A claim older than this is a crashed delivery's and may be taken over. */
  claimTimeoutMs: number;
  /** How long the marker is kept (TTL); longer than Meta's 7 days of redelivery. */
  retainMs: number;
}

export interface ChangeLog {
  /** Claims a change unless it is published or freshly claimed by another delivery. Atomic: one winner. */
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /**
   * Marks a claimed change published. Resolves `false` when the claim was taken over meanwhile (this delivery was
   * slower than the claim timeout): the event is out, the other delivery may publish it again.
   */
  markPublished(changeId: string, claimId: string, now: number): Promise<boolean>;
  /** Gives a claim up after a failed publish, so the redelivery Meta makes after our 500 can claim it at once. */
  release(changeId: string, claimId: string): Promise<void>;
}
