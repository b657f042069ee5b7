import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOUR_MS } from '../../shared/clock.ts';
import { requestsNeeded } from '../../bin/ops/budget-warnings.ts';
import { parseCsv, parseJobFile } from '../../bin/ops/job-file.ts';
import { resolveResources, requireResource, ResourceError } from '../../bin/ops/resources.ts';
import { formatRelative, usageBar } from '../../bin/views/format.ts';
import { redactSecrets } from '../../bin/views/redact.ts';
import { buildStatus, renderStatus } from '../../bin/views/status.ts';
import { decideRedrive, readDeadLetter, type DeadLetter } from '../../shared/dead-letters/index.ts';
import { emptyNumber, type NumberRecord } from '../../shared/ledger/port.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const MARGIN = 15 * 60_000;
const policy = { limit: 10, windowMs: 72 * HOUR_MS, marginMs: MARGIN, shared: true, blockMs: 72 * HOUR_MS };

describe('job files', () => {
  it('reads JSONL with line numbers, skipping blank lines, and flags repeated keys', () => {
    const text = ['{"action":"register","phoneNumberId":"1","idempotencyKey":"k"}', '', '{"action":"register","phoneNumberId":"2","idempotencyKey":"k"}', '{"action":"register"}'].join('\n');

    const parsed = parseJobFile(text, 'jsonl');

    expect(parsed.jobs.map((entry) => entry.line)).toEqual([1]);
    expect(parsed.invalid).toEqual([
      { line: 3, error: 'idempotencyKey repeats line 1: SQS would drop this job as a duplicate' },
      { line: 4, error: expect.stringContaining('phoneNumberId') },
    ]);
  });

  it('reads RFC 4180 CSV: quotes, doubled quotes, embedded newlines, CRLF, and reports the starting line', () => {
    const records = parseCsv('a,b\r\n"x,1","say ""hi"""\n"multi\nline",z\n\nlast,');

    expect(records).toEqual([
      { line: 1, cells: ['a', 'b'] },
      { line: 2, cells: ['x,1', 'say "hi"'] },
      { line: 3, cells: ['multi\nline', 'z'] },
      { line: 6, cells: ['last', ''] },
    ]);
  });

  it('maps CSV columns to job fields, empty cells to absent, and catches a PIN column without echoing it', () => {
    const parsed = parseJobFile('action,phoneNumberId,reason,schemaVersion,pin\nregister,42,,1,\nregister,43,,1,012345\nregister,44\n', 'csv');

    expect(parsed.jobs).toEqual([{ line: 2, job: { schemaVersion: 1, action: 'register', phoneNumberId: '42', reason: 'manual' } }]);
    expect(parsed.invalid.map((problem) => problem.line)).toEqual([3, 4]);
    expect(parsed.invalid[0]!.error).toContain('must not carry a secret (found "pin")');
    expect(JSON.stringify(parsed.invalid)).not.toContain('012345');
    expect(parsed.invalid[1]!.error).toBe('has 2 fields; the header has 5');
  });
});

describe('redrive decisions', () => {
  const letter = (overrides: Partial<DeadLetter>): DeadLetter => ({
    messageId: 'm',
    receiptHandle: 'r',
    category: 'rate_limited',
    deadLetteredAt: NOW,
    redriveGeneration: 0,
    job: { schemaVersion: 1, action: 'register', phoneNumberId: '1', reason: 'manual', idempotencyKey: 'k' },
    jobKey: 'k',
    ...overrides,
  });

  it.each([
    ['eligible', letter({ eligibleAt: NOW }), true],
    ['eligible', letter({ eligibleAt: NOW + 1 }), false],
    ['eligible', letter({}), false],
    ['eligible', letter({ category: 'missing_secret' }), false],
    ['all', letter({ category: 'missing_secret' }), true],
    ['all', letter({ category: 'retries_exhausted', eligibleAt: NOW + 1 }), false],
    ['all', letter({ category: 'permanent_error' }), false],
    ['all', letter({ category: 'needs_verification' }), false],
    ['all', letter({ category: 'max_receives' }), false],
    ['all', letter({ category: 'invalid_job', job: undefined as never }), false],
  ] as const)('%s: %j → %s', (kind, message, expected) => {
    expect(decideRedrive(message, { kind }, NOW).redrive).toBe(expected);
  });

  it('by id: any category with a job, not before eligibleAt unless forced, never without a job', () => {
    expect(decideRedrive(letter({ category: 'permanent_error' }), { kind: 'ids', ids: ['m'] }, NOW).redrive).toBe(true);
    expect(decideRedrive(letter({ eligibleAt: NOW + HOUR_MS }), { kind: 'ids', ids: ['m'] }, NOW).redrive).toBe(false);
    expect(decideRedrive(letter({ eligibleAt: NOW + HOUR_MS }), { kind: 'ids', ids: ['m'], force: true }, NOW).redrive).toBe(true);
    expect(decideRedrive(letter({ category: 'unreadable', job: undefined as never, jobKey: undefined as never }), { kind: 'ids', ids: ['m'], force: true }, NOW).redrive).toBe(false);
  });

  it('reads a bare job moved by SQS with its generation and keeps the message id as key when it has none', () => {
    const message = readDeadLetter({
      MessageId: 'sqs-id',
      ReceiptHandle: 'h',
      Body: '{"action":"deregister","phoneNumberId":"77"}',
      Attributes: { SentTimestamp: String(NOW) },
      MessageAttributes: { waRegistrarRedriveGeneration: { DataType: 'Number', StringValue: '2' } },
    });

    expect(message).toMatchObject({ category: 'max_receives', phoneNumberId: '77', jobKey: 'sqs-id', redriveGeneration: 2, deadLetteredAt: NOW });
  });
});

