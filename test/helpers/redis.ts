/** A redis-server of a test's own, on a free loopback port, without persistence. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import type { Redis } from 'ioredis';
import { connected, redisConnection } from '../../src/queue/config.ts';
import { freePort } from './net.ts';

export const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
/** Skips a test without redis-server, except in CI (CI=true), where scripts/setup.sh installs it: there it fails. */
export const skipWithoutRedis: false | string = hasRedis || process.env.CI === 'true' ? false : 'redis-server is not installed (apt-get install redis-server)';

export interface TestRedis {
  url: string;
  port: number;
  proc: ChildProcess;
  stop(): void;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1', () => (c.end(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`redis-server did not listen on ${port}`);
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitForPort(port);
  return { url: `redis://127.0.0.1:${port}`, port, proc, stop: () => void proc.kill('SIGKILL') };
}

/**
 * For a test file on its own redis-server: starts it before the tests (unless skipWithoutRedis),
 * and after them disconnects every client made or tracked here and stops the server.
 */
export function useTestRedis(hooks: { before: (fn: () => Promise<void>) => void; after: (fn: () => void) => void }): {
  client(opts?: { ignoreErrors?: boolean }): Promise<Redis>;
  track(c: Redis): Redis;
} {
  let redis: TestRedis | undefined;
  const clients: Redis[] = [];
  hooks.before(async () => {
    if (!skipWithoutRedis) redis = await startRedis();
  });
  hooks.after(() => {
    for (const c of clients) c.disconnect();
    redis?.stop();
  });
  const track = (c: Redis): Redis => (clients.push(c), c);
  return {
    track,
    async client(opts = {}) {
      const c = redisConnection(redis!.url, 'test', { failFast: true });
      if (opts.ignoreErrors) c.on('error', () => undefined);
      track(c);
      await connected(c, redis!.url);
      return c;
    },
  };
}
