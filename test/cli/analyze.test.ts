/**
 * `voicemood analyze` end to end: the real CLI (bin/voicemood.js) in a child process, with the
 * tiny random-weight model from our own graph builder, on real encoded files and the broken corpus.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAudio } from '../../src/audio/decode.ts';
import { writeTinyModel } from '../helpers/tinyModel.ts';
import { EMOTIONS } from '../../src/domain/emotions.ts';
import { decodeNpy } from '../../src/util/npy.ts';
import { fixturePath } from '../audio/helpers.ts';

const BIN = new URL('../../bin/voicemood.js', import.meta.url).pathname;
let root: string;
let model: string;
let inputs: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'analyze', '--model', model, ...args],
      { cwd: root, env: { ...process.env, VOICEMOOD_CACHE_DIR: join(root, 'cache'), NODE_ENV: 'test', ...env }, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'vm-cli-'));
  model = join(root, 'tiny.onnx');
  await writeTinyModel(model);
  inputs = join(root, 'in');
  mkdirSync(join(inputs, 'sub', 'deeper'), { recursive: true });
  copyFileSync(fixturePath('voice_telegram.ogg'), join(inputs, 'voice.ogg'));
  copyFileSync(fixturePath('speech.mp3'), join(inputs, 'sub', 'speech.mp3'));
  copyFileSync(fixturePath('speech_16k_pcm16.wav'), join(inputs, 'sub', 'speech.wav'));
  copyFileSync(fixturePath('speech_8k_pcm16.wav'), join(inputs, 'sub', 'deeper', 'speech.wav')); // same name: folders must not collide
  writeFileSync(join(inputs, 'notes.txt'), 'not audio, not an audio name: skipped by the folder walk');
  for (const f of readdirSync(fixturePath('broken'))) copyFileSync(join(fixturePath('broken'), f), join(inputs, `broken_${f}`));
});

after(() => rmSync(root, { recursive: true, force: true }));

test('a batch with --json: one valid JSON line per input on stdout, nothing else; goes on past bad files; exit 1', async () => {
  const out = join(root, 'out-batch');
  const r = await cli([inputs, join(root, 'missing.ogg'), '--json', '--embedding', '--out', out]);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines.pop(), '', 'stdout ends with a newline');
  const objects = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(objects.length, 4 + 5 + 1);
  for (const o of objects) assert.equal(Object.keys(o)[0], 'input');
  const byInput = new Map(objects.map((o) => [String(o.input), o]));

  const failures = objects.filter((o) => 'error' in o);
  assert.equal(failures.length, 6);
  for (const f of failures) {
    assert.equal(typeof f.error, 'string');
    assert.ok(['undecodable', 'not_found'].includes(String(f.code)), String(f.code));
    assert.equal('emotion' in f, false);
  }
  assert.equal(byInput.get(join(root, 'missing.ogg'))?.code, 'not_found');
  assert.match(String(byInput.get(join(inputs, 'broken_truncated.ogg'))?.error), /truncated/);
  assert.match(String(byInput.get(join(inputs, 'broken_hours.wav'))?.error), /promises 1 h/);

  const good = objects.filter((o) => !('error' in o));
  assert.deepEqual(
    good.map((o) => o.input).sort(),
    [join(inputs, 'sub', 'deeper', 'speech.wav'), join(inputs, 'sub', 'speech.mp3'), join(inputs, 'sub', 'speech.wav'), join(inputs, 'voice.ogg')].sort(),
  );
  const dirs = new Set<string>();
  for (const o of good) {
    assert.ok(EMOTIONS.includes(o.emotion as never));
    const scores = o.scores as Record<string, number>;
    assert.deepEqual(Object.keys(scores), [...EMOTIONS]);
    assert.ok(Math.abs(Object.values(scores).reduce((a, b) => a + b, 0) - 1) < 1e-4);
    assert.equal(o.confidence, scores[o.emotion as string]);
    assert.equal(o.granularity, 'utterance');
    assert.ok(Math.abs((o.duration_s as number) - 1.043) < 0.01);
    assert.equal(o.model, 'tiny-random');
    assert.ok(!Number.isNaN(Date.parse(String(o.timestamp))));
    const embedding = o.embedding as number[];
    assert.equal(embedding.length, 32);
    // The folder: <out>/<name>_<YYYYMMDD_HHMMSS>[_n]/ with the three files.
    const dir = String(o.output_dir);
    assert.match(dir, /\/(voice|speech)_\d{8}_\d{6}(_\d+)?$/);
    assert.ok(dir.startsWith(out));
    dirs.add(dir);
    assert.deepEqual(readdirSync(dir).sort(), ['embedding.npy', 'processed_audio.wav', 'result.json']);
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8'));
    for (const key of ['emotion', 'confidence', 'scores', 'granularity', 'timestamp', 'duration_s', 'model']) assert.deepEqual(result[key], o[key], key);
    const npy = decodeNpy(new Uint8Array(readFileSync(join(dir, 'embedding.npy'))));
    assert.deepEqual(npy.shape, [1, 32]);
    assert.deepEqual(
      [...npy.data],
      embedding.map((v) => Math.fround(v)),
    );
    const wav = await decodeAudio(new Uint8Array(readFileSync(join(dir, 'processed_audio.wav'))));
    assert.equal(wav.format, 'wav/pcm16');
    assert.equal(wav.sourceSampleRate, 16000);
    assert.equal(wav.sourceChannels, 1);
    assert.ok(Math.abs(wav.durationS - (o.duration_s as number)) < 0.001);
  }
  assert.equal(dirs.size, 4, 'two speech.wav inputs get two folders');

  assert.match(r.stderr, /4 analysed, 6 failed \(of 10\)/);
  for (const f of failures) assert.ok(r.stderr.includes(String(f.input)), `summary names ${String(f.input)}`);
});

test('--granularity frame: per-frame times, emotions and scores; embedding.npy is [T, D]', async () => {
  const out = join(root, 'out-frame');
  const r = await cli([join(inputs, 'voice.ogg'), '-g', 'frame', '--embedding', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /voice\.ogg\t\w+\t\d+\.\d%\t/);
  assert.match(r.stderr, /1 analysed, 0 failed/);
  const [dir] = readdirSync(out);
  const result = JSON.parse(readFileSync(join(out, dir, 'result.json'), 'utf8'));
  assert.equal(result.granularity, 'frame');
  assert.ok(result.frames.length > 40 && result.frames.length <= 53, `${result.frames.length} frames for ~1 s at 50 per second`);
  result.frames.forEach((f: { time: number; emotion: string; scores: Record<string, number> }, i: number) => {
    assert.ok(Math.abs(f.time - i / 50) < 1e-3);
    assert.deepEqual(Object.keys(f.scores), [...EMOTIONS]);
    assert.equal(
      f.emotion,
      EMOTIONS.reduce((best, e) => (f.scores[e] > f.scores[best] ? e : best), EMOTIONS[0]),
    );
  });
  const npy = decodeNpy(new Uint8Array(readFileSync(join(out, dir, 'embedding.npy'))));
  assert.deepEqual(npy.shape, [result.frames.length, 32]);
});

test('each broken file alone: its own message on stderr and a non-zero exit', async () => {
  const cases: [string, RegExp][] = [
    ['broken_empty.wav', /empty \(0 bytes\)/],
    ['broken_hours.wav', /holds no audio samples \(its header promises 1 h 0 min\)/],
    ['broken_random.wav', /does not look like audio/],
    ['broken_truncated.ogg', /truncated/],
    ['broken_wrong_magic.ogg', /does not look like audio/],
  ];
  const runs = await Promise.all(cases.map(([file]) => cli([join(inputs, file), '--out', join(root, 'out-broken')])));
  runs.forEach((r, i) => {
    assert.notEqual(r.code, 0, cases[i][0]);
    assert.match(r.stderr, cases[i][1]);
    assert.equal(r.stdout, '');
  });
  assert.equal(existsSync(join(root, 'out-broken')) ? readdirSync(join(root, 'out-broken')).length : 0, 0, 'no folder for a failed input');
});

test('a folder without audio is a usage error', async () => {
  const empty = join(root, 'empty');
  mkdirSync(empty, { recursive: true });
  const r = await cli([empty]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /No audio files found/);
});

test('audio longer than the segment length is analysed in segments; frame times run on across them', async () => {
  const out = join(root, 'out-segments');
  const r = await cli([join(inputs, 'voice.ogg'), '-g', 'frame', '--json', '--out', out], { VOICEMOOD_AUDIO_SEGMENT_SECONDS: '0.5' });
  assert.equal(r.code, 0, r.stderr);
  const line = JSON.parse(r.stdout);
  const frames = line.frames as { time: number }[];
  // ~1.04 s in three segments of ~0.35 s: each gives ~17 frames, and the times keep increasing.
  assert.ok(frames.length > 40, `${frames.length} frames`);
  for (let i = 1; i < frames.length; i++) assert.ok(frames[i].time > frames[i - 1].time);
  assert.ok(frames.at(-1)!.time > 0.9 && frames.at(-1)!.time < 1.05);
  const whole = JSON.parse((await cli([join(inputs, 'voice.ogg'), '--json', '--out', out])).stdout);
  assert.notDeepEqual(line.scores, whole.scores, 'segmenting changes what the model hears');
});

test('a bad limit in the environment is a usage error before any file is touched', async () => {
  const r = await cli([join(inputs, 'voice.ogg'), '--out', join(root, 'out-env')], { VOICEMOOD_AUDIO_MAX_MB: 'lots' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /VOICEMOOD_AUDIO_MAX_MB=lots is not a valid number/);
  assert.equal(existsSync(join(root, 'out-env')), false);
});
