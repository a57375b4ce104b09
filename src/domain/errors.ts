/**
 * Typed errors. Every failure a user can cause or meet has a code and a sentence that can be shown
 * to them as it is; `details` carries what logs need (never secrets, never audio).
 */
export type ErrorCode =
  | 'bad_input' // arguments or a request that make no sense
  | 'too_large' // file above the size limit
  | 'too_long' // audio above a hard duration bound
  | 'too_short' // audio shorter than the model can judge
  | 'silent' // nothing above the energy floor
  | 'undecodable' // the bytes are not audio we can decode
  | 'timeout' // an operation ran past its deadline
  | 'busy' // the engine's queue is full: try again later
  | 'rate_limited' // this user or chat sent too much
  | 'model_missing' // no converted model where one was expected
  | 'model_invalid' // a model file that is not ours or is damaged
  | 'unsafe_checkpoint' // model.pt asks for something we refuse to run
  | 'checkpoint_mismatch' // a tensor is missing or has the wrong shape
  | 'download_failed' // fetching model files failed or they failed verification
  | 'forbidden' // the caller may not do this (e.g. not an admin)
  | 'not_found'
  | 'internal';

export class VoicemoodError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  /** Seconds after which retrying makes sense (busy, rate_limited). */
  readonly retryAfterS: number | undefined;

  constructor(code: ErrorCode, message: string, options: { details?: Record<string, unknown>; cause?: unknown; retryAfterS?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VoicemoodError';
    this.code = code;
    this.details = options.details ?? {};
    this.retryAfterS = options.retryAfterS;
  }
}

export function isVoicemoodError(e: unknown, code?: ErrorCode): e is VoicemoodError {
  return e instanceof VoicemoodError && (code === undefined || e.code === code);
}

/** Wraps anything thrown into a VoicemoodError, keeping typed ones as they are. */
export function toVoicemoodError(e: unknown): VoicemoodError {
  if (e instanceof VoicemoodError) return e;
  return new VoicemoodError('internal', 'Something went wrong on our side while handling this.', { cause: e });
}
