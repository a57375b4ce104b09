/**
 * One deadline for a whole voice request — download, decode and inference (issue 7): whatever
 * hangs (a stalled download, a stuck engine), the handler ends with a polite "took too long"
 * instead of hanging. The signal is passed down so that the pieces that can stop early do; the
 * race makes sure the caller is answered even by pieces that cannot.
 */
import { VoicemoodError } from '../domain/errors.ts';

/** VOICEMOOD_REQUEST_TIMEOUT_MS default: generous for an hour-long file on a busy engine. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 180_000;

export interface RequestDeadline {
  /** Aborted (with a VoicemoodError 'timeout' as reason) when the time is up or the caller aborts. */
  signal: AbortSignal;
  /** Resolves like `work`, or rejects as soon as `signal` aborts. */
  race<T>(work: Promise<T>): Promise<T>;
  /** Stops the timer (call when the request is done). */
  clear(): void;
}

export function timeoutError(timeoutMs: number): VoicemoodError {
  return new VoicemoodError(
    'timeout',
    `This voice note took longer than ${Math.max(1, Math.round(timeoutMs / 1000))} s to process, so I stopped. Please try again in a moment.`,
    {
      details: { requestTimeoutMs: timeoutMs },
    },
  );
}

export function requestDeadline(timeoutMs: number, caller?: AbortSignal): RequestDeadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(timeoutError(timeoutMs)), timeoutMs);
  timer.unref();
  const onCaller = (): void => controller.abort(caller?.reason);
  if (caller?.aborted) onCaller();
  else caller?.addEventListener('abort', onCaller, { once: true });
  const signal = controller.signal;
  return {
    signal,
    race<T>(work: Promise<T>): Promise<T> {
      if (signal.aborted) {
        work.catch(() => undefined); // it may still settle later; nobody waits for it
        return Promise.reject(reasonOf(signal));
      }
      return new Promise<T>((resolve, reject) => {
        const onAbort = (): void => {
          work.catch(() => undefined);
          reject(reasonOf(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        work.then(
          (v) => {
            signal.removeEventListener('abort', onAbort);
            resolve(v);
          },
          (e: unknown) => {
            signal.removeEventListener('abort', onAbort);
            reject(e);
          },
        );
      });
    },
    clear(): void {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onCaller);
    },
  };
}

function reasonOf(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  return reason instanceof VoicemoodError ? reason : new VoicemoodError('timeout', 'The request was cancelled before it finished.', { cause: reason });
}
