/**
 * An API transformer that retries what is safe to retry: a request sent on a keep-alive socket the
 * server had just closed (ECONNRESET / "socket hang up": the request never reached it), Telegram's
 * flood control (429 with retry_after, waited out when short), and a call to a group that was
 * upgraded to a supergroup (400 with migrate_to_chat_id: sent again to the new chat id, e.g. the
 * reply to a note that was sent just before the upgrade).
 *
 * A transformer sees the Bot API's answer before grammY turns it into a GrammyError: a refusal
 * arrives as a resolved `{ ok: false, error_code, parameters }`, only network failures throw.
 */
import { HttpError, type Transformer } from 'grammy';

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
    let migrated = false;
    for (let attempt = 0; ; attempt++) {
      // Long polls are retried by grammY's own loop.
      const mayRetry = attempt < retries && method !== 'getUpdates';
      let res;
      try {
        res = await prev(method, payload, signal);
      } catch (e) {
        if (mayRetry && isConnectionReset(e)) continue;
        throw e;
      }
      if (res.ok || !mayRetry) return res;
      const wait = res.error_code === 429 ? res.parameters?.retry_after : undefined;
      if (wait !== undefined && wait <= maxWait) {
        await sleep(wait * 1000);
        continue;
      }
      const movedTo = res.parameters?.migrate_to_chat_id;
      if (movedTo !== undefined && !migrated && typeof payload === 'object' && payload !== null && 'chat_id' in payload) {
        migrated = true;
        payload = { ...payload, chat_id: movedTo };
        continue;
      }
      return res;
    }
  };
}
