/**
 * An API transformer that retries what is safe to retry: a request sent on a keep-alive socket the
 * server had just closed (ECONNRESET / "socket hang up": the request never reached it), and
 * Telegram's flood control (429 with retry_after, waited out when short).
 */
import { GrammyError, HttpError, type Transformer } from 'grammy';

export interface RetryOptions {
  /** Attempts after the first one (default 2). */
  retries?: number;
  /** Longest retry_after we wait for, in seconds (default 30). */
  maxRetryAfterS?: number;
  sleep?: (ms: number) => Promise<void>;
}

const RESET = new Set(['ECONNRESET', 'EPIPE']);

export function isConnectionReset(e: unknown): boolean {
  if (!(e instanceof HttpError)) return false;
  const cause = e.error as { code?: unknown; message?: unknown } | undefined;
  return (typeof cause?.code === 'string' && RESET.has(cause.code)) || (typeof cause?.message === 'string' && cause.message.includes('socket hang up'));
}

export function retryTransformer(options: RetryOptions = {}): Transformer {
  const retries = options.retries ?? 2;
  const maxWait = options.maxRetryAfterS ?? 30;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return async (prev, method, payload, signal) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await prev(method, payload, signal);
      } catch (e) {
        // Long polls are retried by grammY's own loop.
        if (attempt >= retries || method === 'getUpdates') throw e;
        if (isConnectionReset(e)) continue;
        const wait = e instanceof GrammyError && e.error_code === 429 ? e.parameters.retry_after : undefined;
        if (wait !== undefined && wait <= maxWait) {
          await sleep(wait * 1000);
          continue;
        }
        throw e;
      }
    }
  };
}
