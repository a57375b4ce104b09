/**
 * Resumable download of one file over HTTP(S).
 *
 * Bytes go to `<dest>.part` (with a small `<dest>.part.json` remembering the server's size and
 * ETag); an interrupted download resumes from the .part file with an HTTP Range request. Only a
 * complete file whose size (and sha256, when one is known) checks out is renamed to `dest`, so a
 * file at `dest` is always a verified one.
 *
 * Only https is fetched (plain http only from loopback), redirects are followed only to https (or
 * to loopback http from a loopback start) for at most MAX_REDIRECTS hops, and a body larger than
 * `maxBytes` is cut off and discarded (see urlPolicy.ts).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { VoicemoodError } from '../../domain/errors.ts';
import { isLoopbackHost } from '../../util/loopback.ts';
import { checkStartUrl, DEFAULT_MAX_BYTES, MAX_REDIRECTS, refusalFor } from './urlPolicy.ts';

export interface DownloadProgress {
  file: string;
  received: number;
  /** Undefined while the server has not said. */
  total: number | undefined;
}

export interface DownloadOptions {
  url: string;
  dest: string;
  /** Short name for messages and progress, e.g. "model.pt". */
  label?: string;
  /** A sha256 (hex) that the file must have; checked when given. */
  sha256?: string;
  /** Attempts after the first one (default 5). */
  retries?: number;
  /** First back-off delay, doubled after each failed attempt (default 1000 ms, at most 30 s). */
  backoffMs?: number;
  onProgress?: (p: DownloadProgress) => void;
  /** Told before each new attempt; `attempt` counts from 1. */
  onRetry?: (r: { attempt: number; attempts: number; delayMs: number; reason: string }) => void;
  signal?: AbortSignal;
  /** The largest file accepted (default 4 GiB): a larger one is cut off and discarded. */
  maxBytes?: number;
  /** Replaceable for tests; the global fetch otherwise. */
  fetchImpl?: typeof fetch;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** sha256 the server vouched for (Hugging Face X-Linked-Etag), when it sent one. */
  serverSha256: string | undefined;
  /** Bytes that were already on disk from an earlier, interrupted attempt. */
  resumedFrom: number;
}

interface PartInfo {
  url: string;
  total?: number;
  etag?: string;
  serverSha256?: string;
}

/** Failures worth another attempt: network errors, 5xx, 408, 429. */
class RetryableError extends Error {}

export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const { url, dest } = options;
  const label = options.label ?? dest;
  const retries = options.retries ?? 5;
  checkStartUrl(url);
  const part = `${dest}.part`;
  const partInfoPath = `${dest}.part.json`;
  await mkdir(dirname(dest), { recursive: true });

  let info: PartInfo = await readPartInfo(partInfoPath, url);
  let resumedFrom = existsSync(part) ? (await stat(part)).size : 0;
  if (resumedFrom > 0 && info.url !== url) {
    // A .part from another source cannot be continued.
    await rm(part, { force: true });
    resumedFrom = 0;
    info = { url };
  }
  let lastError: unknown;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) {
      const delay = Math.min(30_000, (options.backoffMs ?? 1000) * 2 ** (attempt - 1));
      options.onRetry?.({ attempt, attempts: retries + 1, delayMs: delay, reason: (lastError as Error).message });
      await sleep(delay, undefined, { signal: options.signal }).catch((e: unknown) => {
        throw options.signal?.reason instanceof Error ? options.signal.reason : e; // the caller's reason, not a generic AbortError
      });
    }
    try {
      await fetchOnce(options, part, info, label);
      await writeFile(partInfoPath, JSON.stringify(info));
      const verified = await verifyPart(part, info, options.sha256, label);
      await rename(part, dest);
      await rm(partInfoPath, { force: true });
      return { path: dest, bytes: verified.bytes, sha256: verified.sha256, serverSha256: info.serverSha256, resumedFrom };
    } catch (e) {
      if (options.signal?.aborted) {
        await writeFile(partInfoPath, JSON.stringify(info)).catch(() => undefined); // for the resume
        throw e;
      }
      if (!(e instanceof RetryableError)) {
        if (e instanceof VoicemoodError && e.details.discardPart) {
          await rm(part, { force: true });
          await rm(partInfoPath, { force: true });
        }
        throw e;
      }
      lastError = e;
      // Keep the .part (and what we learnt about it) for the next attempt.
      await writeFile(partInfoPath, JSON.stringify(info)).catch(() => undefined);
    }
  }
  throw new VoicemoodError(
    'download_failed',
    `Downloading ${label} failed after ${retries + 1} attempts (${(lastError as Error)?.message ?? 'unknown error'}). Run the same command again to resume.`,
    {
      cause: lastError,
      details: { url },
    },
  );
}

