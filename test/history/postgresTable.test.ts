/** ensurePostgresTable against a scripted adapter: retries transient failures, gives up with a sentence. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensurePostgresTable, type PostgresAdapterLike } from '../../src/history/postgresTable.ts';
import { isVoicemoodError } from '../../src/domain/errors.ts';

function adapter(script: Array<Error | 'ok'>, opts: PostgresAdapterLike['opts'] = {}) {
  const sql: string[] = [];
  let created = false;
  let errorListeners = 0;
  const a: PostgresAdapterLike = {
    opts,
    on: () => void errorListeners++,
    query: async (q) => {
      sql.push(q);
      if (q.startsWith('SELECT to_regclass')) return [{ t: created ? 'keyv' : null }];
      const step = script.shift() ?? 'ok';
      if (step !== 'ok') throw step;
      if (q.startsWith('CREATE TABLE')) created = true;
      return [];
    },
  };
  return { a, sql, listeners: () => errorListeners };
}
const coded = (code: string, message = code) => Object.assign(new Error(message), { code });

test('ensurePostgresTable: retries "starting up", refused and dropped connections, then verifies the table', async () => {
  const { a, sql, listeners } = adapter([
    coded('57P03', 'the database system is starting up'),
    coded('ECONNREFUSED'),
    new Error('Connection terminated unexpectedly'),
    'ok',
  ]);
  let t = 0;
  const sleeps: number[] = [];
  await ensurePostgresTable(a, { now: () => t, sleep: async (ms) => void (sleeps.push(ms), (t += ms)) });
  assert.equal(sql.filter((q) => q.startsWith('CREATE TABLE')).length, 4);
  assert.match(sql.at(-2)!, /^CREATE TABLE IF NOT EXISTS "public"\."keyv"\(key VARCHAR\(255\) PRIMARY KEY, value TEXT \)$/);
  assert.equal(sql.at(-1), 'SELECT to_regclass($1) AS t');
  assert.deepEqual(sleeps, [50, 100, 200]);
  assert.equal(listeners(), 1, "an error listener keeps the adapter's own failed CREATE from poisoning later queries");
});

test('ensurePostgresTable: a concurrent creator (23505) is fine once the table is there', async () => {
  const { a } = adapter([coded('23505'), 'ok']);
  await ensurePostgresTable(a, { sleep: async () => undefined });
});

test('ensurePostgresTable: a non-transient error (bad password) fails at once with a sentence', async () => {
  const { a, sql } = adapter([coded('28P01', 'password authentication failed for user "x"')]);
  await assert.rejects(
    ensurePostgresTable(a, { sleep: async () => assert.fail('no retry') }),
    (e) => isVoicemoodError(e, 'internal') && /cannot be reached/.test(e.message),
  );
  assert.equal(sql.length, 1);
});

test('ensurePostgresTable: transient errors past the timeout fail with a sentence', async () => {
  const { a } = adapter(Array.from({ length: 1000 }, () => coded('ECONNREFUSED')));
  let t = 0;
  await assert.rejects(ensurePostgresTable(a, { timeoutMs: 5_000, now: () => t, sleep: async (ms) => void (t += ms) }), (e) => isVoicemoodError(e, 'internal'));
  assert.ok(t >= 5_000 && t < 7_000, String(t));
});

test('ensurePostgresTable: a custom schema is created first', async () => {
  const { a, sql } = adapter([], { schema: 'vm', table: 'hist', keySize: 300 });
  await ensurePostgresTable(a);
  assert.deepEqual(sql.slice(0, 2), ['CREATE SCHEMA IF NOT EXISTS "vm"', 'CREATE TABLE IF NOT EXISTS "vm"."hist"(key VARCHAR(300) PRIMARY KEY, value TEXT )']);
});
