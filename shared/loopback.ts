/**
 * Whether a URL points at this machine: `localhost`, `::1` or any 127.x.x.x address. Only such an endpoint may
 * get the local run's dummy credentials, or a plain-http token (the local run and the tests).
 */
export function isLoopbackUrl(raw: string | undefined): boolean {
  if (!raw) return false;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}