async function readPartInfo(path: string, url: string): Promise<PartInfo> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as PartInfo;
    return typeof parsed.url === 'string' ? parsed : { url };
  } catch {
    return { url };
  }
}

/**
 * One request: appends to the .part from where it ends. Records what the server told us (size,
 * ETag, sha256) in `info` as soon as it is known, so that a failed attempt still teaches the next.
 */
async function fetchOnce(options: DownloadOptions, part: string, info: PartInfo, label: string): Promise<void> {
  const doFetch = options.fetchImpl ?? fetch;
  let offset = existsSync(part) ? (await stat(part)).size : 0;
  if (info.total !== undefined && offset === info.total) return; // already complete
  if (info.total !== undefined && offset > info.total) {
    await rm(part, { force: true });
    offset = 0;
  }
  const headers: Record<string, string> = { 'user-agent': 'voicemood-model-pull', 'accept-encoding': 'identity' };
  if (offset > 0) {
    headers.range = `bytes=${offset}-`;
    // Only continue if the remote file is the same one we started (strong ETags only).
    if (info.etag && !info.etag.startsWith('W/')) headers['if-range'] = info.etag;
  }

  // Follow redirects ourselves so that the first hop's headers (X-Linked-Etag/Size) are seen.
  const originIsLoopback = isLoopbackHost(new URL(options.url).hostname);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let current = options.url;
  let response: Response | undefined;
  let linkedSize: number | undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    try {
      response = await doFetch(current, { headers, redirect: 'manual', signal: options.signal });
    } catch (e) {
      if (options.signal?.aborted) throw e;
      throw new RetryableError(`cannot reach ${new URL(current).host}: ${(e as Error).message}`, { cause: e });
    }
    const linkedEtag = response.headers.get('x-linked-etag')?.replace(/"/g, '');
    if (linkedEtag && /^[0-9a-f]{64}$/i.test(linkedEtag)) info.serverSha256 = linkedEtag.toLowerCase();
    const ls = Number(response.headers.get('x-linked-size'));
    if (Number.isSafeInteger(ls) && ls > 0) linkedSize = ls;
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      const next = new URL(location, current);
      const why = refusalFor(next, originIsLoopback);
      if (why) {
        throw new VoicemoodError('download_failed', `Downloading ${label}: refused to follow a redirect from ${new URL(current).host} (${why}).`, {
          details: { from: new URL(current).host, to: `${next.protocol}//${next.host}` },
        });
      }
      current = next.toString();
      continue;
    }
    break;
  }
  if (!response) throw new RetryableError('no response');
  const status = response.status;
  if (status >= 300 && status < 400) throw new VoicemoodError('download_failed', `Too many redirects while downloading ${label} from ${options.url}.`);
  if (status === 401 || status === 403) {
    // Hugging Face answers 401 for a repository that does not exist (or is private).
    await response.body?.cancel();
    throw new VoicemoodError(
      'download_failed',
      `${label} is not available at ${options.url} (HTTP ${status}: the repository does not exist or needs access). Check the model id, the mirror and the base URL.`,
      { details: { status } },
    );
  }
  if (status === 404) {
    await response.body?.cancel();
    throw new VoicemoodError(
      'download_failed',
      `${label} was not found at ${options.url} (HTTP 404). Check the model id, the --revision and the mirror or base URL.`,
      { details: { status } },
    );
  }
  if (status === 416) {
    // Our .part is at least as long as the file: trust the server's size, re-check from scratch.
    await response.body?.cancel();
    const total = totalFromContentRange(response.headers.get('content-range'));
    // Complete only if the size is the one we were told before (or we were never told one).
    if (total !== undefined && total === offset && (info.total === undefined || info.total === total)) {
      info.total = total;
      return;
    }
    await rm(part, { force: true });
    info.total = undefined;
    throw new RetryableError('the partial file does not fit the remote file; starting over');
  }
  if (status === 408 || status === 429 || status >= 500) {
    await response.body?.cancel();
    throw new RetryableError(`HTTP ${status}`);
  }
  if (status !== 200 && status !== 206) {
    await response.body?.cancel();
    throw new VoicemoodError('download_failed', `Downloading ${label} from ${options.url} failed with HTTP ${status}.`, { details: { status } });
  }

  let start = 0;
  let total: number | undefined;
  const length = Number(response.headers.get('content-length'));
  if (status === 206) {
    const range = /bytes (\d+)-(\d+)\/(\d+|\*)/.exec(response.headers.get('content-range') ?? '');
    start = range ? Number(range[1]) : Number.NaN;
    if (start !== offset) {
      await response.body?.cancel();
      await rm(part, { force: true });
      throw new RetryableError(`the server resumed at byte ${range?.[1]} instead of ${offset}; starting over`);
    }
    total = range && range[3] !== '*' ? Number(range[3]) : Number.isFinite(length) && response.headers.has('content-length') ? offset + length : undefined;
    if (info.total !== undefined && total !== undefined && total !== info.total) {
      const before = info.total;
      await response.body?.cancel();
      await rm(part, { force: true });
      info.total = undefined;
      throw new RetryableError(`the remote file changed size (${before} → ${total}); starting over`);
    }
  } else {
    // 200: a full body (first request, or the server ignored Range / the file changed).
    total = response.headers.has('content-length') && Number.isFinite(length) ? length : linkedSize;
  }
  if ((total ?? 0) > maxBytes) {
    await response.body?.cancel();
    throw tooLarge(label, maxBytes);
  }
  info.url = options.url;
  info.total = total;
  info.etag = response.headers.get('etag') ?? undefined;
  if (!response.body) throw new RetryableError('empty response body');

  let received = start;
  options.onProgress?.({ file: label, received, total });
  // Each chunk is on disk before the next is read, so after a broken connection the .part holds
  // exactly what arrived and the next attempt asks for the rest.
  const fh = await open(part, start > 0 ? 'a' : 'w');
  try {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      // Enforced while streaming: a server that sends more than it announced is cut off too.
      if (received + chunk.byteLength > maxBytes) throw tooLarge(label, maxBytes);
      await fh.write(chunk);
      received += chunk.byteLength;
      options.onProgress?.({ file: label, received, total });
    }
  } catch (e) {
    if (options.signal?.aborted || e instanceof VoicemoodError) throw e;
    throw new RetryableError(`the connection broke after ${received} bytes: ${(e as Error).message}`, { cause: e });
  } finally {
    await fh.close();
  }
  if (total !== undefined && received < total) throw new RetryableError(`the connection closed after ${received} of ${total} bytes`);
}