describe('status view', () => {
  const number = (extra: Partial<NumberRecord>): NumberRecord => ({ ...emptyNumber('1'), version: 4, ...extra });
  const attempt = (at: number, index: number, operation: 'register' | 'deregister' = 'register') => ({
    attemptId: String(index), phoneNumberId: '1', operation, at, reason: 'manual' as const, jobKey: 'k', outcome: 'success' as const,
  });

  it('counts only requests inside window + margin (the edge is exclusive) and frees the next slot at oldest + window + margin', () => {
    // Prepare
    const times = [NOW - 72 * HOUR_MS - MARGIN, NOW - 72 * HOUR_MS, NOW - HOUR_MS];
    const record = number({ spent: times.map((at) => ({ at, operation: 'register' as const })) });
    // Act
    const view = buildStatus(record, times.map((at, index) => attempt(at, index)), { version: 0 }, policy, NOW);
    // Assess
    expect(view.scopes[0]).toMatchObject({ used: 2, left: 8, open: true, reserved: 0, nextSlotFreesAt: new Date(NOW + MARGIN).toISOString() });
    expect(view.scopes[0]!.attempts).toHaveLength(2);
    expect(view.olderAttempts).toBe(1);
    expect(view.policy).toEqual({ limit: 10, windowHours: 72, marginMinutes: 15, shared: true });
  });

  it('applies a block on either operation to both in shared mode, only to its own when separate', () => {
    // Prepare
    const record = number({ blockedUntil: { register: NOW + HOUR_MS } });
    // Act
    const sharedView = buildStatus(record, [], { version: 0 }, policy, NOW);
    const separateView = buildStatus(record, [], { version: 0 }, { ...policy, shared: false }, NOW);
    // Assess
    expect(sharedView.scopes.map((scope) => [scope.scope, scope.open, scope.blockedUntil])).toEqual([['all', false, new Date(NOW + HOUR_MS).toISOString()]]);
    expect(separateView.scopes.map((scope) => [scope.scope, scope.open, scope.blockedUntil ?? null])).toEqual([
      ['register', false, new Date(NOW + HOUR_MS).toISOString()],
      ['deregister', true, null],
    ]);
  });

  it('counts slots reserved by sagas in progress, and lists them', () => {
    // Prepare
    const record = number({
      spent: Array.from({ length: 9 }, (_, i) => ({ at: NOW - (i + 1) * HOUR_MS, operation: 'deregister' as const })),
      reserved: [{ jobKey: 'move-ch', operation: 'register', at: NOW - HOUR_MS, until: NOW + 2 * HOUR_MS }, { jobKey: 'old', operation: 'register', at: NOW - 9 * HOUR_MS, until: NOW }],
    });
    // Act
    const view = buildStatus(record, [], { version: 0 }, policy, NOW);
    // Assess
    expect(view.scopes[0]).toMatchObject({ used: 10, left: 0, reserved: 1, open: false });
    expect(view.reserved).toEqual([{ jobKey: 'move-ch', operation: 'register', at: new Date(NOW - HOUR_MS).toISOString(), until: new Date(NOW + 2 * HOUR_MS).toISOString() }]);
    expect(renderStatus(view)).toContain('1 slot reserved for the register of job move-ch (in progress) until 2026-11-25 14:00 UTC (in 2h)');
  });

  it('shows the hold with what lifts it, the last success and the app gates', () => {
    // Prepare
    const record = number({
      hold: { cause: 'pin_locked', since: NOW - HOUR_MS, until: NOW + 23 * HOUR_MS, code: 133008, pinVersion: 'v-1', detail: 'error 133008 on a register' },
      lastSuccess: { operation: 'deregister', at: NOW - 2 * HOUR_MS },
    });
    const app = { version: 3, throttledUntil: NOW + 30 * 60_000, tokenGate: { tokenVersion: 't-9', since: NOW - 5 * 60_000, code: 190 } };
    // Act
    const view = buildStatus(record, [], app, policy, NOW);
    const human = renderStatus(view);
    // Assess
    expect(view.hold).toMatchObject({ cause: 'pin_locked', secretVersion: 'v-1', code: 133008, until: new Date(NOW + 23 * HOUR_MS).toISOString() });
    expect(view.hold!.liftedBy).toContain('before then only with --force');
    expect(view.lastSuccess).toEqual({ operation: 'deregister', at: new Date(NOW - 2 * HOUR_MS).toISOString() });
    expect(view.app).toMatchObject({ throttledUntil: new Date(NOW + 30 * 60_000).toISOString(), tokenGate: { tokenVersion: 't-9', code: 190 } });
    expect(human).toContain('HELD (pin_locked) since 2026-11-25 11:00 UTC, code 133008, PIN version v-1, until 2026-11-26 11:00 UTC (in 23h): error 133008 on a register');
    expect(human).toContain('APP THROTTLED by Meta until 2026-11-25 12:30 UTC (in 30m)');
    expect(human).toContain('TOKEN GATE closed since 2026-11-25 11:55 UTC (code 190, token version t-9)');
    expect(human).toContain('wa-registrar hold clear --token');
    expect(human).toContain('Last success: deregister at 2026-11-25 10:00 UTC (2h ago).');
  });

  it('shows the business, its account hold, the name-approval deadline (met or not) and its business throttle', () => {
    // Prepare: WABA 900 restricted an hour ago; name approved 12 days ago, not re-registered; WABA 900 throttled
    const record = number({
      businessAccountId: '900',
      accountHold: { cause: 'account_restricted', since: NOW - HOUR_MS, businessAccountId: '900', detail: 'ACCOUNT_RESTRICTION' },
      nameApproval: { approvedAt: NOW - 12 * 24 * HOUR_MS, deadline: NOW + 2 * 24 * HOUR_MS, changeId: 'c'.repeat(64), requestedName: 'Acme Support' },
    });
    const app = { version: 1, businessThrottles: { '900': NOW + HOUR_MS, '901': NOW + 5 * HOUR_MS } };
    // Act
    const view = buildStatus(record, [], app, policy, NOW);
    const human = renderStatus(view);
    const met = buildStatus({ ...record, lastSuccess: { operation: 'register', at: NOW - HOUR_MS } }, [], app, policy, NOW);
    const missed = buildStatus(record, [], app, policy, NOW + 3 * 24 * HOUR_MS);
    // Assess
    expect(view).toMatchObject({ businessAccountId: '900', accountHold: { cause: 'account_restricted' }, nameApproval: { met: false, requestedName: 'Acme Support' } });
    expect(view.app.businessThrottledUntil).toBe(new Date(NOW + HOUR_MS).toISOString());
    expect(human).toContain('ACCOUNT HELD (account_restricted) since 2026-11-25 11:00 UTC: ACCOUNT_RESTRICTION');
    expect(human).toContain('re-register by 2026-11-27 12:00 UTC (in 2d');
    expect(human).toContain('BUSINESS THROTTLED: Meta throttles business 900 until 2026-11-25 13:00 UTC');
    expect(renderStatus(met)).toContain('re-registered since (met)');
    expect(renderStatus(missed)).toContain('MISSED');
  });

  it('needs two requests from the shared counter for set_localization, one from each when separate', () => {
    expect(requestsNeeded({ action: 'set_localization' }, { shared: true })).toEqual({ all: 2 });
    expect(requestsNeeded({ action: 'set_localization' }, { shared: false })).toEqual({ register: 1, deregister: 1 });
  });
});

