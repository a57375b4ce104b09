/** The in-process WAV parser: every sample encoding, chunk layouts, and headers that lie. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAudio } from '../../src/audio/decode.ts';
import { detectFormat } from '../../src/audio/detect.ts';
import { parseWavHeader } from '../../src/audio/wav.ts';
import { encodeWavPcm16 } from '../../src/audio/wavWriter.ts';
import { isVoicemoodError } from '../../src/domain/errors.ts';
import { makeWav, rms, tone, type SampleEncoding } from './helpers.ts';

const ramp = Float32Array.from({ length: 1600 }, (_, i) => Math.sin(i / 7) * 0.8);

for (const [enc, tolerance, label] of [
  ['u8', 1 / 64, 'wav/pcm8'],
  ['s16', 1 / 16384, 'wav/pcm16'],
  ['s24', 1e-6, 'wav/pcm24'],
  ['s32', 1e-6, 'wav/pcm32'],
  ['f32', 1e-7, 'wav/float32'],
  ['f64', 1e-7, 'wav/float64'],
] as [SampleEncoding, number, string][]) {
  for (const extensible of [false, true]) {
    test(`${label}${extensible ? ' (extensible)' : ''} at 16 kHz decodes sample-exact`, async () => {
      const d = await decodeAudio(makeWav([ramp], 16000, enc, { extensible }));
      assert.equal(d.format, extensible ? label.replace('wav/', 'wav/extensible-') : label);
      assert.equal(d.samples.length, ramp.length);
      let err = 0;
      for (let i = 0; i < ramp.length; i++) err = Math.max(err, Math.abs(d.samples[i] - ramp[i]));
      assert.ok(err <= tolerance, `max error ${err}`);
    });
  }
}

test('metadata chunks (LIST, odd sizes) before the data are skipped', async () => {
  const wav = makeWav([ramp], 16000, 's16', {
    extraChunks: [
      { id: 'LIST', body: new Uint8Array(33).fill(65) },
      { id: 'junk', body: new Uint8Array(1) },
    ],
  });
  const header = parseWavHeader(wav);
  assert.ok(header !== 'incomplete');
  assert.equal(header.dataOffset, wav.length - ramp.length * 2);
  const d = await decodeAudio(wav);
  assert.equal(d.samples.length, ramp.length);
});

test('streamed WAV (data size 0xFFFFFFFF, as ffmpeg writes to a pipe) reads to the end of the bytes', async () => {
  const d = await decodeAudio(makeWav([ramp], 16000, 's16', { claimedDataBytes: 0xffffffff }));
  assert.equal(d.samples.length, ramp.length);
  assert.equal(d.notes, undefined);
});

test('headers that lie are refused with a reason', async () => {
  const good = makeWav([ramp], 16000, 's16');
  const patch = (at: number, value: number, bytes: 2 | 4) => {
    const copy = good.slice();
    const v = new DataView(copy.buffer);
    if (bytes === 2) v.setUint16(at, value, true);
    else v.setUint32(at, value, true);
    return copy;
  };
  const cases: [Uint8Array, RegExp][] = [
    [patch(22, 0, 2), /0 channels/],
    [patch(24, 5, 4), /sample rate is 5 Hz/],
    [patch(24, 4_000_000_000, 4), /sample rate is 4000000000 Hz/],
    [patch(32, 0, 2), /16-bit samples, which do not fit its 0-byte blocks/],
    [patch(34, 32, 2), /32-bit samples, which do not fit its 2-byte blocks/],
    [good.subarray(0, 30), /ends inside its header/],
    [good.subarray(0, 44), /holds no audio samples/],
  ];
  for (const [bytes, message] of cases) {
    await assert.rejects(decodeAudio(bytes), (e: unknown) => isVoicemoodError(e, 'undecodable') && message.test(e.message));
  }
});

test('WAV codecs we do not decode in-process (ADPCM) go to ffmpeg', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vm-adpcm-'));
  try {
    const src = join(dir, 'in.wav');
    const out = join(dir, 'adpcm.wav');
    writeFileSync(src, encodeWavPcm16(tone(500, 16000, 1)));
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', src, '-c:a', 'adpcm_ms', out]);
    const d = await decodeAudio(new Uint8Array(readFileSync(out)));
    assert.match(d.format, /^wav \(codec 0x2\)$/);
    assert.ok(Math.abs(d.durationS - 1) < 0.05);
    assert.ok(Math.abs(rms(d.samples) - 0.5 / Math.SQRT2) < 0.05);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the 16 kHz writer makes a PCM16 WAV that reads back to the same samples', async () => {
  const x = tone(440, 16000, 0.7, 0.9);
  const wav = encodeWavPcm16(x);
  assert.equal(detectFormat(wav), 'wav');
  assert.deepEqual([...wav.subarray(0, 4)], [...Buffer.from('RIFF')]);
  assert.equal(wav.length, 44 + x.length * 2);
  const d = await decodeAudio(wav);
  assert.equal(d.format, 'wav/pcm16');
  assert.equal(d.samples.length, x.length);
  for (let i = 0; i < x.length; i += 13) assert.ok(Math.abs(d.samples[i] - x[i]) < 1 / 16000);
});

test('format detection looks at the bytes', () => {
  const b = (s: string, pad = 16) => new Uint8Array([...Buffer.from(s, 'latin1'), ...new Uint8Array(pad)]);
  assert.equal(detectFormat(b('fLaC')), 'flac');
  assert.equal(detectFormat(b('ID3\x04')), 'mp3');
  assert.equal(detectFormat(new Uint8Array([0xff, 0xfb, 0x90, 0x64, 0, 0])), 'mp3');
  assert.equal(detectFormat(new Uint8Array([0xff, 0xf1, 0x50, 0x80, 0, 0, 0])), 'aac');
  assert.equal(detectFormat(b('\0\0\0\x20ftypM4A ')), 'm4a');
  assert.equal(detectFormat(b('\0\0\0\x20ftypisom')), 'mp4');
  assert.equal(detectFormat(new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 0])), 'webm');
  assert.equal(detectFormat(b('RIFF\0\0\0\0WAVE')), 'wav');
  assert.equal(detectFormat(b('RIFF\0\0\0\0AVI ')), 'unknown');
  assert.equal(detectFormat(new Uint8Array([0xff, 0xff, 0xff, 0xff])), 'unknown');
  assert.equal(detectFormat(new Uint8Array(0)), 'unknown');
});
