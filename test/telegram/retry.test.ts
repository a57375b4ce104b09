/**
 * The API transformer retries connection resets, short flood waits and calls to upgraded groups,
 * and nothing else. Bot API refusals reach a transformer as resolved `{ ok: false }` answers, as
 * grammY hands them over (only network failures throw), so the fakes here answer the same way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GrammyError, HttpError } from 'grammy';
import { retryTransformer } from '../../src/bots/telegram/retry.ts';

type Prev = Parameters<ReturnType<typeof retryTransformer>>[0];

/** Each entry: an error to throw (network) or a refusal to answer; then success. */
function failing(errors: unknown[]): { prev: Prev; calls: () => number } {
  let n = 0;
  const prev = (async () => {
    const e = errors[n++];
    if (e instanceof Error) throw e;
    if (e) return e;
    return { ok: true, result: true };
  }) as unknown as Prev;
  return { prev, calls: () => n };
}

const reset = (): HttpError => new HttpError("Network request for 'sendMessage' failed!", Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
const flood = (retryAfter: number) => ({ ok: false, error_code: 429, description: `Too Many Requests: retry after ${retryAfter}`, parameters: { retry_after: retryAfter } });

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
  assert.deepEqual(await t(long.prev, 'sendMessage', { chat_id: 1, text: 'x' }), flood(120));
  assert.equal(long.calls(), 1);
  const refusal = { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' };
  const forbidden = failing([refusal]);
  assert.deepEqual(await t(forbidden.prev, 'sendMessage', { chat_id: 1, text: 'x' }), refusal);
  assert.equal(forbidden.calls(), 1);
  const poll = failing([reset()]);
  await assert.rejects(t(poll.prev, 'getUpdates', {}), HttpError);
  assert.equal(poll.calls(), 1);
});

test('flood control through the real grammY client: a 429 from the server is waited out and sent again', async (t) => {
  const { Api } = await import('grammy');
  const { FakeTelegram } = await import('../fakes/telegram/server.ts');
  const token = '558:retry-flood-token';
  const tg = await new FakeTelegram({ token }).start();
  t.after(() => tg.close());
  tg.floodOnce('sendMessage', 2);
  const waited: number[] = [];
  const api = new Api(token, { apiRoot: tg.apiRoot });
  api.config.use(retryTransformer({ sleep: async (ms) => void waited.push(ms) }));
  await api.sendMessage(1, 'hello');
  assert.deepEqual(waited, [2000]);
  assert.equal(tg.callsOf('sendMessage').length, 2);
});

test('a call to a group upgraded to a supergroup is sent again to the new chat id (against the fake Bot API)', async (t) => {
  const { Api } = await import('grammy');
  const { FakeTelegram } = await import('../fakes/telegram/server.ts');
  const token = '557:retry-migrate-token';
  const tg = await new FakeTelegram({ token }).start();
  t.after(() => tg.close());
  tg.migrated.set(-5, -1000000005);
  const api = new Api(token, { apiRoot: tg.apiRoot });
  api.config.use(retryTransformer());
  const sent = await api.sendMessage(-5, 'hello');
  assert.equal(sent.chat.id, -1000000005);
  assert.deepEqual(tg.callsOf('sendMessage').map((c) => Number(c.params.chat_id)), [-5, -1000000005]);
  // Without the transformer the upgrade is an error that names the new id.
  const plain = new Api(token, { apiRoot: tg.apiRoot });
  await assert.rejects(plain.sendMessage(-5, 'hello'), (e: unknown) => e instanceof GrammyError && e.parameters.migrate_to_chat_id === -1000000005);
});
