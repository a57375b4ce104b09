/**
 * The Bot API calls' retries, as one API transformer:
 * - flood control (429 with retry_after, waited out when short) and Telegram's own failures (5xx,
 *   retried after 3 s, then 6 s): @grammyjs/auto-retry, bounded here by attempts, by the longest
 *   retry_after waited for, and by a ceiling on the total time spent waiting, so that a reply is
 *   never held for long;
 * - a request sent on a keep-alive socket the server had just closed (ECONNRESET / "socket hang
 *   up": the request never reached it), sent again at once. Other network failures are not
 *   retried: the request may have arrived (a message sent twice), and auto-retry would retry them
 *   without end;
 * - a call to a group that was upgraded to a supergroup (400 with migrate_to_chat_id), sent again
 *   to the new chat id (e.g. the reply to a note sent just before the upgrade): auto-retry does
 *   not do that.
 * Long polls (getUpdates) are left to grammY's own polling loop.
 *
 * A transformer sees the Bot API's answer before grammY turns it into a GrammyError: a refusal
 * arrives as a resolved `{ ok: false, error_code, parameters }`, only network failures throw.
 */
/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-redundant-type-constituents -- grammY's Transformer is generic over every API method, so its payload and result are typed `any` here */
import { autoRetry } from '@grammyjs/auto-retry';
import { HttpError, type Transformer } from 'grammy';

export interface RetryOptions {
  /** Attempts after the first one, for each kind (flood control and 5xx together; connection resets); default 2. */
  retries?: number;
  /** Longest retry_after we wait for, in seconds (default 30); a longer one fails the call at once. */
  maxRetryAfterS?: number;
  /** Ceiling on the time one call spends waiting between attempts, in seconds (default 60); then the last refusal is its answer. */
  maxWaitS?: number;
}

type Prev = Parameters<Transformer>[0];
type Result = Awaited<ReturnType<Prev>>;

const RESET = new Set(['ECONNRESET', 'EPIPE']);

export function isConnectionReset(e: unknown): boolean {
  if (!(e instanceof HttpError)) return false;
  const cause = e.error as { code?: unknown; message?: unknown } | undefined;
  return (typeof cause?.code === 'string' && RESET.has(cause.code)) || (typeof cause?.message === 'string' && cause.message.includes('socket hang up'));
}

export function retryTransformer(options: RetryOptions = {}): Transformer {
  const retries = options.retries ?? 2;
  const maxWaitMs = (options.maxWaitS ?? 60) * 1000;
  // rethrowHttpErrors: network failures other than resets are not retried (see above).
  const flood = autoRetry({
    maxRetryAttempts: retries,
    maxDelaySeconds: options.maxRetryAfterS ?? 30,
    rethrowHttpErrors: true,
    rethrowInternalServerErrors: false,
  });

  return async (prev, method, payload, signal) => {
    if (method === 'getUpdates') return prev(method, payload, signal);
    let ceilingHit = false;
    const cutters = new Set<WaitCutter>();
    const cutAll = (): void => {
      for (const c of cutters) c.cut();
    };
    const timer = setTimeout(() => {
      ceilingHit = true;
      cutAll();
    }, maxWaitMs);
    signal?.addEventListener('abort', cutAll);
    const send = async (p: typeof payload): Promise<Result> => {
      const cutter = new WaitCutter();
      cutters.add(cutter);
      let attempts = 0;
      let last: Result | undefined;
      let lastAttempt = false;
      const attempt = (async (m: string, q: Record<string, unknown>) => {
        attempts++;
        for (let resets = 0; ; resets++) {
          try {
            // Under the caller's signal only: a slow upload is not cut short by the ceiling.
            last = await prev(m as never, q as never, signal);
            // No wait after this one: cut the wait auto-retry is about to start (a turn of the event loop later).
            if (!last.ok && (attempts > retries || ceilingHit || signal?.aborted)) {
              lastAttempt = true;
              setImmediate(() => cutter.cut());
            }
            return last;
          } catch (e) {
            if (resets < retries && isConnectionReset(e) && !ceilingHit && !signal?.aborted) continue;
            throw e;
          }
        }
      }) as Prev;
      try {
        return await flood(attempt, method, p, cutter as unknown as typeof signal);
      } catch (e) {
        // A wait was cut short (the ceiling, the last attempt): the refusal that caused it is the answer.
        if (cutter.cutAWait && !signal?.aborted && (ceilingHit || lastAttempt) && last !== undefined && !last.ok) return last;
        throw e;
      } finally {
        cutters.delete(cutter);
      }
    };
    try {
      const res = await send(payload);
      const movedTo = res.ok ? undefined : res.parameters?.migrate_to_chat_id;
      if (movedTo !== undefined && typeof payload === 'object' && payload !== null && 'chat_id' in payload) return await send({ ...payload, chat_id: movedTo });
      return res;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', cutAll);
    }
  };
}

/**
 * What auto-retry gets as its signal: it only listens for "abort" during its waits (the requests
 * run under the caller's own signal, see `attempt`). Unlike an AbortSignal it can be cut again and
 * again, which ends whichever wait is running, and nothing else.
 */
class WaitCutter {
  readonly aborted = false;
  /** Whether a wait was running when cut (auto-retry then rejects with an error of its own). */
  cutAWait = false;
  readonly #listeners = new Set<() => void>();

  addEventListener(_type: 'abort', listener: () => void): void {
    this.#listeners.add(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    this.#listeners.delete(listener);
  }

  cut(): void {
    if (this.#listeners.size > 0) this.cutAWait = true;
    for (const l of [...this.#listeners]) l();
  }
}
