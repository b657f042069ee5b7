import { TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DeleteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand, TransactWriteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  APP_KEY,
  DEADLINES_PK,
  LEGACY_BUDGET_SKS,
  businessItemKey,
  deadlineItemKey,
  toBusinessRecord,
  toNameDeadline,
  toNumberEvent,
  eventSk,
  NUMBER_SK,
  attemptSk,
  jobItemKey,
  numberKey,
  strip,
  toAppGates,
  toAttemptRecord,
  toJobRecord,
  toNumberRecord,
} from './items.ts';
import type { AppGates, AttemptLedger, AttemptRecord, BusinessRecord, LedgerChanges, LedgerSnapshot, NameDeadline, NumberEvent, NumberRecord } from './port.ts';

type Item = Record<string, unknown>;
type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

const epochSeconds = (ms: number) => Math.ceil(ms / 1000);
/** A lapsed deadline stays listed this long, so the watcher keeps reporting it. */
const DEADLINE_KEPT_MS = 30 * 24 * 3_600_000;

/** The DynamoDB adapter of the attempt ledger: one BatchGet to read, one conditional transaction to write. */
export class DynamoDbAttemptLedger implements AttemptLedger {
  readonly #db: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, tableName: string) {
    this.#db = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.#table = tableName;
  }

  async read(phoneNumberId: string, jobKey: string): Promise<LedgerSnapshot> {
    const pk = numberKey(phoneNumberId);
    let keys: Item[] = [{ pk, sk: NUMBER_SK }, jobItemKey(jobKey), APP_KEY, ...LEGACY_BUDGET_SKS.map((sk) => ({ pk, sk }))];
    const items: Item[] = [];
    // BatchGetItem may leave keys unprocessed under load; ask again for exactly those.
    for (let round = 0; keys.length > 0; round++) {
      if (round === 5) throw new Error('DynamoDB left ledger keys unprocessed after 5 rounds');
      const output = await this.#db.send(new BatchGetCommand({ RequestItems: { [this.#table]: { Keys: keys, ConsistentRead: true } } }));
      items.push(...((output.Responses?.[this.#table] ?? []) as Item[]));
      keys = (output.UnprocessedKeys?.[this.#table]?.Keys ?? []) as Item[];
    }
    const find = (p: string, sk: string) => items.find((item) => item.pk === p && item.sk === sk);
    const jobItem = find(jobItemKey(jobKey).pk, jobItemKey(jobKey).sk);
    return {
      number: toNumberRecord(phoneNumberId, find(pk, NUMBER_SK), items.filter((item) => item.pk === pk && String(item.sk).startsWith('BUDGET#'))),
      ...(jobItem ? { job: toJobRecord(jobKey, jobItem) } : {}),
      app: toAppGates(find(APP_KEY.pk, APP_KEY.sk)),
    };
  }

  async commit(changes: LedgerChanges, token: string): Promise<'committed' | 'conflict'> {
    const pk = numberKey(changes.phoneNumberId);
    const ttl = changes.expiresAt;
    const items: TransactItem[] = [];
    if (changes.number) {
      const { phoneNumberId: _id, ...number } = changes.number;
      items.push(this.#put({ pk, sk: NUMBER_SK, ...number, expiresAt: epochSeconds(ttl.number) }, changes.number.version - 1));
    }
    if (changes.job) {
      const { jobKey, ...job } = changes.job;
      items.push(this.#put({ ...jobItemKey(jobKey), ...job, expiresAt: epochSeconds(ttl.job) }, changes.job.version - 1));
    }
    if (changes.business) {
      const { businessAccountId, ...business } = changes.business;
      items.push(this.#put({ ...businessItemKey(businessAccountId), ...business }, changes.business.version - 1));
    }
    if (changes.deadline) {
      const listed = changes.deadline;
      items.push({ Put: { TableName: this.#table, Item: strip({ ...deadlineItemKey(listed.phoneNumberId), ...listed, expiresAt: epochSeconds(listed.deadline + DEADLINE_KEPT_MS) }) } });
    }
    if (changes.app) items.push(this.#put({ ...APP_KEY, ...changes.app, expiresAt: epochSeconds(ttl.number) }, changes.app.version - 1));
    if (changes.checkApp !== undefined) {
      items.push({ ConditionCheck: { TableName: this.#table, Key: APP_KEY, ...versionCondition(changes.checkApp) } });
    }
    if (changes.attempt) {
      const create = 'create' in changes.attempt;
      const record = 'create' in changes.attempt ? changes.attempt.create : changes.attempt.update;
      items.push({
        Put: {
          TableName: this.#table,
          Item: strip({ pk, sk: attemptSk(record.at, record.attemptId), ...attemptItem(record), expiresAt: epochSeconds(ttl.attempt) }),
          // A new request must be new; an outcome must not recreate a request TTL already removed.
          ConditionExpression: create ? 'attribute_not_exists(pk)' : 'attribute_exists(pk)',
        },
      });
    }
    try {
      await this.#db.send(new TransactWriteCommand({ TransactItems: items, ClientRequestToken: token.slice(0, 36) }));
      return 'committed';
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code);
        if (codes.some((code) => code === 'ConditionalCheckFailed' || code === 'TransactionConflict')) return 'conflict';
      }
      throw error;
    }
  }

  async history(phoneNumberId: string): Promise<AttemptRecord[]> {
    const items = await this.#query(numberKey(phoneNumberId), 'ATTEMPT#');
    return items.map((item) => toAttemptRecord(phoneNumberId, item));
  }

  async recordEvent(phoneNumberId: string, event: NumberEvent, expiresAt: number): Promise<void> {
    const key = { pk: numberKey(phoneNumberId), sk: eventSk(event.at, event.changeId) };
    await this.#db.send(new PutCommand({ TableName: this.#table, Item: strip({ ...key, ...event, expiresAt: epochSeconds(expiresAt) }) }));
  }

  async events(phoneNumberId: string): Promise<NumberEvent[]> {
    return (await this.#query(numberKey(phoneNumberId), 'EVENT#')).map(toNumberEvent);
  }

  /** Every item of a partition (with a sort-key prefix), in sort-key order. */
  async #query(pk: string, prefix?: string): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.#db.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: prefix === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': pk, ...(prefix === undefined ? {} : { ':prefix': prefix }) },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...((page.Items ?? []) as Item[]));
      startKey = page.LastEvaluatedKey as Item | undefined;
    } while (startKey);
    return items;
  }

  async number(phoneNumberId: string): Promise<NumberRecord> {
    return (await this.read(phoneNumberId, '\u0000none')).number;
  }

  async appGates(): Promise<AppGates> {
    const output = await this.#db.send(new GetCommand({ TableName: this.#table, Key: APP_KEY, ConsistentRead: true }));
    return toAppGates(output.Item as Item | undefined);
  }

  async business(businessAccountId: string): Promise<BusinessRecord> {
    const output = await this.#db.send(new GetCommand({ TableName: this.#table, Key: businessItemKey(businessAccountId), ConsistentRead: true }));
    return toBusinessRecord(businessAccountId, output.Item as Item | undefined);
  }

  async deadlines(): Promise<NameDeadline[]> {
    return (await this.#query(DEADLINES_PK)).map(toNameDeadline).sort((a, b) => a.deadline - b.deadline);
  }

  async dropDeadline(phoneNumberId: string, approvedAt: number): Promise<void> {
    try {
      await this.#db.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: deadlineItemKey(phoneNumberId),
          ConditionExpression: 'approvedAt = :approvedAt',
          ExpressionAttributeValues: { ':approvedAt': approvedAt },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  #put(item: Item, expectedVersion: number): TransactItem {
    return { Put: { TableName: this.#table, Item: strip(item), ...versionCondition(expectedVersion) } };
  }
}

/** Version 0 means "the item must not exist yet". */
function versionCondition(version: number): { ConditionExpression: string; ExpressionAttributeValues?: Item } {
  return version === 0
    ? { ConditionExpression: 'attribute_not_exists(pk)' }
    : { ConditionExpression: 'version = :expected', ExpressionAttributeValues: { ':expected': version } };
}

function attemptItem(record: AttemptRecord): Item {
  const { phoneNumberId: _id, ...rest } = record;
  return rest;
}
