/** analyzeVoice, the use case the bots and the CLI call: decode → limits → segments → combine. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeVoice, segmentBounds } from '../../src/usecases/analyzeVoice.ts';
import { EMOTIONS } from '../../src/domain/emotions.ts';
import { VoicemoodError, isVoicemoodError } from '../../src/domain/errors.ts';
import { fakeEngine, fixture, makeWav, tone } from '../audio/helpers.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/inference/engine.ts';
import { writeTinyModel } from '../helpers/tinyModel.ts';
import { embeddingMatrix } from '../../src/render/resultJson.ts';

test('segmentBounds: equal pieces no longer than the limit, covering every sample once', () => {
  assert.deepEqual(segmentBounds(100, 10, 60), [{ start: 0, end: 100 }]);
  const parts = segmentBounds(16000 * 61, 16000, 60); // 61 s → two halves of 30.5 s, not 60 + 1
  assert.deepEqual(
    parts.map((p) => (p.end - p.start) / 16000),
    [30.5, 30.5],
  );
  const odd = segmentBounds(1_000_003, 16000, 7.3);
  assert.equal(odd[0].start, 0);
  assert.equal(odd.at(-1)!.end, 1_000_003);
  for (let i = 1; i < odd.length; i++) assert.equal(odd[i].start, odd[i - 1].end);
  for (const p of odd) assert.ok(p.end - p.start <= 7.3 * 16000);
});

test('a voice note up to segmentS is one engine call; the result carries audio and segments', async () => {
  const engine = fakeEngine();
  const a = await analyzeVoice(engine, fixture('voice_telegram.ogg'), { filename: 'voice.ogg' });
  assert.equal(engine.calls.length, 1);
  assert.equal(engine.calls[0].length, a.audio.samples.length);
  assert.equal(a.audio.format, 'ogg/opus');
  assert.equal(a.segments.length, 1);
  assert.equal(a.durationS, a.audio.durationS);
  assert.equal(a.emotion, a.segments[0].result.emotion);
  assert.deepEqual(a.scores, a.segments[0].result.scores);
  assert.deepEqual([...a.embedding], [...a.segments[0].result.embedding]);
  assert.equal(a.frames, undefined);
  assert.equal(a.model, 'fake');
});

test('longer than segmentS: analysed in segments, combined by duration, frames placed at their true times', async () => {
  // 0.6 s loud, then 0.6 s quiet, then 0.6 s loud: the fake engine's answer follows loudness.
  const loud = tone(300, 16000, 0.6, 0.5);
  const quiet = tone(300, 16000, 0.6, 0.02);
  const x = new Float32Array(loud.length * 3);
  x.set(loud, 0);
  x.set(quiet, loud.length);
  x.set(loud, loud.length * 2);
  const engine = fakeEngine();
  const a = await analyzeVoice(engine, makeWav([x], 16000, 'f32'), { limits: { segmentS: 0.6 }, frames: true });
  assert.equal(a.segments.length, 3);
  assert.deepEqual(
    engine.calls.map((c) => c.length),
    [9600, 9600, 9600],
  );
  assert.deepEqual(
    a.segments.map((s) => s.startS),
    [0, 0.6, 1.2],
  );
  assert.notEqual(a.segments[1].result.emotion, a.segments[0].result.emotion);
  for (const e of EMOTIONS) {
    const expected = a.segments.reduce((s, seg) => s + seg.result.scores[e] * (seg.durationS / 1.8), 0);
    assert.ok(Math.abs(a.scores[e] - expected) < 1e-9, e);
  }
  const sum = EMOTIONS.reduce((s, e) => s + a.scores[e], 0);
  assert.ok(Math.abs(sum - 1) < 1e-9);
  assert.equal(a.confidence, Math.max(...EMOTIONS.map((e) => a.scores[e])));
  for (let i = 0; i < a.embedding.length; i++) {
    const expected = a.segments.reduce((s, seg) => s + seg.result.embedding[i] / 3, 0);
    assert.ok(Math.abs(a.embedding[i] - expected) < 1e-6);
  }
  const f = a.frames!;
  assert.equal(f.count, 30 * 3);
  assert.equal(f.times.length, f.count);
  assert.equal(f.embeddings!.length, f.count * f.dim);
  assert.equal(f.scores.length, f.count * 9);
  assert.ok(Math.abs(f.times[30] - 0.6) < 1e-6 && Math.abs(f.times[89] - (1.2 + 29 / 50)) < 1e-5);
  for (let i = 1; i < f.count; i++) assert.ok(f.times[i] > f.times[i - 1]);
  // The quiet middle shows in the frames that came from the middle segment only.
  assert.ok(f.scores[45 * 9 + 6] > f.scores[45 * 9 + 3] && f.scores[15 * 9 + 3] > f.scores[15 * 9 + 6]);
});

test('too short and silent inputs never reach the engine', async () => {
  const engine = fakeEngine();
  await assert.rejects(analyzeVoice(engine, makeWav([tone(300, 16000, 0.3)], 16000, 's16')), (e) => isVoicemoodError(e, 'too_short'));
  await assert.rejects(analyzeVoice(engine, makeWav([new Float32Array(32000)], 16000, 's16')), (e) => isVoicemoodError(e, 'silent'));
  await assert.rejects(analyzeVoice(engine, fixture('broken/random.wav')), (e) => isVoicemoodError(e, 'undecodable'));
  assert.equal(engine.calls.length, 0);
});

test("the engine's own errors (busy) reach the caller unchanged", async () => {
  const engine = fakeEngine({
    onAnalyze: () => {
      throw new VoicemoodError('busy', 'Too many voices at once; try again in a moment.', { retryAfterS: 2 });
    },
  });
  await assert.rejects(analyzeVoice(engine, fixture('voice_telegram.ogg')), (e) => isVoicemoodError(e, 'busy') && e.retryAfterS === 2);
});

test('frames without frame embeddings (what the bots ask): the same per-frame scores over every segment, no embeddings', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vm-av-'));
  const engine = await Engine.open((await writeTinyModel(join(dir, 'tiny.onnx'))).path, { optimizedCacheDir: false, threads: 1 });
  try {
    const x = tone(220, 16000, 1.8, 0.4);
    const wav = makeWav([x], 16000, 'f32');
    const full = await analyzeVoice(engine, wav, { limits: { segmentS: 0.6 }, frames: true });
    const lean = await analyzeVoice(engine, wav, { limits: { segmentS: 0.6 }, frames: true, frameEmbeddings: false });
    assert.equal(lean.segments.length, 3);
    assert.ok(full.frames?.embeddings && lean.frames);
    assert.equal(lean.frames.embeddings, undefined);
    assert.ok(
      lean.segments.every((s) => s.result.frames && s.result.frames.embeddings === undefined),
      'no segment carries them either',
    );
    assert.equal(lean.frames.count, full.frames.count);
    assert.deepEqual([...lean.frames.times], [...full.frames.times]);
    for (let i = 0; i < full.frames.scores.length; i++) assert.ok(Math.abs(lean.frames.scores[i] - full.frames.scores[i]) < 1e-6);
    assert.throws(
      () => embeddingMatrix(lean, 'frame'),
      (e) => isVoicemoodError(e, 'internal'),
    );
    assert.equal(embeddingMatrix(full, 'frame').shape[0], full.frames.count);
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
