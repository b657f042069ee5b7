/** What Meta's `X-Business-Use-Case-Usage` header says about a throttle. */
export interface UsageThrottle {
  /** Seconds until Meta lifts it (`estimated_time_to_regain_access` is in minutes); absent when it says nothing. */
  regainAfterSeconds?: number;
  /** The business ids the header names as throttled (those with a regain time; all it names when none has one). */
  businesses: string[];
}

/**
 * Reads the usage header: `{"<business id>": [{"type": ..., "call_count": ..., "estimated_time_to_regain_access": minutes}]}`.
 * An absent or unreadable header names no business: the throttle is then the whole app's.
 */
export function readUsageHeader(header: string | null): UsageThrottle {
  if (!header) return { businesses: [] };
  let usage: unknown;
  try {
    usage = JSON.parse(header);
  } catch {
    return { businesses: [] };
  }
  if (typeof usage !== 'object' || usage === null || Array.isArray(usage)) return { businesses: [] };
  const regainOf = (entries: unknown) =>
    (Array.isArray(entries) ? entries : [])
      .map((entry: { estimated_time_to_regain_access?: unknown }) => entry?.estimated_time_to_regain_access)
      .filter((value): value is number => typeof value === 'number' && Number.isFinite(value) && value > 0);
  const named = Object.entries(usage as Record<string, unknown>).filter(([id]) => /^\d{1,20}$/.test(id));
  const waiting = named.filter(([, entries]) => regainOf(entries).length > 0);
  const minutes = waiting.flatMap(([, entries]) => regainOf(entries));
  return {
    ...(minutes.length > 0 ? { regainAfterSeconds: Math.max(...minutes) * 60 } : {}),
    businesses: (waiting.length > 0 ? waiting : named).map(([id]) => id),
  };
}
