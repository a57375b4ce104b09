/**
 * Issue 7: every voice request has one deadline for download + decode + inference, and a note
 * refused by the rate limit or an opt-out is never downloaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handleVoice } from '../../src/commands/index.ts';
import { requestDeadline } from '../../src/usecases/requestDeadline.ts';
import { isVoicemoodError } from '../../src/domain/errors.ts';
import type { EmotionResult } from '../../src/inference/types.ts';
import { harness, wavBytes } from '../commands/helpers.ts';

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

test('a download that never finishes ends in a polite timeout reply, and the download saw the abort', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  h.services.requestTimeoutMs = 150;
  // The deadline's timer is a mock: the test moves time itself, so no real 150 ms pass.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let seen: AbortSignal | undefined;
  let downloading!: () => void;
  const downloadStarted = new Promise<void>((r) => (downloading = r));
  const pending = handleVoice(h.ctx(), h.services, {
    trigger: 'auto',
    download: (signal) => {
      seen = signal;
      downloading();
      return never<Uint8Array>(); // ignores the signal on purpose: the handler must not wait for it
    },
  });
  await downloadStarted;
  t.mock.timers.tick(149);
  assert.equal(seen?.aborted, false, 'not stopped before the deadline');
  t.mock.timers.tick(1);
  const replies = await pending;
  assert.equal(replies.length, 1);
  assert.equal(replies[0].kind, 'error');
  assert.equal((replies[0] as { code: string }).code, 'timeout');
  assert.match((replies[0] as { text: string }).text, /took longer than 1 s .*try again/);
  assert.ok(seen?.aborted, 'the download was told to stop');
  assert.equal(h.engine.calls, 0);
});

test('a hung engine ends in a polite timeout reply, and nothing is stored', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  h.services.requestTimeoutMs = 150;
  // The deadline's timer is a mock: its 150 ms pass once the engine has the clip, whatever the decode took.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let signalled = false;
  let entered!: () => void;
  const inEngine = new Promise<void>((r) => (entered = r));
  h.engine.analyze = (_samples, opts = {}) => {
    opts.signal?.addEventListener('abort', () => (signalled = true));
    entered();
    return never<EmotionResult>();
  };
  const pending = handleVoice(h.ctx({ lang: 'zh' }), h.services, { trigger: 'auto', bytes: wavBytes(1) });
  await inEngine;
  t.mock.timers.tick(149);
  assert.equal(signalled, false, 'not stopped before the deadline');
  t.mock.timers.tick(1);
  const replies = await pending;
  assert.deepEqual(
    replies.map((r) => r.kind),
    ['error'],
  );
  assert.equal((replies[0] as { code: string }).code, 'timeout');
  assert.equal((replies[0] as { text: string }).text, '处理超时，请重试。');
  assert.ok(signalled, 'the engine was told to drop the request');
  assert.equal((await h.services.history.listUser('telegram', 'u1')).length, 0);
});

test('within the deadline a downloaded note is analysed as usual', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  h.services.requestTimeoutMs = 60_000;
  const replies = await handleVoice(h.ctx(), h.services, { trigger: 'auto', download: async () => wavBytes(1) });
  assert.equal(replies[0].kind, 'card');
  assert.equal((await h.services.history.listUser('telegram', 'u1')).length, 1);
});

test('the rate limit is checked before downloading: refused notes are never fetched', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  let downloads = 0;
  const download = async (): Promise<Uint8Array> => {
    downloads++;
    return wavBytes(0.6);
  };
  const kinds: string[] = [];
  for (let i = 0; i < 13; i++) {
    const replies = await handleVoice(h.ctx({ userId: 'spammer' }), h.services, { trigger: 'auto', download });
    kinds.push(replies[0].kind === 'error' ? (replies[0] as { code: string }).code : replies[0].kind);
  }
  // Default: 10 per minute per user (burst 10); the clock does not move.
  assert.deepEqual(kinds, [...Array(10).fill('card'), 'rate_limited', 'rate_limited', 'rate_limited']);
  assert.equal(downloads, 10);
});

test('an opted-out user’s note is never fetched', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  await h.services.settings.setUserSettings('telegram', 'u1', { privacy: 'out' });
  let downloads = 0;
  const replies = await handleVoice(h.ctx(), h.services, { trigger: 'auto', download: async () => (downloads++, wavBytes(1)) });
  assert.deepEqual(replies, []);
  assert.equal(downloads, 0);
});

test('a caller abort ends the request with the caller’s reason', async () => {
  const caller = new AbortController();
  const d = requestDeadline(60_000, caller.signal);
  const pending = d.race(never<number>());
  caller.abort(new Error('shutting down'));
  await assert.rejects(pending, (e: unknown) => isVoicemoodError(e, 'timeout'));
  d.clear();
});
