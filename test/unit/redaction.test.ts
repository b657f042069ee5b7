import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_ALLOW, RAW_BODY_KEEP_CHARS, isSecretKey, redactDeep, redactedRawBody, redactText } from '../../shared/domain/redaction.ts';

const TOKEN = 'EAAGm0PYxZBAbCdEfGh1jK2lMnOpQr3StUvWx';
const PIN = '024680';
const NUMBER = '106540352242922';

describe('redactedRawBody: the secret is gone on every path, harmless fields survive', () => {
  const cases: Array<{ name: string; body: string; secrets: string[]; survives: string[] }> = [
    {
      name: 'valid JSON with pinCode and twoStepPin',
      body: JSON.stringify({ action: 'register', phoneNumberId: NUMBER, pinCode: '4321', twoStepPin: PIN, idempotencyKey: 'job-7' }),
      secrets: ['4321', PIN],
      survives: ['"action":"register"', `"phoneNumberId":"${NUMBER}"`, '"idempotencyKey":"job-7"', '"pinCode":"[REDACTED]"'],
    },
    {
      name: 'valid JSON with secrets nested and in arrays',
      body: JSON.stringify({
        action: 'register',
        meta: { auth: { access_token: TOKEN, 'x-api-key': 'k-1' }, list: [{ password: 'hunter2' }, { two_step_pin: 7654 }] },
        backup: { data: 'blob', password: 'migrate-me' },
        note: 'ok',
      }),
      secrets: [TOKEN, 'k-1', 'hunter2', '7654', 'migrate-me', 'blob'],
      survives: ['"action":"register"', '"note":"ok"'],
    },
    {
      name: 'valid JSON: a 6-digit number under a harmless key, a token in a harmless string',
      body: JSON.stringify({ phoneNumberId: '123456', extra: 246801, count: 1234567, comment: `use ${TOKEN} and 024680` }),
      secrets: ['246801', TOKEN, PIN],
      survives: ['"phoneNumberId":"123456"', '"count":1234567', '"extra":"[6 digits redacted]"'],
    },
    {
      name: 'invalid JSON holding an access token',
      body: `{"action":"register","phoneNumberId":"${NUMBER}", accessToken: ${TOKEN}`,
      secrets: [TOKEN],
      survives: ['"action":"register"', `"phoneNumberId":"${NUMBER}"`],
    },
    {
      name: 'invalid JSON: a bare EAA token in text',
      body: `token was EAAGabc123def and then {`,
      secrets: ['EAAGabc123def'],
      survives: ['token was'],
    },
    {
      name: 'truncated JSON, cut inside the PIN',
      body: `{"action":"register","phoneNumberId":"${NUMBER}","twoStepPin":"02468`,
      secrets: ['02468'],
      survives: [`"phoneNumberId":"${NUMBER}"`, '"twoStepPin":"[REDACTED]'],
    },
    {
      name: 'truncated JSON with a short pin and a bearer header',
      body: `{"headers":{"Authorization":"Bearer ${TOKEN}"},"pin_code":"4321","action":"regi`,
      secrets: [TOKEN, '4321'],
      survives: ['"Authorization":"[REDACTED]"', '"action":"regi'],
    },
    {
      name: 'form-encoded',
      body: `action=register&phoneNumberId=${NUMBER}&pin=4321&access_token=${TOKEN}&client_secret=s3cr3t`,
      secrets: ['4321', TOKEN, 's3cr3t'],
      survives: ['action=register', `phoneNumberId=${NUMBER}`, 'pin=[REDACTED]'],
    },
    {
      name: 'plain text with a PIN and a 6-digit phone id',
      body: `please register ${NUMBER}, the PIN is ${PIN}; phoneNumberId: 654321`,
      secrets: [PIN],
      survives: [`please register ${NUMBER}`, 'the PIN is [6 digits redacted]', 'phoneNumberId: 654321'],
    },
    {
      name: 'plain text in key: value lines',
      body: 'action: register\nPIN: 4321\nApiKey: k9\nAuthorization: Bearer abc.def\nregion: CH',
      secrets: ['4321', 'k9', 'abc.def'],
      survives: ['action: register', 'region: CH', 'PIN: [REDACTED]'],
    },
    {
      name: 'escaped JSON inside text',
      body: 'payload="{\\"pinCode\\":\\"4321\\",\\"action\\":\\"register\\"}" end',
      secrets: ['4321'],
      survives: ['\\"action\\":\\"register\\"', 'end'],
    },
    {
      name: 'Python-style quoted pairs',
      body: "{'password': 'hunter2', 'user': 'bob'}",
      secrets: ['hunter2'],
      survives: ["'user': 'bob'"],
    },
  ];

  it.each(cases)('$name', ({ body, secrets, survives }) => {
    // Act
    const result = redactedRawBody(body);

    // Assess
    for (const secret of secrets) expect(result.text).not.toContain(secret);
    for (const kept of survives) expect(result.text).toContain(kept);
    expect(result.bytes).toBe(Buffer.byteLength(body));
  });

  it('keeps the shape of the old key-list redaction for plain JSON', () => {
    expect(redactedRawBody('{"action":"register","pin":"013579","nested":{"access_token":"EAAG"}}').text).toBe(
      '{"action":"register","pin":"[REDACTED]","nested":{"access_token":"[REDACTED]"}}',
    );
  });

  it('leaves booleans and null under secret-looking keys (they cannot hold a secret)', () => {
    expect(JSON.parse(redactedRawBody('{"is_pin_enabled":true,"pin":null}').text)).toEqual({ is_pin_enabled: true, pin: null });
  });

  it('redacts before it truncates: a secret near the cut does not leave a prefix behind', () => {
    // Prepare: the token starts 10 characters before the cut
    const body = `${'x '.repeat((RAW_BODY_KEEP_CHARS - 10) / 2)}${TOKEN} ${'y'.repeat(10_000)}`;

    // Act
    const result = redactedRawBody(body);

    // Assess
    expect(result.text).not.toContain(TOKEN.slice(0, 10));
    expect(result.text).toMatch(/… \[truncated; \d+ bytes in all\]$/);
    expect(result.text.length).toBeLessThanOrEqual(RAW_BODY_KEEP_CHARS + 60);
  });

  it('reads a bare JSON number as text rather than losing it', () => {
    expect(redactedRawBody('1'.repeat(400)).text.startsWith('1111')).toBe(true);
    expect(redactedRawBody('123456').text).toBe('[6 digits redacted]');
  });

  test.prop([
    fc.constantFrom('pin', 'PIN', 'pinCode', 'two_step_pin', 'twoStepPIN', 'access-token', 'clientSecret', 'userPassword', 'otp', 'x_api_key'),
    fc.stringMatching(/^[A-Za-z0-9]{4,12}$/),
    fc.constantFrom<(key: string, value: string) => string>(
      (key, value) => JSON.stringify({ action: 'register', [key]: value }),
      (key, value) => JSON.stringify({ wrapper: [{ [key]: value }] }),
      (key, value) => JSON.stringify({ action: 'register', [key]: value }).slice(0, -2),
      (key, value) => `action=register&${key}=${value}&x=1`,
      (key, value) => `${key}: ${value}\nnext: line`,
      (key, value) => `{"a":1, "${key}": "${value}"`,
      (key, value) => `{'${key}': '${value}'}`,
    ),
  ])('a value under a secret-looking key never survives, whatever the framing', (key, value, frame) => {
    const text = redactedRawBody(frame(key, value)).text;
    // Values that are also part of the frame's own words say nothing about a leak.
    fc.pre(!['action', 'register', 'wrapper', 'next', 'line'].some((word) => word.includes(value)));
    expect(text).not.toContain(value);
  });

  test.prop([fc.integer({ min: 0, max: 999_999 }).map((n) => String(n).padStart(6, '0')), fc.constantFrom('a', ' ', '-', ',', '\n', '=')])(
    'a standalone 6-digit run never survives in text',
    (pin, around) => {
      expect(redactedRawBody(`start${around}${pin}${around}end`).text).not.toContain(pin);
    },
  );
});

