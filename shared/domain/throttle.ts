import type { AppGates } from '../ledger/port.ts';

/**
 * When Meta's throttle ends for a number: the app-wide one, its business's, or (business unknown) any business's,
 * since the number may belong to it. Undefined when nothing throttles it now.
 */
export function throttleFor(app: Pick<AppGates, 'throttledUntil' | 'businessThrottles'>, businessAccountId: string | undefined, now: number): number | undefined {
  const perBusiness = app.businessThrottles ?? {};
  const candidates = [app.throttledUntil ?? 0, ...(businessAccountId === undefined ? Object.values(perBusiness) : [perBusiness[businessAccountId] ?? 0])];
  const until = Math.max(...candidates);
  return until > now ? until : undefined;
}

/**
 * The app item after a throttle until `until`: on the businesses Meta's usage header named, else on the whole app.
 * Never shortens a throttle already recorded; throttles that have ended are dropped.
 */
export function throttledApp(app: AppGates, until: number, businesses: readonly string[] | undefined, now: number): AppGates {
  if (!businesses || businesses.length === 0) return { ...app, throttledUntil: Math.max(until, app.throttledUntil ?? 0) };
  const live = Object.entries(app.businessThrottles ?? {}).filter(([, ends]) => ends > now);
  const next: Record<string, number> = Object.fromEntries(live);
  for (const business of businesses) next[business] = Math.max(until, next[business] ?? 0);
  return { ...app, businessThrottles: next };
}

/** Whether writing this throttle would change the app item (a read that learns nothing new writes nothing). */
export function throttleIsNews(app: AppGates, until: number, businesses: readonly string[] | undefined): boolean {
  if (!businesses || businesses.length === 0) return (app.throttledUntil ?? 0) < until;
  return businesses.some((business) => (app.businessThrottles?.[business] ?? 0) < until);
}
