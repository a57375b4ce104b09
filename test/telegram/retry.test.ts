/** The API transformer retries connection resets and short flood waits, and nothing else. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GrammyError, HttpError } from 'grammy';
import { retryTransformer } from '../../src/bots/telegram/retry.ts';

type Prev = Parameters<ReturnType<typeof retryTransformer>>[0];

function failing(errors: unknown[]): { prev: Prev; calls: () => number } {
  let n = 0;
  const prev = (async () => {
    const e = errors[n++];
    if (e) throw e;
    return { ok: true, result: true };
  }) as unknown as Prev;
  return { prev, calls: () => n };
}

const reset = (): HttpError => new HttpError("Network request for 'sendMessage' failed!", Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
const flood = (retryAfter: number): GrammyError =>
  new GrammyError("Call to 'sendMessage' failed!", { ok: false, error_code: 429, description: 'Too Many Requests', parameters: { retry_after: retryAfter } }, 'sendMessage', {});

test('a connection reset is retried, up to the limit', async () => {
  const t = retryTransformer({ retries: 2 });
  const once = failing([reset()]);
  assert.deepEqual(await t(once.prev, 'sendMessage', { chat_id: 1, text: 'x' }), { ok: true, result: true });
  assert.equal(once.calls(), 2);
  const always = failing([reset(), reset(), reset(), reset()]);
  await assert.rejects(t(always.prev, 'sendMessage', { chat_id: 1, text: 'x' }), HttpError);
  assert.equal(always.calls(), 3);
});

test('429 waits retry_after when short, gives up when long; other errors and getUpdates are not retried', async () => {
  const waited: number[] = [];
  const t = retryTransformer({ sleep: async (ms) => void waited.push(ms), maxRetryAfterS: 30 });
  const short = failing([flood(3)]);
  await t(short.prev, 'sendMessage', { chat_id: 1, text: 'x' });
  assert.deepEqual(waited, [3000]);
  const long = failing([flood(120)]);
  await assert.rejects(t(long.prev, 'sendMessage', { chat_id: 1, text: 'x' }), GrammyError);
  assert.equal(long.calls(), 1);
  const forbidden = failing([new GrammyError('x', { ok: false, error_code: 403, description: 'Forbidden' }, 'sendMessage', {})]);
  await assert.rejects(t(forbidden.prev, 'sendMessage', { chat_id: 1, text: 'x' }), GrammyError);
  assert.equal(forbidden.calls(), 1);
  const poll = failing([reset()]);
  await assert.rejects(t(poll.prev, 'getUpdates', {}), HttpError);
  assert.equal(poll.calls(), 1);
});
