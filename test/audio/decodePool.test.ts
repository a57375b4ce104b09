import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { decodeAudio, decodeInThread } from '../../src/audio/decode.ts';
import { DecodePool, decodeConcurrencyFromEnv } from '../../src/audio/decodePool.ts';
import { resolveLimits } from '../../src/audio/limits.ts';
import { isVoicemoodError, VoicemoodError } from '../../src/domain/errors.ts';
import { fixture, makeWav, noise } from './helpers.ts';

/** A 48 kHz stereo WAV long enough that decoding it takes a while (~17 MB). */
const long = makeWav([noise(48000 * 90, 0.3, 7), noise(48000 * 90, 0.3, 8)], 48000, 's16');
const limits = resolveLimits({ maxBytes: 64 * 1024 * 1024 });

/** Counts event-loop turns (1 ms timers) and the longest gap between two, until stop(). */
function loopWatch(): { stop(): { turns: number; maxGapMs: number } } {
  let turns = 0;
  let maxGapMs = 0;
  let last = performance.now();
  let on = true;
  const tick = () => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    turns++;
    if (on) setTimeout(tick, 1);
  };
  setImmediate(tick);
  return { stop: () => ((on = false), { turns, maxGapMs }) };
}

test('decodeAudio answers what the in-thread decode answers, for every path (WAV, Opus, ffmpeg)', async () => {
  for (const name of ['speech_16k_pcm16.wav', 'voice_telegram.ogg', 'speech.mp3']) {
    const a = await decodeAudio(fixture(name));
    const b = await decodeInThread(fixture(name));
    assert.equal(a.format, b.format, name);
    assert.deepEqual(a.samples, b.samples, name);
  }
});

test('a long decode runs off the event loop: the loop keeps turning while it decodes', async () => {
  await decodeAudio(fixture('speech_16k_pcm16.wav')); // the worker is up
  const watch = loopWatch();
  const d = await decodeAudio(long, { limits });
  const { turns, maxGapMs } = watch.stop();
  assert.equal(d.samples.length, 16000 * 90);
  // In-thread, the loop turns only when the decoder yields (every 8 × 64 Ki frames): for comparison.
  const inThread = loopWatch();
  await decodeInThread(long, { limits });
  const blocked = inThread.stop();
  console.log(
    `loop turns while decoding 90 s of 48 kHz stereo: worker ${turns} (longest gap ${maxGapMs.toFixed(0)} ms), in-thread ${blocked.turns} (longest gap ${blocked.maxGapMs.toFixed(0)} ms)`,
  );
  assert.ok(turns > 20, `only ${turns} loop turns`);
  assert.ok(maxGapMs < 1000, `the loop stalled ${maxGapMs} ms`);
});

test('errors come back typed, with their code, sentence and details', async () => {
  const e = await decodeAudio(new Uint8Array(1000).fill(7), { filename: 'x.wav' }).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(e instanceof VoicemoodError);
  assert.equal(e.code, 'undecodable');
  assert.match(e.message, /does not look like audio.*name ends in \.wav/);
  assert.equal(e.details.format, 'unknown');
  const short = await decodeAudio(fixture('voice_telegram.ogg'), { limits: { maxDecodeS: 0.5 } }).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(isVoicemoodError(short, 'too_long'));
  assert.equal(short.details.maxDecodeS, 0.5);
});

test('bytes are copied unless the caller hands them over; the samples come back whole', async () => {
  const kept = fixture('voice_telegram.ogg');
  await decodeAudio(kept);
  assert.ok(kept.byteLength > 0);
  const given = fixture('voice_telegram.ogg');
  const d = await decodeAudio(given, { transfer: true });
  assert.equal(given.byteLength, 0); // moved to the worker, not copied
  assert.ok(d.samples.length > 16000);
  // A view into a larger buffer is copied (only its own bytes), even with transfer.
  const big = new Uint8Array(kept.length + 100);
  big.set(kept, 50);
  const view = big.subarray(50, 50 + kept.length);
  await decodeAudio(view, { transfer: true });
  assert.equal(view.byteLength, kept.length);
});

