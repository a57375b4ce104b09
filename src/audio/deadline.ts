/**
 * A decoding deadline plus the caller's AbortSignal, checked by in-process decoders between
 * chunks and used to kill ffmpeg.
 */
import { VoicemoodError, isVoicemoodError } from '../domain/errors.ts';

export class Deadline {
  readonly timeoutMs: number;
  readonly #end: number;
  readonly #signal: AbortSignal | undefined;

  /** `remainingMs` (default: all of `timeoutMs`) is what is left of it, e.g. after waiting in a queue. */
  constructor(timeoutMs: number, signal?: AbortSignal, remainingMs: number = timeoutMs) {
    this.timeoutMs = timeoutMs;
    this.#end = performance.now() + remainingMs;
    this.#signal = signal;
  }

  get remainingMs(): number {
    return Math.max(0, this.#end - performance.now());
  }

  get signal(): AbortSignal | undefined {
    return this.#signal;
  }

  /** The error to throw now, if any. */
  error(): VoicemoodError | undefined {
    if (this.#signal?.aborted) {
      const reason: unknown = this.#signal.reason;
      return isVoicemoodError(reason) ? reason : new VoicemoodError('timeout', 'The request was cancelled before the audio was decoded.', { cause: reason });
    }
    if (performance.now() > this.#end) return this.timeoutError();
    return undefined;
  }

  timeoutError(): VoicemoodError {
    return new VoicemoodError('timeout', `Decoding this audio took longer than ${Math.round(this.timeoutMs / 1000)} s, so I gave up.`, {
      details: { timeoutMs: this.timeoutMs },
    });
  }

  check(): void {
    const e = this.error();
    if (e) throw e;
  }
}
