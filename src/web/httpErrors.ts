/**
 * Typed errors as HTTP answers: every error the API sends is JSON `{ error, code }` where `error`
 * is a sentence for people and `code` a VoicemoodError code, with the status that code deserves.
 * Fastify's own errors (body too large, bad multipart, bad JSON …) are turned into the same shape
 * here, so that no framework message or stack trace reaches a caller.
 */
import { formatBytes } from '../audio/limits.ts';
import { VoicemoodError, toVoicemoodError, type ErrorCode } from '../domain/errors.ts';

const STATUS: Readonly<Record<ErrorCode, number>> = {
  bad_input: 400,
  undecodable: 415,
  too_short: 422,
  silent: 422,
  too_long: 422,
  too_large: 413,
  forbidden: 403,
  not_found: 404,
  busy: 429,
  rate_limited: 429,
  timeout: 503,
  model_missing: 503,
  model_invalid: 503,
  unsafe_checkpoint: 503,
  checkpoint_mismatch: 503,
  download_failed: 503,
  internal: 500,
};

export function statusFor(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

export interface ErrorBody {
  error: string;
  code: ErrorCode | 'unauthorized';
}

/** A framework or Node error (anything with a statusCode / code) as a VoicemoodError. */
export function fromFrameworkError(e: unknown, maxBytes: number): VoicemoodError {
  if (e instanceof VoicemoodError) return e;
  const err = e as { code?: string; statusCode?: number; validation?: unknown } | undefined;
  const tooLarge = () =>
    new VoicemoodError('too_large', `This upload is larger than ${formatBytes(maxBytes)}, the most we accept. Please send a shorter recording.`, {
      details: { maxBytes },
    });
  switch (err?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.code === 'FST_REQ_FILE_TOO_LARGE'
        ? tooLarge()
        : new VoicemoodError('bad_input', 'This form has too many parts: send one audio file in the field "file".');
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new VoicemoodError('bad_input', 'The request body could not be read: send the audio as the raw body or as the multipart field "file".', {
        cause: e,
      });
    default:
      break; // any other code: decided by its status below
  }
  if (err?.statusCode === 413) return tooLarge();
  if (typeof err?.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new VoicemoodError('bad_input', 'The request could not be read: send the audio as the raw body or as the multipart field "file".', { cause: e });
  }
  return toVoicemoodError(e);
}
