/**
 * The API transformer retries connection resets, flood waits that are short, Telegram's 5xx and
 * calls to upgraded groups, and nothing else, within a ceiling on the time spent waiting. Bot API
 * refusals reach a transformer as resolved `{ ok: false }` answers, as grammY hands them over (only
 * network failures throw), so the stubs here answer the same way. Waits run on mock timers.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { GrammyError, HttpError } from 'grammy';
import { retryTransformer } from '../../../src/bots/telegram/retry.ts';

type Prev = Parameters<ReturnType<typeof retryTransformer>>[0];

const realSetTimeout = globalThis.setTimeout;

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

/**
 * Runs `call` with setTimeout mocked: whenever it is still pending once everything else has run
 * (`settleMs` of real time for real I/O, else one turn of the event loop), the clock moves one
 * second. Returns its outcome and the seconds the clock moved.
 */
async function onMockClock<T>(t: TestContext, call: () => Promise<T>, settleMs = 0): Promise<{ value?: T; error?: unknown; waitedS: number }> {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  try {
    let done = false;
    const outcome = call().then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    void outcome.then(() => (done = true));
    let waitedS = 0;
    for (;;) {
      if (settleMs > 0) await new Promise((r) => realSetTimeout(r, settleMs));
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      if (done) break;
      assert.ok(waitedS < 3600, 'the call never ends');
      t.mock.timers.tick(1000);
      waitedS++;
    }
    return { ...(await outcome), waitedS };
  } finally {
    t.mock.timers.reset();
  }
}

