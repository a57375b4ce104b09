/**
 * Two processes appending for the same user on one Postgres store (two gateways on one
 * KEYV_URL=postgres://…): the read-modify-writes hold Postgres advisory locks (PostgresKeyLock), so
 * no entry of either process is lost. Also: a lock wait is bounded and fails with a typed error,
 * and the lock's connection and locks are given back when the write throws.
 * Skipped with a printed reason without Postgres; in CI (CI=true) a missing Postgres fails.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openHistory } from '../../src/history/open.ts';
import { advisoryLockId, PostgresKeyLock, type PgPoolLike } from '../../src/history/postgresKeyLock.ts';
import { VoicemoodError } from '../../src/domain/errors.ts';
import { skipWithoutPostgres, startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { tempDir } from './helpers.ts';

const CHILD = fileURLToPath(new URL('./appendProcess.ts', import.meta.url));
const N = 150;
let pg: TestPostgres | undefined;
let dir = '';
if (skipWithoutPostgres) console.log(`# postgres process tests skipped: ${skipWithoutPostgres}`);

interface Pool extends PgPoolLike {
  query(sql: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  totalCount: number;
  idleCount: number;
}
async function pool(config: Record<string, unknown>): Promise<Pool> {
  const name = 'pg'; // no type declarations in the project: see src/history/postgresKeyLock.ts
  const mod = (await import(name)) as { default: { Pool: new (c: Record<string, unknown>) => Pool } };
  return new mod.default.Pool({ connectionString: pg!.url, ...config });
}

before(async () => {
  dir = tempDir();
  if (!skipWithoutPostgres) pg = await startPostgres();
});
after(async () => {
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function child(url: string, userId: string, count: number, go: string, tag: string): { ready: Promise<void>; done: Promise<string> } {
  const proc = spawn(process.execPath, [CHILD, url, userId, String(count), go, tag], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready')) onReady();
  });
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<string>((resolve, reject) =>
    proc.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${out}`)))),
  );
  return { ready, done };
}

test('two processes appending for the same user on one Postgres lose nothing', { skip: skipWithoutPostgres, timeout: 60_000 }, async () => {
  // Open once first: both children then meet an existing table.
  await (await openHistory({ url: pg!.url, pruneEveryMs: 0 })).close();
  const go = join(dir, 'go');
  const a = child(pg!.url, 'shared', N, go, 'A');
  const b = child(pg!.url, 'shared', N, go, 'B');
  await Promise.all([a.ready, b.ready]);
  writeFileSync(go, '');
  assert.match(await a.done, new RegExp(`appended ${N}`));
  assert.match(await b.done, new RegExp(`appended ${N}`));
  const h = await openHistory({ url: pg!.url, pruneEveryMs: 0 });
  try {
    const entries = await h.listUser('telegram', 'shared', { limit: 1000 });
    const by = (tag: string): number => entries.filter((e) => e.userName === tag).length;
    assert.deepEqual({ A: by('A'), B: by('B') }, { A: N, B: N });
    let chatTotal = 0;
    for (const c of ['chat-0', 'chat-1', 'chat-2']) chatTotal += (await h.listChat('telegram', c, { limit: 1000 })).length;
    assert.equal(chatTotal, 2 * N, 'the chat indexes too');
  } finally {
    await h.close();
  }
});

test(
  'a lock held elsewhere fails the write with a typed "busy" error after waitMs; a throwing write gives back its connection and locks',
  { skip: skipWithoutPostgres, timeout: 30_000 },
  async () => {
    const other = await pool({ max: 2 });
    const lockPool = await pool({ max: 2, lock_timeout: 300, connectionTimeoutMillis: 5_000 });
    const lock = new PostgresKeyLock(lockPool, { waitMs: 300 });
    try {
      // Another session (another gateway) holds the key's lock.
      const holder = await other.connect();
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [advisoryLockId('u/telegram/x/meta').toString()]);
      let ran = false;
      const t0 = Date.now();
      await assert.rejects(
        lock.withKeys(['c/telegram/y/meta', 'u/telegram/x/meta'], async () => void (ran = true)),
        (e: unknown) => e instanceof VoicemoodError && e.code === 'busy' && /another instance/.test(e.message),
      );
      assert.equal(ran, false, 'the write did not run without its lock');
      assert.ok(Date.now() - t0 < 10_000, 'the wait is bounded');
      // The waiter gave back the other key it had taken: only the holder's lock is left.
      const held = async (): Promise<number> =>
        Number((await other.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted")).rows[0].n);
      assert.equal(await held(), 1);
      await holder.query('SELECT pg_advisory_unlock_all()');
      holder.release();
      // A write that throws: its error comes through, its locks and connection are given back.
      await assert.rejects(
        lock.withKeys(['u/telegram/x/meta'], async () => {
          throw new Error('write failed');
        }),
        /write failed/,
      );
      assert.equal(await held(), 0);
      assert.equal(lockPool.idleCount, lockPool.totalCount, 'no client left checked out');
      // And the key can be taken again.
      assert.equal(await lock.withKeys(['u/telegram/x/meta'], async () => 'ok'), 'ok');
    } finally {
      await lock.close();
      await other.end();
    }
  },
);
