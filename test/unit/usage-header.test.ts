import { describe, expect, it } from 'vitest';
import { throttledApp, throttleFor } from '../../shared/domain/throttle.ts';
import { readUsageHeader } from '../../shared/graph/usage-header.ts';

const entry = (minutes?: number) => ({ type: 'whatsapp_business_management', call_count: 100, ...(minutes === undefined ? {} : { estimated_time_to_regain_access: minutes }) });

describe("Meta's usage header", () => {
  it.each([
    ['absent: the whole app', null, { businesses: [] }],
    ['unreadable: the whole app', '{not json', { businesses: [] }],
    ['an array: the whole app', '[1,2]', { businesses: [] }],
    ['one business with a regain time', JSON.stringify({ '900': [entry(20)] }), { regainAfterSeconds: 1200, businesses: ['900'] }],
    ['only the businesses that wait, longest regain', JSON.stringify({ '900': [entry(0)], '901': [entry(5), entry(30)] }), { regainAfterSeconds: 1800, businesses: ['901'] }],
    ['no regain time anywhere: every business named', JSON.stringify({ '900': [entry()], '901': [entry(0)] }), { businesses: ['900', '901'] }],
    ['keys that are not ids are ignored', JSON.stringify({ 'constructor': [entry(9)], '900': [entry(1)] }), { regainAfterSeconds: 60, businesses: ['900'] }],
  ])('%s', (_name, header, expected) => {
    expect(readUsageHeader(header)).toEqual(expected);
  });
});

describe('throttles on the app item', () => {
  const NOW = 1_000_000;
  it('a named business is throttled alone; an unnamed throttle is the whole app; never shortened; ended ones dropped', () => {
    const app = { version: 1, businessThrottles: { '800': NOW - 1, '900': NOW + 5000 } };
    expect(throttledApp(app, NOW + 1000, ['900', '901'], NOW)).toEqual({ version: 1, businessThrottles: { '900': NOW + 5000, '901': NOW + 1000 } });
    expect(throttledApp(app, NOW + 1000, undefined, NOW)).toEqual({ ...app, throttledUntil: NOW + 1000 });
  });

  it("a number waits for its business's throttle, the app's, or (business unknown) any business's", () => {
    const app = { businessThrottles: { '900': NOW + 5000 }, throttledUntil: NOW + 100 };
    expect(throttleFor(app, '900', NOW)).toBe(NOW + 5000);
    expect(throttleFor(app, '901', NOW)).toBe(NOW + 100);
    expect(throttleFor(app, undefined, NOW)).toBe(NOW + 5000);
    expect(throttleFor({ businessThrottles: { '900': NOW + 5000 } }, '901', NOW)).toBeUndefined();
  });
});
