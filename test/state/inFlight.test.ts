/** The adapters' shared accounting of background work: InFlight (drain at shutdown) and BusyCounter. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BusyCounter, InFlight } from '../../src/state/inFlight.ts';

test('InFlight.drain waits for tasks started while draining', async () => {
  const inFlight = new InFlight(() => assert.fail('no task fails here'));
  const done: number[] = [];
  inFlight.run(async () => {
    await new Promise((r) => setImmediate(r));
    done.push(1);
    inFlight.run(async () => {
      await new Promise((r) => setImmediate(r));
      done.push(2);
    });
  });
  assert.equal(inFlight.size, 1);
  await inFlight.drain();
  assert.deepEqual(done, [1, 2]);
  assert.equal(inFlight.size, 0);
});

test('InFlight: a failing task (thrown at once or rejected later) goes to onError, not unhandled, and leaves the set', async () => {
  const errors: unknown[] = [];
  const inFlight = new InFlight((e) => errors.push(e));
  const started: string[] = [];
  inFlight.run(() => {
    throw new Error('sync');
  });
  inFlight.run(async () => {
    started.push('async'); // runs synchronously up to its first await
    await new Promise((r) => setImmediate(r));
    throw new Error('async');
  });
  inFlight.track(Promise.reject(new Error('tracked')));
  assert.deepEqual(started, ['async']);
  await inFlight.drain();
  assert.deepEqual(errors.map((e) => (e as Error).message).sort(), ['async', 'sync', 'tracked']);
  assert.equal(inFlight.size, 0);
});

test('BusyCounter: no more than max at once; a place given back can be taken again; max may be read each time', () => {
  const busy = new BusyCounter(2);
  assert.equal(busy.enter(), true);
  assert.equal(busy.enter(), true);
  assert.equal(busy.enter(), false);
  assert.equal(busy.running, 2);
  busy.leave();
  assert.equal(busy.enter(), true);
  let max = 1;
  const live = new BusyCounter(() => max);
  assert.equal(live.enter(), true);
  assert.equal(live.enter(), false);
  max = 2;
  assert.equal(live.enter(), true);
  live.leave();
  live.leave();
  live.leave(); // more leaves than enters never goes below zero
  assert.equal(live.running, 0);
});
