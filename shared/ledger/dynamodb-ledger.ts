import {
  BatchGetItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  TransactionCanceledException,
  UpdateItemCommand,
  ConditionalCheckFailedException,
  type AttributeValue,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import type { BudgetScope, BudgetState, LimitedOperation } from '../domain/budget.ts';
import type { JobReason } from '../jobs/job.v1.ts';
import type {
  AttemptLedger,
  AttemptOutcome,
  AttemptRecord,
  BlockRequest,
  FinishRequest,
  JobRecord,
  LedgerSnapshot,
  OutcomeUpdate,
  ReserveRequest,
} from './port.ts';

/** Item layout of the ledger table (partition key `pk`, sort key `sk`, TTL attribute `expiresAt` in epoch seconds). */
export const LEDGER_KEYS = { partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'expiresAt' } as const;

const numberKey = (phoneNumberId: string) => `PN#${phoneNumberId}`;
const budgetKey = (scope: BudgetScope) => `BUDGET#${scope}`;
const jobKeyOf = (jobKey: string) => `JOB#${jobKey}`;
/** The number's last operation that took effect. */
const STATE_KEY = 'STATE';
/** The app-wide throttle Meta imposes, shared by every number. */
const APP_THROTTLE_KEY: Record<string, AttributeValue> = { pk: { S: 'APP' }, sk: { S: 'THROTTLE' } };
// Zero-padded time first, so a Query on the prefix returns requests oldest first.
const attemptKey = (at: number, attemptId: string) => `ATTEMPT#${String(at).padStart(15, '0')}#${attemptId}`;

const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });
const epochSeconds = (ms: number) => Math.ceil(ms / 1000);

