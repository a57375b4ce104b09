import { connect, createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (for servers a test starts itself). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * POSTs the head of a request announcing `bytes` bytes of body (content-length) and only its first
 * 64 KiB, then waits for the answer: its status code. A server that must refuse a body too large
 * answers from the announced length, before the rest is sent (fetch, which writes the whole body
 * first, may see the connection closed under it, EPIPE, instead of the answer).
 */
export function postOversized(port: number, path: string, headers: Record<string, string>, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const done = (): boolean => /^HTTP\/1\.[01] \d{3}/.test(answer);
    socket.on('connect', () => {
      const head = Object.entries({ host: `127.0.0.1:${port}`, 'content-length': String(bytes), ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
      socket.write(`POST ${path} HTTP/1.1\r\n${head.join('')}\r\n`);
      socket.write(Buffer.alloc(Math.min(64 * 1024, bytes), 0x78));
    });
    socket.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
      if (done()) {
        resolve(Number(answer.slice(9, 12)));
        socket.destroy();
      }
    });
    socket.on('error', (e) => (done() ? undefined : reject(e)));
    socket.on('close', () => (done() ? undefined : reject(new Error('connection closed without an answer'))));
  });
}
