/**
 * Where model files may come from: https anywhere, plain http only from this machine (a local
 * mirror or the tests' file server); redirects only to https, or to loopback http when the
 * download itself started on loopback; and how large each file may be.
 */
import { VoicemoodError } from '../../domain/errors.ts';
import { isLoopbackHost } from '../../util/loopback.ts';

/** Redirect hops followed per request (Hugging Face needs one or two). */
export const MAX_REDIRECTS = 5;
/** The cap when the registry does not know a file's size. */
export const DEFAULT_MAX_BYTES = 4 * 1024 ** 3;
const SLACK_BYTES = 1024 ** 2;

/** A size cap near the registry's approximate size: 10 % more plus 1 MiB; 4 GiB when unknown. */
export function sizeCapFor(approxBytes: number | undefined): number {
  if (!approxBytes || !Number.isFinite(approxBytes) || approxBytes <= 0) return DEFAULT_MAX_BYTES;
  return Math.ceil(approxBytes * 1.1) + SLACK_BYTES;
}

/** Why `url` may not be downloaded from, or undefined when it may. */
export function refusalFor(url: URL, originIsLoopback: boolean): string | undefined {
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') {
    if (isLoopbackHost(url.hostname) && originIsLoopback) return undefined;
    return `plain http is only used for this machine (127.0.0.1, ::1, localhost), not ${url.host}; use https`;
  }
  return `${url.protocol} is not a download scheme (https only)`;
}

/** The URL a download starts from; throws `bad_input` with a sentence when it is not allowed. */
export function checkStartUrl(raw: string, what = 'The download URL'): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new VoicemoodError('bad_input', `${what} "${raw}" is not a valid URL (expected e.g. https://huggingface.co).`);
  }
  const why = refusalFor(url, isLoopbackHost(url.hostname));
  if (why) throw new VoicemoodError('bad_input', `${what} is refused: ${why}.`, { details: { scheme: url.protocol, host: url.host } });
  return url;
}
