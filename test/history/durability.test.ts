/** Issue 7: history writes survive kill -9 — every acknowledged entry is there after a reopen. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openHistory } from '../../src/history/open.ts';
import { tempDir } from './helpers.ts';

const child = join(import.meta.dirname, 'writerChild.ts');

/** Runs the writer until it acknowledged `killAfter` entries, then SIGKILLs it; returns acked ids. */
async function writeAndKill(dir: string, run: string, killAfter: number): Promise<string[]> {
  const proc = spawn(process.execPath, [child, dir, run], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked: string[] = [];
  let buf = '';
  return new Promise((resolve, reject) => {
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('ack ')) acked.push(line.slice(4));
        if (acked.length === killAfter) proc.kill('SIGKILL');
      }
    });
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own (code ${code})`));
      else resolve(acked);
    });
  });
}

test('every acknowledged entry survives SIGKILL, and the store reopens cleanly', async () => {
  const dir = tempDir('vm-durable-');
  const acked = [...(await writeAndKill(dir, 'a', 60)), ...(await writeAndKill(dir, 'b', 45))];
  assert.ok(acked.length >= 105, `acked ${acked.length}`);

  const db = new DatabaseSync(join(dir, 'history.sqlite'));
  assert.deepEqual(
    db
      .prepare('PRAGMA integrity_check')
      .all()
      .map((r) => ({ ...r })),
    [{ integrity_check: 'ok' }],
  );
  db.close();

  const h = await openHistory({ env: { VOICEMOOD_DATA_DIR: dir } });
  const users = await Promise.all(['u0', 'u1', 'u2'].map((u) => h.listUser('telegram', u)));
  const chats = await Promise.all(['c0', 'c1'].map((c) => h.listChat('telegram', c)));
  const stored = users.flat().map((e) => e.id);
  const inChats = chats.flat().map((e) => e.id);
  assert.equal(new Set(stored).size, stored.length, 'no entry is stored twice');
  const have = new Set(stored);
  const missing = acked.filter((id) => !have.has(id));
  assert.deepEqual(missing, [], 'every acknowledged entry is there');
  // Entries written but killed before their ack may be there too; nothing else is.
  assert.ok(stored.length >= acked.length && stored.length <= acked.length + 8, `stored ${stored.length}, acked ${acked.length}`);
  // An entry is in its user's history and its chat's index, or in neither (one transaction).
  assert.deepEqual([...stored].sort(), [...inChats].sort());
  // The store still takes writes.
  await h.append({ ...users.flat()[0], id: 'after' });
  await h.close();
});
