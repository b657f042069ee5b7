import { ConditionalCheckFailedException, DeleteItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import type { ChangeLog, ClaimRequest, ClaimResult } from './change-log.ts';

/** The change log table's key layout and TTL attribute: one definition for the adapter, the stack and the emulator. */
export const CHANGE_LOG_KEYS = { partitionKey: 'changeId', ttlAttribute: 'expiresAt' } as const;

const PK = CHANGE_LOG_KEYS.partitionKey;
const TTL = CHANGE_LOG_KEYS.ttlAttribute;
const CLAIMED = 'claimed';
const PUBLISHED = 'published';

/**
 * The DynamoDB change log: one item per change id (`changeId` S), with `state` claimed|published, `claimId`,
 * `claimedAt` (ms), `detailType`, `publishedAt` (ms) and the TTL attribute `expiresAt` (epoch seconds). Every write is
 * conditional, so of two concurrent deliveries exactly one claims. Conditions treat an item past `expiresAt` as
 * absent, since TTL deletion is lazy.
 */
export class DynamoDbChangeLog implements ChangeLog {
  readonly #db: DynamoDBClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, tableName: string) {
    this.#db = client;
    this.#table = tableName;
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const claimId = randomUUID();
    try {
      await this.#db.send(
        new PutItemCommand({
          TableName: this.#table,
          Item: {
            [PK]: { S: request.changeId },
            state: { S: CLAIMED },
            claimId: { S: claimId },
            claimedAt: { N: String(request.now) },
            detailType: { S: request.detailType },
            [TTL]: { N: String(Math.ceil((request.now + request.retainMs) / 1000)) },
          },
          // Free, expired, or a stale claim (a crashed delivery's): the condition is on the claim this write replaces.
          ConditionExpression: 'attribute_not_exists(#pk) OR #ttl < :nowSeconds OR (#state = :claimed AND claimedAt < :staleBefore)',
          ExpressionAttributeNames: { '#pk': PK, '#ttl': TTL, '#state': 'state' },
          ExpressionAttributeValues: {
            ':nowSeconds': { N: String(Math.floor(request.now / 1000)) },
            ':claimed': { S: CLAIMED },
            ':staleBefore': { N: String(request.now - request.claimTimeoutMs) },
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'claimed', claimId };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return error.Item?.state?.S === PUBLISHED ? { kind: 'published' } : { kind: 'in_progress' };
    }
  }

  async markPublished(changeId: string, claimId: string, now: number): Promise<boolean> {
    try {
      await this.#db.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { [PK]: { S: changeId } },
          UpdateExpression: 'SET #state = :published, publishedAt = :now',
          ConditionExpression: 'claimId = :claimId',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':published': { S: PUBLISHED }, ':now': { N: String(now) }, ':claimId': { S: claimId } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async release(changeId: string, claimId: string): Promise<void> {
    try {
      await this.#db.send(
        new DeleteItemCommand({
          TableName: this.#table,
          Key: { [PK]: { S: changeId } },
          ConditionExpression: 'claimId = :claimId AND #state = :claimed',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':claimId': { S: claimId }, ':claimed': { S: CLAIMED } },
        }),
      );
    } catch (error) {
      // Someone took the claim over meanwhile: it is theirs to publish or release.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
