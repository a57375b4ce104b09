/**
 * A small file server on 127.0.0.1 for downloader tests: serves in-memory files with HTTP Range
 * support and ETags, records every request, and can be told to drop the connection mid-body.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServedFile {
  body: Buffer;
  /** Drop the connection after sending this many body bytes, for the first `dropTimes` requests. */
  dropAfter?: number;
  dropTimes?: number;
  /** Send an X-Linked-Etag (as Hugging Face does for LFS files) with this value. */
  linkedEtag?: string;
  /** Answer with a redirect to this path first (like Hugging Face → its CDN). */
  redirectTo?: string;
  /** Answer with this status and no body (e.g. 401, 503)… */
  status?: number;
  /** …for only the first `statusTimes` requests (default: always). */
  statusTimes?: number;
  /** Lie about the length: announce this Content-Length but send `body`. */
  announceLength?: number;
  /** Send no Content-Length (chunked), so the client learns the size only by reading. */
  omitLength?: boolean;
}

export interface RecordedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  /** Whatever the test's onRequest hook returned when the request arrived. */
  observed?: unknown;
}

export interface FileServer {
  url: string;
  requests: RecordedRequest[];
  files: Map<string, ServedFile>;
  close(): Promise<void>;
}

/** `onRequest` runs as each request arrives, e.g. to look at the client's .part file right then. */
export async function startFileServer(files: Record<string, ServedFile>, onRequest?: (path: string) => unknown): Promise<FileServer> {
  const map = new Map(Object.entries(files));
  const requests: RecordedRequest[] = [];
  const served = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = decodeURIComponent(u.pathname) + decodeURIComponent(u.search);
    requests.push({ path, headers: req.headers, observed: onRequest?.(path) });
    const file = map.get(path);
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const seen = served.get(path) ?? 0;
    if (file.status !== undefined && (file.statusTimes === undefined || seen < file.statusTimes)) {
      served.set(path, seen + 1);
      res.writeHead(file.status).end();
      return;
    }
    if (file.redirectTo) {
      res
        .writeHead(302, {
          location: file.redirectTo,
          ...(file.linkedEtag ? { 'x-linked-etag': `"${file.linkedEtag}"`, 'x-linked-size': String(file.body.length) } : {}),
        })
        .end();
      return;
    }
    const etag = `"${createHash('sha1').update(file.body).digest('hex')}"`;
    const total = file.body.length;
    let start = 0;
    let status = 200;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (range && (!ifRange || ifRange === etag)) {
      start = Number(range[1]);
      if (start >= total) {
        res.writeHead(416, { 'content-range': `bytes */${total}` }).end();
        return;
      }
      status = 206;
    }
    const body = file.body.subarray(start);
    const headers: Record<string, string> = {
      'content-length': String(file.announceLength !== undefined ? file.announceLength - start : body.length),
      'accept-ranges': 'bytes',
      etag,
    };
    if (file.omitLength) delete headers['content-length'];
    if (status === 206) headers['content-range'] = `bytes ${start}-${total - 1}/${file.announceLength ?? total}`;
    if (file.linkedEtag) headers['x-linked-etag'] = `"${file.linkedEtag}"`;
    res.writeHead(status, headers);
    const count = served.get(path) ?? 0;
    served.set(path, count + 1);
    if (file.dropAfter !== undefined && count - (file.statusTimes ?? 0) < (file.dropTimes ?? 1) && file.dropAfter < body.length) {
      res.write(body.subarray(0, file.dropAfter), () => {
        // Give the bytes a moment to reach the client, then cut the connection mid-body.
        setTimeout(() => res.socket?.destroy(), 20);
      });
      return;
    }
    if (file.announceLength !== undefined && file.announceLength > total) {
      res.write(body, () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    if (file.omitLength) {
      // Several chunks, so that a size cap has to act in the middle of the stream.
      for (let at = 0; at < body.length; at += 16_384) res.write(body.subarray(at, at + 16_384));
      res.end();
      return;
    }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    files: map,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Deterministic pseudo-random bytes (no fixtures needed). */
export function randomBytes(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
