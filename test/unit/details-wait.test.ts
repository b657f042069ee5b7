import { describe, expect, it } from 'vitest';
import { parseWaitFromDetails } from '../../shared/graph/details-wait.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const MIN = 60;
const HOUR = 3600;
const DAY = 86_400;

describe('parseWaitFromDetails', () => {
  it.each<[string, number]>([
    ['Limit reached; retry after 72 hours.', 72 * HOUR],
    ['Too many PIN attempts. Try again in 12 hours', 12 * HOUR],
    ['Please wait 30 minutes before trying again', 30 * MIN],
    ['Retry after 90 seconds', 90],
    ['1 day', DAY],
    ['Blocked for 2 days', 2 * DAY],
    ['retry in 72h', 72 * HOUR],
    ['wait 45 mins', 45 * MIN],
    ['try again in 1.5 hours', 1.5 * HOUR],
    ['try again in an hour', HOUR],
    ['retry after 1 day and 2 hours', DAY + 2 * HOUR],
    ['retry after 1 day, 2 hours and 30 minutes', DAY + 2 * HOUR + 30 * MIN],
    ['TRY AGAIN IN 12 HOURS', 12 * HOUR],
    // A duration introduced by a wait cue beats one that describes something else.
    ['3 attempts in the last 1 hour were wrong; try again in 12 hours', 12 * HOUR],
    ['5 wrong PINs within the last 1 hour. Locked 24 hours', 24 * HOUR],
  ])('%j → %d s', (details, seconds) => {
    // Act
    const result = parseWaitFromDetails(details, NOW);

    // Assess
    expect(result).toBe(seconds);
  });

  it.each<[string, number]>([
    ['Try again after 2026-11-26T00:00:00Z', 12 * HOUR],
    ['Try again after 2026-11-26T00:00:00.000Z.', 12 * HOUR],
    ['locked until 2026-11-25T14:30:00+01:00', HOUR + 30 * MIN],
    ['locked until 2026-11-25 13:00:00 (UTC)', HOUR],
  ])('reads the ISO timestamp in %j as %d s from now', (details, seconds) => {
    expect(parseWaitFromDetails(details, NOW)).toBe(seconds);
  });

  it('reads a unix timestamp in seconds or milliseconds', () => {
    const inSixHours = NOW / 1000 + 6 * HOUR;
    expect(parseWaitFromDetails(`retry_after=${inSixHours}`, NOW)).toBe(6 * HOUR);
    expect(parseWaitFromDetails(`unlock at ${inSixHours * 1000}`, NOW)).toBe(6 * HOUR);
  });

  it('prefers an explicit point in time over a duration', () => {
    expect(parseWaitFromDetails('Locked for 12 hours, until 2026-11-25T18:00:00Z', NOW)).toBe(6 * HOUR);
  });

  it('gives 0 for a point already past', () => {
    expect(parseWaitFromDetails('Try again after 2026-11-25T11:00:00Z', NOW)).toBe(0);
  });

  it.each([
    '',
    'Too many PIN attempts.',
    'Something went wrong',
    'PIN 123456 rejected',
    'number 15550783881 locked',
    // Ten digits far from now are an id, not a deadline.
    'object 1234567890 locked',
    'retry after 0 hours',
    'wait 5 ms',
  ])('understands nothing in %j', (details) => {
    expect(parseWaitFromDetails(details, NOW)).toBeUndefined();
  });

  it('reads only the start of a very long text (bounded work)', () => {
    // Prepare: the quantities go on far past what is read
    const long = `retry after ${'1 day and '.repeat(5000)}1 day`;

    // Act
    const result = parseWaitFromDetails(long, NOW);

    // Assess: a finite sum of what fits in the first 2,000 characters
    expect(result).toBeGreaterThan(DAY);
    expect(result).toBeLessThan(250 * DAY);
  });
});