function tooLarge(label: string, maxBytes: number): VoicemoodError {
  return new VoicemoodError(
    'download_failed',
    `${label} is larger than the ${(maxBytes / 1e6).toFixed(1)} MB expected for it: the download was stopped and discarded. Check the mirror or base URL.`,
    {
      details: { discardPart: true, maxBytes },
    },
  );
}

function totalFromContentRange(header: string | null): number | undefined {
  const m = /\/(\d+)$/.exec(header ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Size and sha256 checks of a finished .part. Failures discard the .part: it is not good. */
async function verifyPart(part: string, info: PartInfo, expectedSha: string | undefined, label: string): Promise<{ bytes: number; sha256: string }> {
  const bytes = (await stat(part)).size;
  if (info.total !== undefined && bytes !== info.total) {
    throw new VoicemoodError(
      'download_failed',
      `${label} is ${bytes} bytes but the server announced ${info.total}: the download is damaged and was discarded. Run the command again.`,
      {
        details: { discardPart: true, bytes, expected: info.total },
      },
    );
  }
  const sha256 = await sha256File(part);
  for (const [want, who] of [
    [expectedSha, 'the registry'],
    [info.serverSha256, 'the server'],
  ] as const) {
    if (want && want.toLowerCase() !== sha256) {
      throw new VoicemoodError(
        'download_failed',
        `${label} does not have the sha256 ${who} expects (got ${sha256.slice(0, 12)}…, want ${want.slice(0, 12)}…): the download is damaged and was discarded. Run the command again.`,
        {
          details: { discardPart: true, sha256, expected: want },
        },
      );
    }
  }
  return { bytes, sha256 };
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