const reset = (): HttpError => new HttpError("Network request for 'sendMessage' failed!", Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
const refused = (): HttpError =>
  new HttpError("Network request for 'sendMessage' failed!", Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
const flood = (retryAfter: number) => ({
  ok: false,
  error_code: 429,
  description: `Too Many Requests: retry after ${retryAfter}`,
  parameters: { retry_after: retryAfter },
});
const badGateway = { ok: false, error_code: 502, description: 'Bad Gateway' };
const send = { chat_id: 1, text: 'x' };

test('a connection reset is sent again at once, up to the limit; other network failures are not retried', async (t) => {
  const tr = retryTransformer({ retries: 2 });
  const once = failing([reset()]);
  assert.deepEqual(await onMockClock(t, () => tr(once.prev, 'sendMessage', send)), { value: { ok: true, result: true }, waitedS: 0 });
  assert.equal(once.calls(), 2);
  const always = failing([reset(), reset(), reset(), reset()]);
  await assert.rejects(tr(always.prev, 'sendMessage', send), HttpError);
  assert.equal(always.calls(), 3);
  // The request may have arrived: sending it again could post a message twice.
  const other = failing([refused()]);
  await assert.rejects(tr(other.prev, 'sendMessage', send), HttpError);
  assert.equal(other.calls(), 1);
});

test('429 waits retry_after when short, gives up when long; other refusals and getUpdates are not retried', async (t) => {
  const tr = retryTransformer({ maxRetryAfterS: 30 });
  const short = failing([flood(3)]);
  assert.deepEqual(await onMockClock(t, () => tr(short.prev, 'sendMessage', send)), { value: { ok: true, result: true }, waitedS: 3 });
  assert.equal(short.calls(), 2);
  const long = failing([flood(120)]);
  assert.deepEqual(await onMockClock(t, () => tr(long.prev, 'sendMessage', send)), { value: flood(120), waitedS: 0 });
  assert.equal(long.calls(), 1);
  const refusal = { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' };
  const forbidden = failing([refusal]);
  assert.deepEqual(await tr(forbidden.prev, 'sendMessage', send), refusal);
  assert.equal(forbidden.calls(), 1);
  const poll = failing([reset()]);
  await assert.rejects(tr(poll.prev, 'getUpdates', {}), HttpError);
  assert.equal(poll.calls(), 1);
  const pollFlood = failing([flood(3)]);
  assert.deepEqual(await tr(pollFlood.prev, 'getUpdates', {}), flood(3));
  assert.equal(pollFlood.calls(), 1);
});

test("Telegram's 5xx is retried after 3 s, then 6 s, and then its answer stands", async (t) => {
  const tr = retryTransformer({ retries: 2 });
  const once = failing([badGateway]);
  assert.deepEqual(await onMockClock(t, () => tr(once.prev, 'sendMessage', send)), { value: { ok: true, result: true }, waitedS: 3 });
  const always = failing([badGateway, badGateway, badGateway, badGateway]);
  assert.deepEqual(await onMockClock(t, () => tr(always.prev, 'sendMessage', send)), { value: badGateway, waitedS: 9 });
  assert.equal(always.calls(), 3);
});

test('the time spent waiting has a ceiling: past it, the refusal that made us wait is the answer', async (t) => {
  const tr = retryTransformer({ retries: 5, maxRetryAfterS: 30, maxWaitS: 20 });
  const floods = failing([flood(15), flood(15), flood(15)]);
  assert.deepEqual(await onMockClock(t, () => tr(floods.prev, 'sendMessage', send)), { value: flood(15), waitedS: 20 });
  assert.equal(floods.calls(), 2, 'sent once, again after 15 s, and no more after the ceiling at 20 s');
  // With the defaults (2 retries, waits of at most 30 s, a ceiling of 60 s) a reply is never held much longer than a minute.
  const defaults = retryTransformer();
  const twice = failing([flood(25), flood(25), flood(25), flood(25)]);
  assert.deepEqual(await onMockClock(t, () => defaults(twice.prev, 'sendMessage', send)), { value: flood(25), waitedS: 50 });
  assert.equal(twice.calls(), 3, 'no wait after the last attempt');
  const worst = failing([flood(30), flood(30), flood(30), flood(30)]);
  assert.deepEqual(await onMockClock(t, () => defaults(worst.prev, 'sendMessage', send)), { value: flood(30), waitedS: 60 });
});

test('flood control and 5xx through the real grammY client: waited out and sent again', async (t) => {
  const { Api } = await import('grammy');
  const { FakeTelegram } = await import('../../fakes/telegram/server.ts');
  const token = '558:retry-flood-token';
  const tg = await new FakeTelegram({ token }).start();
  t.after(() => tg.close());
  const api = new Api(token, { apiRoot: tg.apiRoot });
  api.config.use(retryTransformer());
  tg.floodOnce('sendMessage', 2);
  const flooded = await onMockClock(t, () => api.sendMessage(1, 'hello'), 25);
  assert.equal(flooded.error, undefined);
  assert.ok(flooded.waitedS >= 2, `waited ${flooded.waitedS} s for a retry_after of 2 s`);
  assert.equal(tg.callsOf('sendMessage').length, 2);
  tg.serverErrorTimes('sendMessage', 1, 502);
  const failed = await onMockClock(t, () => api.sendMessage(1, 'again'), 25);
  assert.equal(failed.error, undefined);
  assert.ok(failed.waitedS >= 3, `waited ${failed.waitedS} s after a 502`);
  assert.equal(tg.callsOf('sendMessage').length, 4);
  // Past the retries, the 5xx reaches the caller as the error it is.
  tg.serverErrorTimes('sendMessage', 3, 502);
  const gaveUp = await onMockClock(t, () => api.sendMessage(1, 'third'), 25);
  assert.ok(gaveUp.error instanceof GrammyError && gaveUp.error.error_code === 502, String(gaveUp.error));
  assert.equal(tg.callsOf('sendMessage').length, 7);
});

test("calls under grammY's own abort signal (bot.start's deleteWebhook) go through; aborting it ends a wait at once", async (t) => {
  const { Api } = await import('grammy');
  // grammY's Node build signals with the abort-controller package, not a native AbortSignal.
  const { AbortController: ShimAbortController } = await import('abort-controller');
  const { FakeTelegram } = await import('../../fakes/telegram/server.ts');
  const token = '556:retry-signal-token';
  const tg = await new FakeTelegram({ token }).start();
  t.after(() => tg.close());
  const api = new Api(token, { apiRoot: tg.apiRoot });
  api.config.use(retryTransformer());
  assert.equal(await api.deleteWebhook({}, new ShimAbortController().signal), true);
  tg.floodOnce('sendMessage', 20);
  const stop = new ShimAbortController();
  const waited = onMockClock(t, () => api.sendMessage(1, 'hello', {}, stop.signal), 25);
  setImmediate(() => realSetTimeout(() => stop.abort(), 100));
  const r = await waited;
  assert.ok(r.error instanceof Error, 'the wait ended with an error');
  assert.ok(r.waitedS < 20, `stopped after ${r.waitedS} s of a 20 s wait`);
  assert.equal(tg.callsOf('sendMessage').length, 1);
});

test('a call to a group upgraded to a supergroup is sent again to the new chat id (against the fake Bot API)', async (t) => {
  const { Api } = await import('grammy');
  const { FakeTelegram } = await import('../../fakes/telegram/server.ts');
  const token = '557:retry-migrate-token';
  const tg = await new FakeTelegram({ token }).start();
  t.after(() => tg.close());
  tg.migrated.set(-5, -1000000005);
  const api = new Api(token, { apiRoot: tg.apiRoot });
  api.config.use(retryTransformer());
  const sent = await api.sendMessage(-5, 'hello');
  assert.equal(sent.chat.id, -1000000005);
  assert.deepEqual(
    tg.callsOf('sendMessage').map((c) => Number(c.params.chat_id)),
    [-5, -1000000005],
  );
  // Without the transformer the upgrade is an error that names the new id.
  const plain = new Api(token, { apiRoot: tg.apiRoot });
  await assert.rejects(plain.sendMessage(-5, 'hello'), (e: unknown) => e instanceof GrammyError && e.parameters.migrate_to_chat_id === -1000000005);
});