describe('presentation', () => {
  it.each([
    [0, 10, '[□□□□□□□□□□] 0/10'],
    [4, 10, '[■■■■□□□□□□] 4/10'],
    [10, 10, '[■■■■■■■■■■] 10/10'],
    [2, 5, '[■■□□□] 2/5'],
  ])('usageBar(%i, %i)', (used, limit, expected) => {
    expect(usageBar(used, limit)).toBe(expected);
  });

  it('relative times', () => {
    expect(formatRelative(NOW + 26 * HOUR_MS, NOW)).toBe('in 1d 2h');
    expect(formatRelative(NOW - 90 * 60_000, NOW)).toBe('1h 30m ago');
    expect(formatRelative(NOW + 10_000, NOW)).toBe('now');
  });

  it('redacts secret fields and secrets inside text', () => {
    const redacted = redactSecrets({ pin: '012345', nested: { access_token: 'EAAG' }, text: 'x?access_token=EAAG1&pin=012345 Bearer EAAG2 {"pin":"012345"}' });

    expect(JSON.stringify(redacted)).not.toMatch(/012345|EAAG/);
  });
});

describe('resource resolution', () => {
  it('reads the local run file by default, lets flags override it, and names the flag when something is missing', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'wa-res-'));
    await mkdir(join(cwd, '.wa-registrar'));
    await writeFile(join(cwd, '.wa-registrar', 'local-stack.json'), JSON.stringify({
      region: 'eu-west-1', endpoint: 'http://127.0.0.1:5000', jobQueueUrl: 'http://q/jobs', deadLetterQueueUrl: 'http://q/dlq',
      ledgerTableName: 't', tokenSecretId: 'tok', pinSecretPrefix: 'pin/',
    }));

    const fromFile = await resolveResources({}, { cwd, env: {} });
    const overridden = await resolveResources({ ledgerTableName: 'other' }, { cwd, env: {} });
    const nothing = await resolveResources({}, { cwd: tmpdir(), env: { AWS_REGION: 'us-east-2' } });

    expect(fromFile).toMatchObject({ endpoint: 'http://127.0.0.1:5000', jobQueueUrl: 'http://q/jobs', ledgerTableName: 't' });
    expect(overridden.ledgerTableName).toBe('other');
    expect(nothing.region).toBe('us-east-2');
    expect(() => requireResource(nothing, 'deadLetterQueueUrl')).toThrow(ResourceError);
    expect(() => requireResource(nothing, 'deadLetterQueueUrl')).toThrow(/Pass --dlq-url, or --stack NAME/);
  });

  /** A local resources file as the local run writes it, at the path the CLI looks for. */
  async function localFile(endpoint: string): Promise<string> {
    const cwd = await mkdtemp(join(tmpdir(), 'wa-res-'));
    await mkdir(join(cwd, '.wa-registrar'));
    await writeFile(join(cwd, '.wa-registrar', 'local-stack.json'), JSON.stringify({
      region: 'eu-west-1', endpoint, jobQueueUrl: 'http://q/jobs', deadLetterQueueUrl: 'http://q/dlq',
      ledgerTableName: 't', tokenSecretId: 'tok', pinSecretPrefix: 'pin/',
    }));
    return cwd;
  }

  it.each(['http://127.0.0.1:5000', 'http://127.1.2.3:5000', 'http://localhost:4566', 'http://[::1]:5000'])(
    'uses a local run file whose endpoint %s is on this machine',
    async (endpoint) => {
      // Prepare
      const cwd = await localFile(endpoint);
      // Act
      const resources = await resolveResources({}, { cwd, env: {} });
      // Assess
      expect(resources.endpoint).toBe(endpoint);
    },
  );

  it.each(['http://10.0.0.5:4566', 'https://sqs.eu-west-1.amazonaws.com', 'http://127.0.0.1.example.com:5000', 'http://localhost.example.com', 'not a url'])(
    'refuses a local run file whose endpoint %s is not on this machine (the CLI would send it dummy credentials)',
    async (endpoint) => {
      // Prepare
      const cwd = await localFile(endpoint);
      // Act and assess, one promise at a time (a second one left pending would reject unhandled meanwhile)
      const resolving = resolveResources({}, { cwd, env: {} });
      await expect(resolving).rejects.toThrow(ResourceError);
      await expect(resolving).rejects.toThrow(`local-stack.json names the endpoint ${endpoint}, which is not on this machine`);
      // A flag does not make the file trustworthy: its queue URLs came from the same file.
      await expect(resolveResources({ endpoint: 'http://127.0.0.1:5000' }, { cwd, env: {} })).rejects.toThrow(ResourceError);
    },
  );

  it('reads a deployed stack by its output keys', async () => {
    const resources = await resolveResources({ stack: 'WaRegistrar' }, {
      cwd: tmpdir(),
      env: {},
      describeStack: async (name) => {
        expect(name).toBe('WaRegistrar');
        return { JobQueueUrl: 'https://sqs/jobs.fifo', DeadLetterQueueUrl: 'https://sqs/dlq.fifo', LedgerTableName: 'ledger', Region: 'eu-central-1', TokenSecretId: 'tok', PinSecretPrefix: 'p/' };
      },
    });

    expect(resources).toMatchObject({ source: 'stack WaRegistrar', region: 'eu-central-1', jobQueueUrl: 'https://sqs/jobs.fifo', deadLetterQueueUrl: 'https://sqs/dlq.fifo', ledgerTableName: 'ledger' });
    expect(resources.endpoint).toBeUndefined();
  });
});
