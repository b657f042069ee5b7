/**
 * Reads "how long to wait" out of Meta's free-text `error_data.details` (PIN lockouts 133008/133009).
 * The format is undocumented, so this understands the shapes seen or plausible and gives up on the rest:
 * an explicit point in time wins over a duration, and when several durations appear the one introduced by a
 * wait cue ("after", "in", "wait", ...) is preferred; among equals the longest is taken (the safe side).
 */

const SECOND = 1;
const MINUTE = 60;
const HOUR = 3600;
const DAY = 86_400;

/** Unit words → seconds. Single letters only count when glued to the number ("72h"), see DURATION. */
const UNIT_SECONDS: ReadonlyArray<[RegExp, number]> = [
  [/^(?:s|secs?|seconds?)$/i, SECOND],
  [/^(?:m|mins?|minutes?)$/i, MINUTE],
  [/^(?:h|hrs?|hours?)$/i, HOUR],
  [/^(?:d|days?)$/i, DAY],
  [/^(?:w|wks?|weeks?)$/i, 7 * DAY],
];

const LONG_UNIT = '(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|wks?)';
const SHORT_UNIT = '(?:s|m|h|d|w)';
/** One quantity: "72 hours", "12hrs", "72h", "1.5 days", "an hour". */
const ONE = `(?:(\\d+(?:\\.\\d+)?)\\s*(${LONG_UNIT})|(\\d+(?:\\.\\d+)?)(${SHORT_UNIT})|\\b(an?|one)\\s+(${LONG_UNIT}))\\b`;
/** Quantities that add up: "1 day 2 hours", "1 day, 2 hours and 30 minutes". */
const DURATION = new RegExp(`${ONE}(?:(?:\\s*,\\s*|\\s+and\\s+|\\s+)${ONE})*`, 'gi');
const CUE = /\b(?:after|in|wait|waiting|for|retry|again|within|another|lock(?:ed)?|blocked)\s*(?:about|approximately|approx\.?|~|at\s+least)?\s*$/i;

/** ISO-8601 date-time; without a zone it is read as UTC (Graph's timestamps are). */
const ISO = /\b(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?/i;
/** A bare 10-digit (seconds) or 13-digit (milliseconds) epoch number. */
const EPOCH = /(?<![\d.])(\d{10}|\d{13})(?![\d.])/g;
/** An epoch number further than this from now is an id or a count, not a deadline. */
const EPOCH_PLAUSIBLE_MS = 366 * DAY * 1000;

/**
 * Seconds to wait, from a lockout's `details` text, relative to `now` (ms since the epoch).
 * Understands durations ("retry after 72 hours", "try again in 12 hours", "wait 30 minutes", "after 90 seconds",
 * "1 day", "72h", "1 day and 2 hours") and points in time (an ISO-8601 timestamp, or a unix timestamp in seconds or
 * milliseconds within a year of now). A point in the past gives 0. Undefined when nothing is understood.
 */
export function parseWaitFromDetails(details: string, now: number): number | undefined {
  if (typeof details !== 'string' || details.length === 0) return undefined;
  const text = details.slice(0, 2000); // Bounded work on hostile input.
  const until = pointInTime(text, now);
  if (until !== undefined) return Math.max(0, Math.ceil((until - now) / 1000));
  return duration(text);
}

function pointInTime(text: string, now: number): number | undefined {
  const iso = ISO.exec(text);
  if (iso) {
    const zone = iso[3] === undefined ? 'Z' : iso[3].toUpperCase() === 'Z' ? 'Z' : normaliseOffset(iso[3]);
    const at = Date.parse(`${iso[1]}T${iso[2]}${zone}`);
    if (Number.isFinite(at)) return at;
  }
  for (const match of text.matchAll(EPOCH)) {
    const digits = match[1]!;
    const at = digits.length === 10 ? Number(digits) * 1000 : Number(digits);
    if (Math.abs(at - now) <= EPOCH_PLAUSIBLE_MS) return at;
  }
  return undefined;
}

function normaliseOffset(offset: string): string {
  return offset.includes(':') ? offset : `${offset.slice(0, 3)}:${offset.slice(3)}`;
}

function duration(text: string): number | undefined {
  const found: Array<{ seconds: number; cued: boolean }> = [];
  for (const match of text.matchAll(DURATION)) {
    const seconds = sumQuantities(match[0]);
    if (seconds === undefined || seconds <= 0) continue;
    found.push({ seconds, cued: CUE.test(text.slice(Math.max(0, match.index - 40), match.index)) });
  }
  if (found.length === 0) return undefined;
  const cued = found.filter((entry) => entry.cued);
  const pool = cued.length > 0 ? cued : found;
  return Math.ceil(Math.max(...pool.map((entry) => entry.seconds)));
}

function sumQuantities(phrase: string): number | undefined {
  const one = new RegExp(ONE, 'gi');
  let total = 0;
  for (const part of phrase.matchAll(one)) {
    const amount = part[1] ?? part[3] ?? (part[5] ? '1' : undefined);
    const unit = part[2] ?? part[4] ?? part[6];
    const seconds = unit === undefined ? undefined : UNIT_SECONDS.find(([pattern]) => pattern.test(unit))?.[1];
    if (amount === undefined || seconds === undefined) return undefined;
    total += Number(amount) * seconds;
  }
  return Number.isFinite(total) ? total : undefined;
}