/** The DynamoDB adapter of the attempt ledger: every spend is one conditional transaction. */
export class DynamoDbAttemptLedger implements AttemptLedger {
  readonly #client: DynamoDBClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, tableName: string) {
    this.#client = client;
    this.#table = tableName;
  }

  async read(phoneNumberId: string, jobKey: string, scopes: BudgetScope[]): Promise<LedgerSnapshot> {
    const pk = S(numberKey(phoneNumberId));
    let keys: Record<string, AttributeValue>[] = [
      ...scopes.map((scope) => ({ pk, sk: S(budgetKey(scope)) })),
      { pk, sk: S(jobKeyOf(jobKey)) },
      { pk, sk: S(STATE_KEY) },
      APP_THROTTLE_KEY,
    ];
    const items: Record<string, AttributeValue>[] = [];
    // BatchGetItem may leave keys unprocessed under load; ask again for exactly those.
    for (let round = 0; keys.length > 0; round++) {
      if (round === 5) throw new Error('DynamoDB left ledger keys unprocessed after 5 rounds');
      const output = await this.#client.send(
        new BatchGetItemCommand({ RequestItems: { [this.#table]: { Keys: keys, ConsistentRead: true } } }),
      );
      items.push(...(output.Responses?.[this.#table] ?? []));
      keys = output.UnprocessedKeys?.[this.#table]?.Keys ?? [];
    }
    const snapshot: LedgerSnapshot = { budgets: {} };
    for (const scope of scopes) snapshot.budgets[scope] = { scope, attemptTimes: [], version: 0 };
    for (const item of items) {
      const sk = item.sk?.S ?? '';
      if (item.pk?.S === 'APP') {
        const until = num(item, 'throttledUntil');
        if (until !== undefined) snapshot.throttledUntil = until;
      } else if (sk.startsWith('BUDGET#')) {
        const budget = toBudget(item);
        snapshot.budgets[budget.scope] = budget;
      } else if (sk.startsWith('JOB#')) {
        snapshot.job = toJob(item);
      } else if (sk === STATE_KEY) {
        const operation = str(item, 'lastSuccessOperation') as LimitedOperation | undefined;
        const at = num(item, 'lastSuccessAt');
        if (operation && at !== undefined) snapshot.lastSuccess = { operation, at };
      }
    }
    return snapshot;
  }

  async reserve(request: ReserveRequest): Promise<'reserved' | 'conflict'> {
    const pk = S(numberKey(request.phoneNumberId));
    const spend = request.spend;
    const items: TransactWriteItem[] = [
      {
        Update: {
          TableName: this.#table,
          Key: { pk, sk: S(budgetKey(spend.scope)) },
          UpdateExpression: 'SET attemptTimes = :times, version = :next, #scope = :scope, expiresAt = :exp',
          ConditionExpression: versionCondition(spend.version),
          ExpressionAttributeNames: { '#scope': 'scope' },
          ExpressionAttributeValues: {
            ':times': { L: request.newAttemptTimes.map(N) },
            ':next': N(spend.version + 1),
            ':scope': S(spend.scope),
            ':exp': N(epochSeconds(request.budgetExpiresAt)),
            ...(spend.version > 0 ? { ':expected': N(spend.version) } : {}),
          },
        },
      },
      ...request.alsoUnchanged.map(
        (other): TransactWriteItem => ({
          ConditionCheck: {
            TableName: this.#table,
            Key: { pk, sk: S(budgetKey(other.scope)) },
            ConditionExpression: versionCondition(other.version),
            ...(other.version > 0 ? { ExpressionAttributeValues: { ':expected': N(other.version) } } : {}),
          },
        }),
      ),
      {
        Put: {
          TableName: this.#table,
          Item: {
            pk,
            sk: S(attemptKey(request.now, request.attemptId)),
            attemptId: S(request.attemptId),
            operation: S(request.operation),
            scope: S(spend.scope),
            at: N(request.now),
            reason: S(request.reason),
            jobKey: S(request.jobKey),
            outcome: S('pending'),
            expiresAt: N(epochSeconds(request.attemptExpiresAt)),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Update: {
          TableName: this.#table,
          Key: { pk, sk: S(jobKeyOf(request.jobKey)) },
          UpdateExpression:
            'SET #status = :inProgress, generation = :gen, leaseOwner = :owner, leaseUntil = :lease, ' +
            'lastAttemptId = :attemptId, lastAttemptAt = :at, lastAttemptOperation = :op, lastAttemptOutcome = :pending, ' +
            'deregisterDone = if_not_exists(deregisterDone, :false), version = :nextJob, expiresAt = :jobExp',
          ConditionExpression: versionCondition(request.expectedJob?.version ?? 0),
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':inProgress': S('in_progress'),
            ':gen': N(request.generation),
            ':owner': S(request.leaseOwner),
            ':lease': N(request.leaseUntil),
            ':attemptId': S(request.attemptId),
            ':at': N(request.now),
            ':op': S(request.operation),
            ':pending': S('pending'),
            ':false': { BOOL: false },
            ':nextJob': N((request.expectedJob?.version ?? 0) + 1),
            ':jobExp': N(epochSeconds(request.jobExpiresAt)),
            ...(request.expectedJob ? { ':expected': N(request.expectedJob.version) } : {}),
          },
        },
      },
    ];
    try {
      await this.#client.send(new TransactWriteItemsCommand({ TransactItems: items }));
      return 'reserved';
    } catch (error) {
      if (isConditionConflict(error)) return 'conflict';
      throw error;
    }
  }

  async recordOutcome(update: OutcomeUpdate): Promise<void> {
    const pk = S(numberKey(update.phoneNumberId));
    const details: Record<string, AttributeValue> = {
      ':outcome': S(update.outcome),
      ':duration': N(Math.round(update.durationMs)),
    };
    const sets = ['outcome = :outcome', 'durationMs = :duration'];
    const optional: Array<[string, AttributeValue | undefined]> = [
      ['httpStatus', update.httpStatus === undefined ? undefined : N(update.httpStatus)],
      ['code', update.code === undefined ? undefined : N(update.code)],
      ['subcode', update.subcode === undefined ? undefined : N(update.subcode)],
      ['fbtraceId', update.fbtraceId === undefined ? undefined : S(update.fbtraceId)],
    ];
    for (const [name, value] of optional) {
      if (value === undefined) continue;
      sets.push(`${name} = :${name}`);
      details[`:${name}`] = value;
    }
    const jobSets = ['lastAttemptOutcome = :outcome', 'version = version + :one'];
    const jobValues: Record<string, AttributeValue> = { ':outcome': S(update.outcome), ':one': N(1), ':attemptId': S(update.attempt.attemptId) };
    if (update.deregisterDone) {
      jobSets.push('deregisterDone = :true');
      jobValues[':true'] = { BOOL: true };
    }
    const jobNames: Record<string, string> = {};
    let jobRemove = '';
    if (update.completesJob) {
      jobSets.push('#status = :completed', 'expiresAt = :jobExp');
      jobNames['#status'] = 'status';
      jobValues[':completed'] = S('completed');
      jobValues[':jobExp'] = N(epochSeconds(update.completesJob.expiresAt));
      jobRemove = ' REMOVE leaseOwner, leaseUntil';
    }
    const attemptUpdate: TransactWriteItem = {
      Update: {
        TableName: this.#table,
        Key: { pk, sk: S(attemptKey(update.attempt.at, update.attempt.attemptId)) },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ExpressionAttributeValues: details,
      },
    };
    const stateUpdate: TransactWriteItem[] =
      update.outcome === 'success'
        ? [
            {
              Update: {
                TableName: this.#table,
                Key: { pk, sk: S(STATE_KEY) },
                UpdateExpression: 'SET lastSuccessOperation = :op, lastSuccessAt = :at',
                ExpressionAttributeValues: { ':op': S(update.attempt.operation), ':at': N(update.attempt.at) },
              },
            },
          ]
        : [];
    const jobUpdate: TransactWriteItem = {
      Update: {
        TableName: this.#table,
        Key: { pk, sk: S(jobKeyOf(update.jobKey)) },
        UpdateExpression: `SET ${jobSets.join(', ')}${jobRemove}`,
        // Only if the job still points at this request (a takeover may have moved on).
        ConditionExpression: 'lastAttemptId = :attemptId',
        ...(update.completesJob ? { ExpressionAttributeNames: jobNames } : {}),
        ExpressionAttributeValues: jobValues,
      },
    };
    try {
      await this.#client.send(new TransactWriteItemsCommand({ TransactItems: [attemptUpdate, ...stateUpdate, jobUpdate] }));
    } catch (error) {
      if (!isConditionConflict(error)) throw error;
      // The job moved on; the request's own record and the number's state must still carry the outcome.
      await this.#client.send(new TransactWriteItemsCommand({ TransactItems: [attemptUpdate, ...stateUpdate] }));
    }
  }

  async finishJob(request: FinishRequest): Promise<'finished' | 'lost_lease'> {
    const values: Record<string, AttributeValue> = {
      ':status': S(request.status),
      ':gen': N(request.generation),
      ':exp': N(epochSeconds(request.expiresAt)),
      ':owner': S(request.leaseOwner),
      ':now': N(request.now),
      ':one': N(1),
      ':zero': N(0),
      ':false': { BOOL: request.deregisterDone ?? false },
    };
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { pk: S(numberKey(request.phoneNumberId)), sk: S(jobKeyOf(request.jobKey)) },
          UpdateExpression:
            'SET #status = :status, generation = :gen, expiresAt = :exp, version = if_not_exists(version, :zero) + :one, ' +
            'deregisterDone = if_not_exists(deregisterDone, :false) REMOVE leaseOwner, leaseUntil',
          ConditionExpression: 'attribute_not_exists(leaseOwner) OR leaseOwner = :owner OR leaseUntil < :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: values,
        }),
      );
      return 'finished';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'lost_lease';
      throw error;
    }
  }

  async block(request: BlockRequest): Promise<void> {
    await this.#client.send(
      new TransactWriteItemsCommand({
        TransactItems: request.scopes.map(
          (scope): TransactWriteItem => ({
            Update: {
              TableName: this.#table,
              Key: { pk: S(numberKey(request.phoneNumberId)), sk: S(budgetKey(scope)) },
              UpdateExpression:
                'SET blockedUntil = :until, version = if_not_exists(version, :zero) + :one, #scope = :scope, ' +
                'attemptTimes = if_not_exists(attemptTimes, :empty), expiresAt = :exp',
              ExpressionAttributeNames: { '#scope': 'scope' },
              ExpressionAttributeValues: {
                ':until': N(request.until),
                ':zero': N(0),
                ':one': N(1),
                ':scope': S(scope),
                ':empty': { L: [] },
                ':exp': N(epochSeconds(request.until)),
              },
            },
          }),
        ),
      }),
    );
  }

  async throttleApp(until: number): Promise<void> {
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: APP_THROTTLE_KEY,
          UpdateExpression: 'SET throttledUntil = :until, expiresAt = :exp',
          // A later throttle end already stored wins.
          ConditionExpression: 'attribute_not_exists(throttledUntil) OR throttledUntil < :until',
          ExpressionAttributeValues: { ':until': N(until), ':exp': N(epochSeconds(until) + 3600) },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async history(phoneNumberId: string): Promise<AttemptRecord[]> {
    const items = await this.#queryPrefix(phoneNumberId, 'ATTEMPT#');
    return items.map((item) => toAttempt(phoneNumberId, item));
  }

  async budgets(phoneNumberId: string): Promise<BudgetState[]> {
    const items = await this.#queryPrefix(phoneNumberId, 'BUDGET#');
    return items.map(toBudget);
  }

  async #queryPrefix(phoneNumberId: string, prefix: string): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.#client.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': S(numberKey(phoneNumberId)), ':prefix': S(prefix) },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }
}

function versionCondition(version: number): string {
  return version === 0 ? 'attribute_not_exists(pk)' : 'version = :expected';
}

function isConditionConflict(error: unknown): boolean {
  if (error instanceof TransactionCanceledException) {
    return (error.CancellationReasons ?? []).some((reason) => reason.Code === 'ConditionalCheckFailed' || reason.Code === 'TransactionConflict');
  }
  return error instanceof ConditionalCheckFailedException;
}

const str = (item: Record<string, AttributeValue>, name: string) => item[name]?.S;
const num = (item: Record<string, AttributeValue>, name: string) => {
  const raw = item[name]?.N;
  return raw === undefined ? undefined : Number(raw);
};

function toBudget(item: Record<string, AttributeValue>): BudgetState {
  const scope = (str(item, 'scope') ?? (str(item, 'sk') ?? '').slice('BUDGET#'.length)) as BudgetScope;
  const blockedUntil = num(item, 'blockedUntil');
  return {
    scope,
    attemptTimes: (item.attemptTimes?.L ?? []).map((value) => Number(value.N)),
    ...(blockedUntil === undefined ? {} : { blockedUntil }),
    version: num(item, 'version') ?? 0,
  };
}

function toJob(item: Record<string, AttributeValue>): JobRecord {
  const lastAttemptId = str(item, 'lastAttemptId');
  const leaseOwner = str(item, 'leaseOwner');
  const leaseUntil = num(item, 'leaseUntil');
  return {
    jobKey: (str(item, 'sk') ?? '').slice('JOB#'.length),
    version: num(item, 'version') ?? 0,
    status: str(item, 'status') as JobRecord['status'],
    generation: num(item, 'generation') ?? 0,
    ...(leaseOwner === undefined ? {} : { leaseOwner }),
    ...(leaseUntil === undefined ? {} : { leaseUntil }),
    deregisterDone: item.deregisterDone?.BOOL ?? false,
    ...(lastAttemptId === undefined
      ? {}
      : {
          lastAttempt: {
            attemptId: lastAttemptId,
            at: num(item, 'lastAttemptAt') ?? 0,
            operation: str(item, 'lastAttemptOperation') as LimitedOperation,
            outcome: str(item, 'lastAttemptOutcome') as AttemptOutcome,
          },
        }),
  };
}

function toAttempt(phoneNumberId: string, item: Record<string, AttributeValue>): AttemptRecord {
  const optionalNumber = (name: string) => {
    const value = num(item, name);
    return value === undefined ? {} : { [name]: value };
  };
  const fbtraceId = str(item, 'fbtraceId');
  return {
    attemptId: str(item, 'attemptId') ?? '',
    phoneNumberId,
    operation: str(item, 'operation') as LimitedOperation,
    scope: str(item, 'scope') as BudgetScope,
    at: num(item, 'at') ?? 0,
    reason: str(item, 'reason') as JobReason,
    jobKey: str(item, 'jobKey') ?? '',
    outcome: str(item, 'outcome') as AttemptOutcome,
    ...optionalNumber('httpStatus'),
    ...optionalNumber('code'),
    ...optionalNumber('subcode'),
    ...optionalNumber('durationMs'),
    ...(fbtraceId === undefined ? {} : { fbtraceId }),
  };
}