describe('isSecretKey', () => {
  it.each(['pin', 'PIN', 'pinCode', 'two_step_pin', 'access_token', 'Authorization', 'client-secret', 'passwd', 'otp', 'apiKey', 'x_api_key', 'privateKey', 'backup', 'bearerValue', 'credentials'])(
    '%s is secret',
    (key) => {
      expect(isSecretKey(key)).toBe(true);
    },
  );
  it.each(['phoneNumberId', 'action', 'idempotencyKey', 'dataLocalizationRegion', 'reason', 'jobKey', 'fbtraceId'])('%s is not', (key) => {
    expect(isSecretKey(key)).toBe(false);
  });
});

describe('redactText', () => {
  it.each([
    [`Authorization: Bearer ${TOKEN}`, 'Authorization: [REDACTED]'],
    [`sent Bearer ${TOKEN} to Graph`, 'sent Bearer [token redacted] to Graph'],
    ['code 123456 and 1234567', 'code [6 digits redacted] and 1234567'],
    ['note: pin=1234; q="token=abc"', 'note: pin=[REDACTED]; q="token=[REDACTED]"'],
    ['password=ab:cd next', 'password=[REDACTED] next'],
    ['version v25.0 and a path /a/b/c', 'version v25.0 and a path /a/b/c'],
    ['2026-11-25T12:00:00.000Z', '2026-11-25T12:00:00.000Z'],
  ])('%j → %j', (text, expected) => {
    expect(redactText(text)).toBe(expected);
  });
});

