/**
 * Makes sure @keyv/postgres's table exists before the store's first query.
 *
 * @keyv/postgres creates its table lazily: its constructor sends `CREATE TABLE IF NOT EXISTS` on
 * the first connection and, when that fails (the server is still starting up, a connection is
 * refused or dropped, two processes create the table at once), only emits an "error" event, which
 * Keyv swallows. Every later query then fails with `relation "public.keyv" does not exist`, and the
 * first notes after a start are lost. So we create the table ourselves, retrying transient
 * failures for a bounded time, and check that it is there before the store is used.
 */
import { VoicemoodError } from '../domain/errors.ts';

/** The part of @keyv/postgres's adapter this module uses. */
export interface PostgresAdapterLike {
  opts: { schema?: string; table?: string; keySize?: number };
  query: (sql: string, values?: unknown[]) => Promise<Array<Record<string, unknown>>>;
  on(event: 'error', listener: (error: unknown) => void): unknown;
}

export interface EnsureTableOptions {
  /** How long to keep retrying transient errors (default 15 s). */
  timeoutMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

// Connection-level failures worth retrying: refused/reset sockets, "the database system is
// starting up" (57P03), "cannot connect now", too many clients (53300), a concurrent CREATE (23505
// on pg_type, 42P07 duplicate table: the other creator wins; we verify the table afterwards).
const TRANSIENT_CODES = new Set([
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '23505',
  '42P07',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
]);

function isTransient(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  const message = e instanceof Error ? e.message : String(e);
  return /connection terminated|starting up|socket hang up|timeout/i.test(message);
}

const quoteIdent = (id: string): string => `"${id.replace(/"/g, '""')}"`;

/** Resolves once the adapter's table exists; throws a VoicemoodError when it cannot be created in time. */
export async function ensurePostgresTable(store: PostgresAdapterLike, options: EnsureTableOptions = {}): Promise<void> {
  // Without a listener the adapter's own failed CREATE would make every later query reject.
  store.on('error', () => undefined);
  const schema = store.opts.schema ?? 'public';
  const table = store.opts.table ?? 'keyv';
  const keySize = Number(store.opts.keySize ?? 255);
  const qualified = `${quoteIdent(schema)}.${quoteIdent(table)}`;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = now() + (options.timeoutMs ?? 15_000);
  let delay = 50;
  for (;;) {
    try {
      if (schema !== 'public') await store.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      // Same definition as @keyv/postgres's own CREATE, so either of the two may win.
      await store.query(`CREATE TABLE IF NOT EXISTS ${qualified}(key VARCHAR(${keySize}) PRIMARY KEY, value TEXT )`);
    } catch (e) {
      if (!isTransient(e) || now() >= deadline) throw unreachable(e);
      await sleep(delay);
      delay = Math.min(delay * 2, 1_000);
      continue;
    }
    const rows = await store.query('SELECT to_regclass($1) AS t', [qualified]).catch(() => []);
    if (rows[0]?.t) return;
    if (now() >= deadline) throw unreachable(new Error(`table ${qualified} still missing`));
    await sleep(delay);
  }
}

function unreachable(cause: unknown): VoicemoodError {
  return new VoicemoodError('internal', 'The history backend (postgres) cannot be reached or its table cannot be created.', { cause });
}
