/**
 * A keyv store adapter on Node's built-in SQLite (`node:sqlite`, no native addon to build).
 * Durability: WAL journal with synchronous=FULL, so a resolved set()/setMany() is on disk and
 * survives kill -9 or power loss; setMany() and deleteMany() are one transaction each (all or
 * nothing), which the history store uses to commit an entry and its indexes together.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { KeyvStoreAdapter } from 'keyv';
import { VoicemoodError } from '../domain/errors.ts';

export class SqliteKeyvStore extends EventEmitter implements KeyvStoreAdapter {
  opts: { dialect: 'sqlite'; url: string };
  namespace?: string | undefined;
  readonly path: string;
  private readonly db: DatabaseSync;
  private readonly stmts: {
    get: StatementSync;
    set: StatementSync;
    del: StatementSync;
    clearNs: StatementSync;
    clearAll: StatementSync;
    iterNs: StatementSync;
    iterAll: StatementSync;
  };

  constructor(path: string) {
    super();
    this.path = path;
    this.opts = { dialect: 'sqlite', url: `sqlite://${path}` };
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      this.db = new DatabaseSync(path);
      this.db.exec('PRAGMA journal_mode=WAL');
      this.db.exec('PRAGMA synchronous=FULL');
      this.db.exec('PRAGMA busy_timeout=5000');
      this.db.exec('CREATE TABLE IF NOT EXISTS keyv (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID');
    } catch (e) {
      throw new VoicemoodError('internal', `The history database ${path} cannot be opened.`, { cause: e, details: { path } });
    }
    this.stmts = {
      get: this.db.prepare('SELECT value FROM keyv WHERE key = ?'),
      set: this.db.prepare('INSERT INTO keyv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      del: this.db.prepare('DELETE FROM keyv WHERE key = ?'),
      clearNs: this.db.prepare('DELETE FROM keyv WHERE key >= ? AND key < ?'),
      clearAll: this.db.prepare('DELETE FROM keyv'),
      iterNs: this.db.prepare('SELECT key, value FROM keyv WHERE key >= ? AND key < ? ORDER BY key'),
      iterAll: this.db.prepare('SELECT key, value FROM keyv ORDER BY key'),
    };
  }

  async get<Value>(key: string): Promise<Value | undefined> {
    const row = this.stmts.get.get(key) as { value: string } | undefined;
    return row?.value as Value | undefined;
  }

  async getMany<Value>(keys: string[]): Promise<Array<Value | undefined>> {
    return keys.map((k) => (this.stmts.get.get(k) as { value: string } | undefined)?.value as Value | undefined);
  }

  async has(key: string): Promise<boolean> {
    return this.stmts.get.get(key) !== undefined;
  }

  // TTLs are not used by voicemood (retention is explicit); keyv stores `expires` in the value.
  async set(key: string, value: unknown): Promise<boolean> {
    this.stmts.set.run(key, String(value));
    return true;
  }

  async setMany(entries: Array<{ key: string; value: unknown }>): Promise<void> {
    this.transaction(() => {
      for (const { key, value } of entries) this.stmts.set.run(key, String(value));
    });
  }

  async delete(key: string): Promise<boolean> {
    return Number(this.stmts.del.run(key).changes) > 0;
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    let n = 0;
    this.transaction(() => {
      for (const k of keys) n += Number(this.stmts.del.run(k).changes);
    });
    return n > 0;
  }

  async clear(): Promise<void> {
    if (this.namespace) this.stmts.clearNs.run(`${this.namespace}:`, `${this.namespace};`);
    else this.stmts.clearAll.run();
  }

  async *iterator<Value>(namespace?: string): AsyncGenerator<Array<string | Awaited<Value> | undefined>, void> {
    const ns = namespace ?? this.namespace;
    const rows = (ns ? this.stmts.iterNs.all(`${ns}:`, `${ns};`) : this.stmts.iterAll.all()) as { key: string; value: string }[];
    for (const r of rows) yield [r.key, r.value];
  }

  /** Runs fn inside one IMMEDIATE transaction: committed (fsynced) when it returns, rolled back when it throws. */
  transaction(fn: () => void): void {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      fn();
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }

  async disconnect(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }
}
