/**
 * Anti-aliasing and down-mixing. The figures: a 7 kHz tone at 44.1 kHz resampled to 16 kHz must
 * leave nothing above -60 dB besides the tone; a 10 kHz tone (above the new Nyquist, 8 kHz)
 * must be suppressed by more than 60 dB instead of folding back to 6 kHz. Naive linear
 * interpolation fails both (checked below, so the measurement itself is shown to bite).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAudio } from '../../src/audio/decode.ts';
import { resolveLimits } from '../../src/audio/limits.ts';
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
  await resample(tone(3000, 22050, 0.5, 0.9), 22050); // leaves a loud tail in the filter, then goes back to the pool
  const silence = await resample(new Float32Array(22050), 22050);
  assert.equal(Math.max(...silence.map(Math.abs)), 0);
});
