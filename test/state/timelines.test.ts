/** The in-memory timeline store both chat adapters use (the Redis variant: sharedTimelines.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryTimelineStore, newTimelineKey } from '../../src/state/timelines.ts';

interface Item {
  name: string;
  entryId?: string;
}

test('keys are short random base-36 strings: they fit Telegram callback data ("tl:" + key) and never repeat', () => {
  const keys = new Set(Array.from({ length: 1000 }, () => newTimelineKey()));
  assert.equal(keys.size, 1000);
  for (const k of keys) assert.match(k, /^[0-9a-z]{1,12}$/);
});

test('keeps at most `capacity`, dropping the least recently used first', () => {
  const store = new MemoryTimelineStore<Item>({ capacity: 2 });
  const a = store.put({ name: 'a' })!;
  const b = store.put({ name: 'b' })!;
  assert.equal(store.get(a)?.name, 'a'); // a is now the most recently used
  const c = store.put({ name: 'c' })!;
  assert.equal(store.get(b), undefined);
  assert.equal(store.get(a)?.name, 'a');
  assert.equal(store.get(c)?.name, 'c');
  assert.equal(store.size, 2);
});

test('keyOf: an item with a key of its own keeps it, and putting it again replaces it', () => {
  const store = new MemoryTimelineStore<Item>({ capacity: 5, keyOf: (i) => i.entryId });
  assert.equal(store.put({ name: 'first', entryId: 'e1' }), 'e1');
  assert.equal(store.put({ name: 'again', entryId: 'e1' }), 'e1');
  assert.equal(store.get('e1')?.name, 'again');
  assert.equal(store.size, 1);
  assert.notEqual(store.put({ name: 'no id' }), undefined);
});

test('markShown is true the first time only', () => {
  const store = new MemoryTimelineStore<Item>({ capacity: 5 });
  const k = store.put({ name: 'a' })!;
  assert.equal(store.markShown(k), true);
  assert.equal(store.markShown(k), false);
  const again = store.put({ name: 'b' })!;
  assert.equal(store.markShown(again), true);
});

test("forgetUser drops that person's timelines; one analysed before their /forget is refused", () => {
  const epochs = new Map<string, number>();
  const store = new MemoryTimelineStore<Item>({ capacity: 10, epochOf: (u) => epochs.get(u) ?? 0 });
  const owner = (userId: string) => ({ userId, epoch: epochs.get(userId) ?? 0 });
  const ann = store.put({ name: 'ann' }, owner('ann'))!;
  const bob = store.put({ name: 'bob' }, owner('bob'))!;
  const nobody = store.put({ name: 'nobody' })!;
  const late = owner('ann'); // analysis started before the /forget below
  epochs.set('ann', 1);
  store.forgetUser('ann');
  assert.equal(store.get(ann), undefined);
  assert.ok(store.get(bob) && store.get(nobody));
  assert.equal(store.put({ name: 'late' }, late), undefined);
  assert.ok(store.put({ name: 'after' }, owner('ann')), 'a note analysed after the /forget is kept as usual');
});
