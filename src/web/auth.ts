/**
 * Optional API keys (VOICEMOOD_API_KEYS, comma-separated; or VOICEMOOD_API_KEYS_FILE). When set,
 * every API call needs `Authorization: Bearer <key>`. Keys are compared in constant time through
 * their SHA-256 digests, registered for log redaction, and named in logs and rate-limit buckets
 * only by their position ("key 1"), never by value.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readSecret, type Env } from '../util/config.ts';
import { registerSecret } from '../util/log.ts';

export interface ApiKeys {
  /** Whether keys are required at all. */
  readonly required: boolean;
  /** The 1-based position of the key in the header, or undefined when missing or unknown. */
  identify(authorization: string | undefined): number | undefined;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export function apiKeys(keys: readonly string[]): ApiKeys {
  const digests = keys.map(digest);
  return {
    required: digests.length > 0,
    identify(authorization) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
      if (!m) return undefined;
      const d = digest(m[1]);
      let found: number | undefined;
      // Compare with every key (no early exit) so timing does not tell which one matched.
      digests.forEach((k, i) => {
        if (timingSafeEqual(k, d) && found === undefined) found = i + 1;
      });
      return found;
    },
  };
}

export function apiKeysFromEnv(env: Env): ApiKeys {
  const raw = readSecret(env, 'VOICEMOOD_API_KEYS') ?? '';
  const keys = raw
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  for (const k of keys) registerSecret(k); // each key on its own is a secret too
  return apiKeys(keys);
}