describe('redactDeep: a final pass over dead-letter envelopes', () => {
  const envelope = {
    schemaVersion: 1,
    kind: 'wa-registrar.dead-letter',
    category: 'pin_rejected',
    reason: `Meta refused the PIN ${PIN}`,
    job: { action: 'register', phoneNumberId: '123456', idempotencyKey: '3f2a1c9e-1111-4abc-9def-123456789abc' },
    rawBody: `{"pin":"${PIN}"`,
    rawBodyBytes: 307_211,
    jobKey: '3f2a1c9e-1111-4abc-9def-123456789abc',
    phoneNumberId: '123456',
    graphError: { code: 133005, message: `PIN ${PIN} rejected for ${TOKEN}`, fbtraceId: 'AbC12dEf3GhI4jK0123456789xyz', httpStatus: 400 },
    hold: { cause: 'pin_rejected', since: '2026-11-25T12:00:00.000Z', secretVersion: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d' },
    deadLetteredAt: '2026-11-25T12:00:00.123456Z',
    blockedUntil: '2026-11-28T12:00:00.000Z',
    attempts: [{ at: '2026-11-25T12:00:00.000Z', action: 'register', outcome: 'rejected', code: 133005, durationMs: 210 }],
    receiveCount: 1,
    sourceMessageId: 'e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b',
    redriveGeneration: 0,
    extra: { twoStepPin: PIN, tokens: [TOKEN] },
  };

  it('removes every secret and keeps ids, codes, counters and timestamps exactly', () => {
    // Act
    const result = redactDeep(envelope) as typeof envelope;

    // Assess
    const text = JSON.stringify(result);
    expect(text).not.toContain(PIN);
    expect(text).not.toContain(TOKEN);
    expect(result).toMatchObject({
      jobKey: envelope.jobKey,
      phoneNumberId: '123456',
      sourceMessageId: envelope.sourceMessageId,
      rawBodyBytes: 307_211,
      deadLetteredAt: envelope.deadLetteredAt,
      blockedUntil: envelope.blockedUntil,
      receiveCount: 1,
      job: { phoneNumberId: '123456', idempotencyKey: envelope.job.idempotencyKey },
      graphError: { code: 133005, httpStatus: 400, fbtraceId: envelope.graphError.fbtraceId },
      hold: { secretVersion: envelope.hold.secretVersion, since: envelope.hold.since },
      attempts: [{ code: 133005, durationMs: 210 }],
      extra: { twoStepPin: '[REDACTED]', tokens: '[REDACTED]' },
    });
  });

  it('does not touch its input', () => {
    const input = { pin: PIN, nested: { token: TOKEN } };
    redactDeep(input);
    expect(input).toEqual({ pin: PIN, nested: { token: TOKEN } });
  });

  it('takes its own allow-list: nothing outside it is spared', () => {
    const result = redactDeep({ jobKey: 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4', mine: 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4', code: 133005 }, ['mine', /^code$/]);
    expect(result).toEqual({ jobKey: '[token redacted]', mine: 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4', code: 133005 });
  });

  it('exports the dead-letter allow-list it uses by default', () => {
    expect(DEAD_LETTER_ALLOW).toContain('phoneNumberId');
    expect(redactDeep({ rawBodyBytes: 123_456 })).toEqual({ rawBodyBytes: 123_456 });
    expect(redactDeep({ rawBodyBytes: 123_456 }, [])).toEqual({ rawBodyBytes: '[6 digits redacted]' });
  });

  it('survives odd input: dates, cycles, deep nesting, __proto__ keys', () => {
    const cyclic: Record<string, unknown> = { pin: PIN };
    cyclic.self = cyclic;
    let deep: unknown = { pin: PIN };
    for (let level = 0; level < 10_000; level += 1) deep = [deep];

    expect(redactDeep({ at: new Date(Date.UTC(2026, 0, 1)) })).toEqual({ at: '2026-01-01T00:00:00.000Z' });
    expect(redactDeep(cyclic)).toEqual({ pin: '[REDACTED]', self: '[circular]' });
    expect(JSON.stringify(redactDeep(deep))).not.toContain(PIN);
    const parsed = redactDeep(JSON.parse('{"__proto__":{"pin":"024680"}}')) as object;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(JSON.stringify(parsed)).toBe('{"__proto__":{"pin":"[REDACTED]"}}');
  });
});

describe('Meta error codes in text', () => {
  it('keeps "(#133005)" readable while a bare 6-digit run is still masked', async () => {
    const { redactDeep } = await import('../../shared/domain/redaction.ts');
    const out = redactDeep({ graphError: { message: '(#133005) PIN does not match; tried 482913' } }) as { graphError: { message: string } };
    expect(out.graphError.message).toBe('(#133005) PIN does not match; tried [6 digits redacted]');
  });
});
