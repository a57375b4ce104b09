/**
 * Anti-aliasing and down-mixing. The figures: a 7 kHz tone at 44.1 kHz resampled to 16 kHz must
 * leave nothing above -60 dB besides the tone; a 10 kHz tone (above the new Nyquist, 8 kHz)
 * must be suppressed by more than 60 dB instead of folding back to 6 kHz. Naive linear
 * interpolation fails both (checked below, so the measurement itself is shown to bite).
 * Usual rates go through our polyphase filter (src/audio/polyphase.ts), odd ones through
 * libsamplerate; both are measured.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAudio } from '../../src/audio/decode.ts';
import { resolveLimits } from '../../src/audio/limits.ts';
import { PolyphaseResampler, designPolyphase } from '../../src/audio/polyphase.ts';
import { MonoResampler } from '../../src/audio/resample.ts';
import { makeWav, peakHz, rms, spectrumDb, spuriousDb, tone } from './helpers.ts';

const FFT = 16384;

async function resample(x: Float32Array, rate: number): Promise<Float32Array> {
  const r = await MonoResampler.open(rate, resolveLimits(), x.length);
  r.push(x, 1);
  return r.finish();
}

function linearInterpolation(x: Float32Array, from: number, to: number): Float32Array {
  const out = new Float32Array(Math.round((x.length * to) / from));
  for (let i = 0; i < out.length; i++) {
    const p = (i * from) / to;
    const j = Math.floor(p);
    out[i] = x[j] + ((x[j + 1] ?? 0) - x[j]) * (p - j);
  }
  return out;
}

test('7 kHz at 44.1 kHz → 16 kHz: the tone stays, no alias above -60 dB', async () => {
  const out = await resample(tone(7000, 44100, 1.5), 44100);
  const block = out.subarray(4000, 4000 + FFT);
  const spec = spectrumDb(block, FFT);
  assert.ok(Math.abs(peakHz(spec, 16000) - 7000) < 2, `peak at ${peakHz(spec, 16000)} Hz`);
  const worst = spuriousDb(spec, 16000, 7000, 60);
  console.log(`# 7 kHz tone 44.1→16 kHz: worst spurious component ${worst.toFixed(1)} dB re. the tone`);
  assert.ok(worst < -60, `spurious component at ${worst.toFixed(1)} dB`);
  // The tone's level survives: 7 kHz is inside the 90 % passband (0.5 amplitude → 0.354 RMS).
  assert.ok(Math.abs(rms(block) - 0.5 / Math.SQRT2) < 0.02, `rms ${rms(block)}`);

  const naive = spectrumDb(linearInterpolation(tone(7000, 44100, 1.5), 44100, 16000).subarray(4000, 4000 + FFT), FFT);
  const naiveWorst = spuriousDb(naive, 16000, 7000, 60);
  console.log(`# the same with linear interpolation: ${naiveWorst.toFixed(1)} dB`);
  assert.ok(naiveWorst > -60, 'the measurement must catch a resampler without a real filter');
});

test('10 kHz at 44.1 kHz (above the new Nyquist) is filtered out, not folded to 6 kHz', async () => {
  const input = tone(10000, 44100, 1.5);
  const out = await resample(input, 44100);
  const level = 20 * Math.log10(rms(out.subarray(4000, out.length - 4000)) / rms(input));
  console.log(`# 10 kHz tone 44.1→16 kHz: residue ${level.toFixed(1)} dB`);
  assert.ok(level < -60, `residue at ${level.toFixed(1)} dB`);
  const naive = linearInterpolation(input, 44100, 16000);
  const naiveLevel = 20 * Math.log10(rms(naive.subarray(4000, naive.length - 4000)) / rms(input));
  assert.ok(naiveLevel > -20, `linear interpolation folds it back (${naiveLevel.toFixed(1)} dB)`);
});

test('48 kHz → 16 kHz keeps a 1 kHz tone exact in frequency and level, and the length exact', async () => {
  const input = tone(1000, 48000, 2);
  const out = await resample(input, 48000);
  assert.equal(out.length, 32000);
  const spec = spectrumDb(out.subarray(0, FFT), FFT);
  assert.ok(Math.abs(peakHz(spec, 16000) - 1000) < 2);
  assert.ok(Math.abs(rms(out.subarray(1000, 31000)) - rms(input)) < 0.005);
  // The filter's delay is compensated: the output lines up with an ideal 16 kHz tone.
  const ideal = tone(1000, 16000, 2);
  let err = 0;
  for (let i = 1000; i < 31000; i++) err = Math.max(err, Math.abs(out[i] - ideal[i]));
  assert.ok(err < 0.01, `max deviation from the ideal tone ${err}`);
});

test('odd rates (11025, 22050, 96000 Hz) give round(n · 16000 / rate) samples', async () => {
  for (const rate of [11025, 22050, 96000, 8000, 16000]) {
    const n = Math.round(rate * 0.77);
    const out = await resample(tone(440, rate, 0.77), rate);
    assert.equal(out.length, Math.round((n * 16000) / rate), `rate ${rate}`);
  }
});

test('stereo and multichannel WAV are down-mixed to the mean of the channels', async () => {
  const left = tone(440, 16000, 1, 0.6);
  const right = tone(1000, 16000, 1, 0.2);
  const d = await decodeAudio(makeWav([left, right], 16000, 's16'));
  assert.equal(d.sourceChannels, 2);
  for (let i = 0; i < d.samples.length; i += 97) assert.ok(Math.abs(d.samples[i] - (left[i] + right[i]) / 2) < 2e-4);
  // Six channels, 5.1-style; one loud channel and five silent ones.
  const silent = new Float32Array(left.length);
  const six = await decodeAudio(makeWav([left, silent, silent, silent, silent, silent], 16000, 'f32', { extensible: true }));
  assert.equal(six.sourceChannels, 6);
  assert.equal(six.format, 'wav/extensible-float32');
  assert.ok(Math.abs(rms(six.samples) - rms(left) / 6) < 1e-4);
  // Out-of-phase channels cancel: that is what a mono mix of them is, and it is then silent.
  const inverted = left.map((v) => -v);
  const cancelled = await decodeAudio(makeWav([left, inverted], 16000, 'f32'));
  assert.ok(rms(cancelled.samples) < 1e-6);
});

test('a reused converter starts clean: the previous signal does not leak into the next one', async () => {
  await resample(tone(3000, 22050, 0.5, 0.9), 22050);
  await resample(tone(3000, 44101, 0.5, 0.9), 44101); // libsamplerate's pool
  const quiet = await resample(new Float32Array(44101), 44101);
  assert.equal(Math.max(...quiet.map(Math.abs)), 0); // leaves a loud tail in the filter, then goes back to the pool
  const silence = await resample(new Float32Array(22050), 22050);
  assert.equal(Math.max(...silence.map(Math.abs)), 0);
});

test('polyphase: the output does not depend on how the input is cut into blocks', () => {
  const d = designPolyphase(44100, 16000)!;
  const x = tone(523, 44100, 0.5, 0.7);
  const whole = new PolyphaseResampler(d);
  const a = concat([whole.push(x), whole.finish()]);
  const pieces = new PolyphaseResampler(d);
  const parts: Float32Array[] = [];
  for (let i = 0, size = 1; i < x.length; i += size, size = (size * 7 + 3) % 5000 || 1) parts.push(pieces.push(x.subarray(i, i + size)));
  parts.push(pieces.finish());
  const b = concat(parts);
  assert.equal(a.length, Math.round((x.length * 16000) / 44100));
  assert.deepEqual(b, a);
});

test('polyphase: up-sampling 8 kHz and 11.025 kHz keeps tones aligned with the ideal 16 kHz tone', () => {
  for (const rate of [8000, 11025, 22050, 32000, 44100, 48000, 96000]) {
    const d = designPolyphase(rate, 16000)!;
    assert.ok(d, `rate ${rate} has a polyphase design`);
    const r = new PolyphaseResampler(d);
    const out = concat([r.push(tone(700, rate, 1)), r.finish()]);
    const ideal = tone(700, 16000, 1);
    assert.equal(out.length, 16000);
    let err = 0;
    for (let i = 800; i < 15200; i++) err = Math.max(err, Math.abs(out[i] - ideal[i]));
    assert.ok(err < 1e-3, `rate ${rate}: max deviation ${err}`);
  }
});

test('rates without a small rational ratio (44 101 Hz) fall back to libsamplerate, still band-limited', async () => {
  assert.equal(designPolyphase(44101, 16000), undefined);
  const out = await resample(tone(7000, 44101, 1.5), 44101);
  assert.equal(out.length, Math.round((Math.round(44101 * 1.5) * 16000) / 44101));
  const spec = spectrumDb(out.subarray(4000, 4000 + FFT), FFT);
  assert.ok(Math.abs(peakHz(spec, 16000) - 7000) < 2);
  const worst = spuriousDb(spec, 16000, 7000, 60);
  console.log(`# fallback (libsamplerate) 7 kHz tone 44.101→16 kHz: worst spurious ${worst.toFixed(1)} dB`);
  assert.ok(worst < -60);
});

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
