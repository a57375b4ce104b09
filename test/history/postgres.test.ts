/**
 * The store on Postgres (KEYV_URL=postgres://…), against a throwaway server started for this test.
 * Skipped with a message when no Postgres binaries are installed (CI installs only redis-server).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from '../helpers/net.ts';
import { join } from 'node:path';
import { openHistory } from '../../src/history/open.ts';
import { entry, tempDir } from './helpers.ts';

function findBin(name: string): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    for (const v of readdirSync(root).sort().reverse()) if (existsSync(join(root, v, 'bin', name))) return join(root, v, 'bin', name);
  }
  const which = spawnSync('which', [name], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

const initdb = findBin('initdb');
const postgres = findBin('postgres');
// Postgres refuses to run as root: run it as the postgres user then.
const isRoot = process.getuid?.() === 0;
const asUser = (cmd: string, args: string[]): [string, string[]] => (isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
const skip = !initdb || !postgres ? 'Postgres is not installed (initdb/postgres not found)' : false;

let server: ChildProcess | undefined;
let url = '';


before(async () => {
  if (skip) return;
  const dir = tempDir('vm-pg-');
  chmodSync(dir, 0o777);
  const [c1, a1] = asUser(initdb!, ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'voicemood']);
  const init = spawnSync(c1, a1, { encoding: 'utf8' });
  assert.equal(init.status, 0, init.stderr);
  const port = await freePort();
  const [c2, a2] = asUser(postgres!, ['-D', join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-F']);
  server = spawn(c2, a2, { stdio: 'ignore' });
  for (let i = 0; i < 400; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1', () => (c.end(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  url = `postgres://voicemood@127.0.0.1:${port}/postgres`;
});

after(async () => {
  if (!server || server.exitCode !== null) return;
  const exited = new Promise((r) => server!.once('exit', r));
  server.kill('SIGTERM');
  await exited;
});

test('postgres: append, reopen, isolation, forget, concurrency, prune', { skip }, async () => {
  let h = await openHistory({ url, pruneEveryMs: 0 });
  await h.append(entry({ platform: 'telegram', userId: '42', chatId: '7', userName: 'tg42' }));
  await h.append(entry({ platform: 'discord', userId: '42', chatId: '7', userName: 'dc42' }));
  await h.close();
  h = await openHistory({ url, pruneEveryMs: 0 });
  assert.deepEqual((await h.listUser('telegram', '42')).map((e) => e.userName), ['tg42']);
  assert.deepEqual((await h.listChat('discord', '7')).map((e) => e.userName), ['dc42']);
  await Promise.all(Array.from({ length: 100 }, (_, i) => h.append(entry({ userId: 'busy', chatId: '7', at: Date.now() + i }))));
  assert.equal((await h.listUser('telegram', 'busy')).length, 100);
  assert.equal((await h.listChat('telegram', '7')).length, 101);
  assert.deepEqual(await h.forgetUser('telegram', '42'), { entries: 1, chatEntries: 1, settings: 0, alertSubscriptions: 0 });
  assert.equal((await h.listChat('telegram', '7')).length, 100);
  assert.equal((await h.listUser('discord', '42')).length, 1);
  assert.equal(await h.prune(Date.now() + 400 * 86_400_000), 101);
  await h.close();
});
