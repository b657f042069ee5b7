import { describe, expect, it } from 'vitest';
import { redactedRawBody } from '../../shared/domain/redaction.ts';
import { parsePinSecret, parseTokenSecret } from '../../shared/secrets/secret-values.ts';

describe('PIN secrets', () => {
  it.each([
    ['012345', '012345'],
    ['  012345\n', '012345'],
    ['{"pin":"000001"}', '000001'],
  ])('reads %j as the string %s', (raw, pin) => {
    expect(parsePinSecret(raw)).toEqual({ kind: 'found', value: pin });
  });

  it.each([
    ['54321', /exactly 6 digits/],
    ['{"pin":54321}', /JSON number/],
    ['{"pin":"54a321"}', /"pin" field of exactly 6 digits/],
    ['{"pin":', /not valid JSON/],
  ])('refuses %j without echoing it', (raw, problem) => {
    const result = parsePinSecret(raw);
    expect(result).toMatchObject({ kind: 'malformed', problem: expect.stringMatching(problem) });
    expect(JSON.stringify(result)).not.toMatch(/54a?321/);
  });
});

describe('token secrets', () => {
  it('accepts the token itself or JSON with accessToken / access_token / token', () => {
    for (const raw of ['EAAGtoken', '{"accessToken":"EAAGtoken"}', '{"access_token":"EAAGtoken"}', '{"token":"EAAGtoken"}']) {
      expect(parseTokenSecret(raw)).toEqual({ kind: 'found', value: 'EAAGtoken' });
    }
  });
  it('refuses empty, spaced or shapeless tokens', () => {
    expect(parseTokenSecret('').kind).toBe('malformed');
    expect(parseTokenSecret('two words').kind).toBe('malformed');
    expect(parseTokenSecret('{"other":"x"}').kind).toBe('malformed');
  });
});

describe('invalid bodies kept as evidence', () => {
  it('replaces secret fields and keeps the rest', () => {
    expect(redactedRawBody('{"action":"register","pin":"013579","nested":{"access_token":"EAAG"}}').text).toBe(
      '{"action":"register","pin":"[REDACTED]","nested":{"access_token":"[REDACTED]"}}',
    );
  });
  it('masks 6-digit runs in text that is not JSON, but not longer digit runs', () => {
    expect(redactedRawBody('pin=013579 phone=15550783881').text).toBe('pin=[6 digits redacted] phone=15550783881');
  });
  it('cuts long bodies and says how long they were', () => {
    const result = redactedRawBody('x'.repeat(10_000));
    expect(result.bytes).toBe(10_000);
    expect(result.text).toMatch(/… \[truncated; 10000 bytes in all\]$/);
  });
});
