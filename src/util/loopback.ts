/** Whether a URL's host is this machine (127.0.0.0/8, ::1, localhost): plain http is acceptable only there. */
import { isIPv4, isIPv6 } from 'node:net';

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIPv4(host)) return host.startsWith('127.');
  if (isIPv6(host)) return host === '::1' || /^::ffff:(127\.|7f[0-9a-f]{2}:)/.test(host) || /^(0+:){7}0*1$/.test(host);
  return false;
}

/** Same for a whole URL string; false when it does not parse. */
export function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopbackHost(new URL(url).hostname);
  } catch {
    return false;
  }
}