test('the pool runs at most `size` decodes; the rest wait in order, each within its deadline and abort', async () => {
  const pool = new DecodePool(1);
  try {
    const opts = { limits };
    const first = pool.decode(long, opts);
    const waiting = new AbortController();
    const second = pool.decode(fixture('voice_telegram.ogg'), opts, waiting.signal);
    const third = pool.decode(fixture('voice_telegram.ogg'), opts);
    assert.deepEqual(pool.load, { running: 1, queued: 2, workers: 1 });
    waiting.abort();
    await assert.rejects(second, (e) => isVoicemoodError(e, 'timeout') && /cancelled/.test(e.message));
    assert.deepEqual(pool.load, { running: 1, queued: 1, workers: 1 });
    // One that waits its whole deadline for a worker is answered busy: the load, not the file.
    const expiring = pool.decode(fixture('voice_telegram.ogg'), { limits: { ...limits, timeoutMs: 5 } });
    await assert.rejects(expiring, (e) => isVoicemoodError(e, 'busy') && e.retryAfterS !== undefined);
    assert.equal((await first).samples.length, 16000 * 90);
    assert.ok((await third).samples.length > 16000);
    assert.equal(pool.load.workers, 1);
  } finally {
    await pool.close();
  }
});

test('a decode that runs past its deadline in the worker is a timeout (not busy)', async () => {
  const pool = new DecodePool(1);
  try {
    await pool.decode(fixture('voice_telegram.ogg'), { limits }); // the worker is up: no wait below
    const tooSlow = pool.decode(long, { limits: { ...limits, timeoutMs: 1 } });
    await assert.rejects(tooSlow, (e) => isVoicemoodError(e, 'timeout') && /took longer than 0 s/.test(e.message));
    assert.ok((await pool.decode(fixture('voice_telegram.ogg'), { limits })).samples.length > 16000);
  } finally {
    await pool.close();
  }
});

test('an abort reaches the running decode in its worker, which then takes the next one', async () => {
  const pool = new DecodePool(1);
  try {
    const controller = new AbortController();
    const running = pool.decode(long, { limits }, controller.signal);
    const next = pool.decode(fixture('voice_telegram.ogg'), { limits });
    setImmediate(() => controller.abort());
    await assert.rejects(running, (e) => isVoicemoodError(e, 'timeout') && /cancelled/.test(e.message));
    assert.ok((await next).samples.length > 16000);
    assert.equal(pool.load.workers, 1); // the same worker: it stopped, it was not killed
  } finally {
    await pool.close();
  }
});

test('VOICEMOOD_DECODE_CONCURRENCY sizes the pool (default: the cores)', async () => {
  const { availableParallelism } = await import('node:os');
  assert.equal(decodeConcurrencyFromEnv({}), availableParallelism());
  assert.equal(decodeConcurrencyFromEnv({ VOICEMOOD_DECODE_CONCURRENCY: '3' }), 3);
  assert.throws(
    () => decodeConcurrencyFromEnv({ VOICEMOOD_DECODE_CONCURRENCY: '0' }),
    (e) => isVoicemoodError(e, 'bad_input'),
  );
});

test('idle decode workers do not keep a process alive', async () => {
  const script = `import { decodeAudio } from ${JSON.stringify(new URL('../../src/audio/decode.ts', import.meta.url).href)};
    import { readFileSync } from 'node:fs';
    const d = await decodeAudio(new Uint8Array(readFileSync(${JSON.stringify(new URL('../fixtures/audio/voice_telegram.ogg', import.meta.url).pathname)})));
    console.log(d.format);`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 });
  assert.equal(stdout.trim(), 'ogg/opus');
});

test('Node Buffers decode too: pooled small ones, file reads, and views (copied, or moved when they may be)', async () => {
  const { readFileSync } = await import('node:fs');
  const path = new URL('../fixtures/audio/voice_telegram.ogg', import.meta.url);
  const file = readFileSync(path);
  assert.ok((await decodeAudio(file)).durationS > 1);
  assert.ok((await decodeAudio(readFileSync(path), { transfer: true })).durationS > 1);
  const small = Buffer.from(makeWav([noise(1000, 0.3)], 16000, 's16')); // under 4 KB: from Node's shared pool
  assert.equal((await decodeAudio(small, { transfer: true })).samples.length, 1000);
  assert.equal(small.length, 2044); // the pool's memory was copied, not moved
  assert.equal((await decodeAudio(file.subarray(0))).format, 'ogg/opus');
});

test('in-process decoders give the event loop a turn now and then, so an abort arriving as a message stops them', async () => {
  const ogg = new Uint8Array(readFileSync(new URL('../fixtures/telegram/voice-long.ogg', import.meta.url))); // > 250 packets
  for (const [name, bytes] of [
    ['wav', long],
    ['ogg', ogg],
  ] as const) {
    const controller = new AbortController();
    setImmediate(() => controller.abort()); // fires on the next turn of the loop, as the worker's abort message would
    const outcome = await decodeInThread(bytes, { limits, signal: controller.signal }).then(
      () => 'decoded to the end',
      (e: unknown) => (isVoicemoodError(e, 'timeout') ? 'stopped' : String(e)),
    );
    assert.equal(outcome, 'stopped', name);
  }
});
