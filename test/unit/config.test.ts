import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config.ts';

const required = {
  LEDGER_TABLE_NAME: 'ledger',
  JOB_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/jobs.fifo',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/dlq.fifo',
  TOKEN_SECRET_ID: 'wa/token',
  PIN_SECRET_PREFIX: 'wa/pin/',
};

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig(required)).toMatchObject({
      GRAPH_API_BASE_URL: 'https://graph.facebook.com',
      GRAPH_API_VERSION: 'v25.0',
      ATTEMPT_LIMIT: 10,
      ATTEMPT_WINDOW_HOURS: 72,
      ATTEMPT_BUDGET_SHARED: true,
    });
  });

  it('names every missing or bad variable at once and never prints a value', () => {
    let error: unknown;
    try {
      loadConfig({ ...required, LEDGER_TABLE_NAME: '', TOKEN_SECRET_ID: undefined, ATTEMPT_LIMIT: '11', ATTEMPT_BUDGET_SHARED: 'yes', GRAPH_API_VERSION: 'secret-v9' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['LEDGER_TABLE_NAME', 'TOKEN_SECRET_ID', 'ATTEMPT_LIMIT', 'ATTEMPT_BUDGET_SHARED', 'GRAPH_API_VERSION']) expect(message).toContain(name);
    expect(message).not.toContain('secret-v9');
  });

  it('splits the budget when ATTEMPT_BUDGET_SHARED=false', () => {
    expect(loadConfig({ ...required, ATTEMPT_BUDGET_SHARED: 'false', ATTEMPT_LIMIT: '8' })).toMatchObject({ ATTEMPT_BUDGET_SHARED: false, ATTEMPT_LIMIT: 8 });
  });

  it.each([
    [{ BLOCK_HOURS: '24' }, 'BLOCK_HOURS must be at least ATTEMPT_WINDOW_HOURS'],
    [{ JOB_LEASE_SECONDS: '60' }, 'JOB_LEASE_SECONDS must exceed the worst-case request (105 s'],
    [{ GRAPH_TIMEOUT_MS: '120000' }, 'WORKER_TIMEOUT_SECONDS must exceed the worst-case request (195 s'],
    [{ MAX_DELIVERIES: '10' }, 'MAX_DELIVERIES must be below JOB_QUEUE_MAX_RECEIVES'],
  ])('refuses settings that are valid alone but not together: %o', (env, message) => {
    expect(() => loadConfig({ ...required, ...env })).toThrow(message);
  });

  it('accepts the defaults together, and a longer Lambda timeout for a longer Graph timeout', () => {
    expect(() => loadConfig(required)).not.toThrow();
    expect(loadConfig({ ...required, GRAPH_TIMEOUT_MS: '120000', WORKER_TIMEOUT_SECONDS: '300' }).WINDOW_MARGIN_MINUTES).toBe(15);
  });

  it.each([
    ['http://graph.facebook.com', false],
    ['http://10.0.0.5:8080', false],
    ['ftp://127.0.0.1', false],
    ['https://graph.facebook.com', true],
    ['http://127.0.0.1:4010', true],
    ['http://localhost:4010', true],
    ['http://[::1]:4010', true],
  ])('GRAPH_API_BASE_URL %s is accepted: %s (https, or plain http to this machine only)', (url, accepted) => {
    const load = () => loadConfig({ ...required, GRAPH_API_BASE_URL: url });
    if (accepted) expect(load().GRAPH_API_BASE_URL).toBe(url);
    else expect(load).toThrow(/GRAPH_API_BASE_URL must be https/);
  });
});

describe('loadConfig: the lifecycle secret prefixes', () => {
  it('takes TOKEN_SECRET_PREFIX and BACKUP_SECRET_PREFIX when they do not overlap the PIN prefix', () => {
    expect(loadConfig({ ...required, TOKEN_SECRET_PREFIX: 'wa/token/', BACKUP_SECRET_PREFIX: 'wa/backup/' })).toMatchObject({ TOKEN_SECRET_PREFIX: 'wa/token/', BACKUP_SECRET_PREFIX: 'wa/backup/' });
  });

  it('refuses a prefix inside another (a number could be read as another kind of secret), naming both', () => {
    expect(() => loadConfig({ ...required, TOKEN_SECRET_PREFIX: 'wa/pin/tokens/' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...required, TOKEN_SECRET_PREFIX: 'wa/pin/tokens/' })).toThrow(/TOKEN_SECRET_PREFIX must not start with PIN_SECRET_PREFIX/);
  });
});
