/**
 * Downloads a Telegram file: getFile, then GET <apiRoot>/file/bot<token>/<file_path>.
 * The public Bot API refuses getFile above 20 MB, so bigger files are refused before any request.
 * A local Bot API server started with --local answers getFile with an absolute path on its own
 * disk instead (and serves no download route): such a file is read from that path, which works
 * when the bot runs on the same machine or shares the server's working directory. Only then:
 * a path is read only when the API root is loopback or TELEGRAM_LOCAL_FILES=1 says so, since any
 * other server could otherwise make the bot read (and analyse) any file on this machine.
 * The download URL and a local path both hold the token: neither goes into an error, a log line
 * or a reply.
 */
import { createReadStream } from 'node:fs';
import { isAbsolute } from 'node:path';
import { GrammyError, type Api } from 'grammy';
import { VoicemoodError } from '../../domain/errors.ts';
import { isLoopbackUrl } from '../../util/loopback.ts';

/** getFile's limit on the public Bot API server. */
export const TELEGRAM_GET_FILE_LIMIT = 20 * 1024 * 1024;

export interface DownloadTarget {
  api: Api;
  token: string;
  apiRoot: string;
  /** Read absolute file_paths from disk even though apiRoot is not loopback (TELEGRAM_LOCAL_FILES=1). */
  localFiles?: boolean;
}

/** Whether an absolute file_path from this server may be read from local disk. */
export function mayReadLocalFiles(target: Pick<DownloadTarget, 'apiRoot' | 'localFiles'>): boolean {
  return target.localFiles === true || isLoopbackUrl(target.apiRoot);
}

export function tooLargeError(sizeBytes: number | undefined, limitBytes: number): VoicemoodError {
  const mb = (n: number): string => (n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0);
  return new VoicemoodError(
    'too_large',
    `This file is ${sizeBytes === undefined ? 'too big' : `${mb(sizeBytes)} MB`}; Telegram lets bots download files up to ${mb(limitBytes)} MB. Please send a shorter recording.`,
    { details: { sizeBytes, limitBytes } },
  );
}

export async function downloadTelegramFile(
  target: DownloadTarget,
  fileId: string,
  knownSize: number | undefined,
  options: { limitBytes?: number; signal?: AbortSignal } = {},
): Promise<Uint8Array> {
  const limit = Math.min(options.limitBytes ?? TELEGRAM_GET_FILE_LIMIT, TELEGRAM_GET_FILE_LIMIT);
  if (knownSize !== undefined && knownSize > limit) throw tooLargeError(knownSize, limit);
  let filePath: string | undefined;
  let size = knownSize;
  try {
    // grammY types its signal with the abort-controller shim; a native AbortSignal works at run time.
    const file = await target.api.getFile(fileId, options.signal as Parameters<Api['getFile']>[1]);
    filePath = file.file_path;
    size = file.file_size ?? size;
  } catch (e) {
    if (e instanceof GrammyError && /too big/i.test(e.description)) throw tooLargeError(size, limit);
    if (options.signal?.aborted) throw options.signal.reason;
    throw downloadFailed(e);
  }
  if (size !== undefined && size > limit) throw tooLargeError(size, limit);
  if (!filePath) throw downloadFailed(new Error('getFile returned no file_path'));
  if (isAbsolute(filePath)) {
    if (!mayReadLocalFiles(target)) {
      // The reason goes to the log (through the caller's "refused" line), never the path.
      throw downloadFailed(
        new Error("getFile answered with a path on the server's disk, read only from a loopback TELEGRAM_API_ROOT or with TELEGRAM_LOCAL_FILES=1"),
        { localPathRefused: true },
      );
    }
    return readBounded(createReadStream(filePath, { ...(options.signal ? { signal: options.signal } : {}) }), limit, options.signal);
  }
  const response = await fetchWithRetry(`${target.apiRoot}/file/bot${target.token}/${filePath}`, options.signal);
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    throw downloadFailed(new Error(`HTTP ${response.status}`));
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await response.body?.cancel();
    throw tooLargeError(declared, limit);
  }
  return readBounded(response.body ?? [], limit, options.signal);
}

/**
 * Reads in chunks so that a server that lies about the length cannot make us buffer without bound.
 * A connection cut mid-body (or a missing local file) is a failed download, reported by its reason
 * only: the errors of fetch and fs carry the URL or path, which hold the token.
 */
async function readBounded(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, limit: number, signal: AbortSignal | undefined): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of body) {
      total += chunk.length;
      if (total > limit) throw tooLargeError(total, limit);
      chunks.push(chunk);
    }
  } catch (e) {
    if (e instanceof VoicemoodError) throw e;
    if (signal?.aborted) throw signal.reason;
    throw downloadFailed(new Error(reasonOf(e)));
  }
  return Buffer.concat(chunks);
}

/**
 * A GET is safe to repeat: a keep-alive socket closed by the server just as we reused it
 * ("other side closed", ECONNRESET) gets a fresh try. Errors keep only the reason, never the URL
 * (it holds the token).
 */
async function fetchWithRetry(url: string, signal: AbortSignal | undefined, retries = 2): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(url, { signal: signal ?? null });
    } catch (e) {
      if (signal?.aborted || attempt >= retries) throw downloadFailed(new Error(reasonOf(e)));
    }
  }
}

function reasonOf(e: unknown): string {
  // fetch puts the reason in `cause`; fs errors carry their own code (ENOENT) and the path in the message.
  const own = (e as { code?: unknown } | undefined)?.code;
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const code = typeof own === 'string' ? own : typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : undefined;
  return `${e instanceof Error ? e.name : 'Error'}${code ? ` (${code})` : ''}`;
}

function downloadFailed(cause: unknown, details: Record<string, unknown> = {}): VoicemoodError {
  return new VoicemoodError('download_failed', 'I could not download this file from Telegram. Please try sending it again.', {
    cause,
    details: { telegramDownload: true, ...details },
  });
}
