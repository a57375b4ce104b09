/**
 * Decoding REAL encoded files (test/fixtures/audio, made by scripts/make-audio-fixtures.sh from
 * one espeak-ng sentence): each must give the same speech as the 16 kHz PCM reference —
 * duration, level, and waveform (lossless) or energy envelope (lossy) correlation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAudio } from '../../src/audio/decode.ts';
import { bestCorrelation, correlation, envelope, fixture, rms } from './helpers.ts';

const reference = await decodeAudio(fixture('speech_16k_pcm16.wav'));

interface Case {
  file: string;
  format: string;
  rate: number;
  channels: number;
  /** Minimum waveform correlation with the reference (lossless paths), or undefined for lossy. */
  wave?: number;
  /** Minimum 20 ms energy-envelope correlation. */
  env: number;
  /** Seconds of the reference this file holds (some are cut short to stay small). */
  seconds?: number;
  /** Expected level relative to the reference (default 1). */
  level?: number;
}

const cases: Case[] = [
  { file: 'speech_16k_pcm16.wav', format: 'wav/pcm16', rate: 16000, channels: 1, wave: 0.99999, env: 0.9999 },
  { file: 'speech_16k_u8.wav', format: 'wav/pcm8', rate: 16000, channels: 1, wave: 0.99, env: 0.99 },
  { file: 'speech_16k_pcm24.wav', format: 'wav/pcm24', rate: 16000, channels: 1, wave: 0.999, env: 0.999 },
  { file: 'speech_16k_pcm32.wav', format: 'wav/pcm32', rate: 16000, channels: 1, wave: 0.999, env: 0.999 },
  { file: 'speech_16k_float32.wav', format: 'wav/float32', rate: 16000, channels: 1, wave: 0.999, env: 0.999 },
  { file: 'speech_16k_extensible_pcm24.wav', format: 'wav/extensible-pcm24', rate: 16000, channels: 1, wave: 0.999, env: 0.999 },
  { file: 'speech_8k_pcm16.wav', format: 'wav/pcm16', rate: 8000, channels: 1, env: 0.97 },
  { file: 'speech_8k_float64.wav', format: 'wav/float64', rate: 8000, channels: 1, env: 0.97 },
  { file: 'speech_44k1_stereo_0.5s.wav', format: 'wav/pcm16', rate: 44100, channels: 2, wave: 0.99, env: 0.99, seconds: 0.5, level: Math.SQRT1_2 }, // ffmpeg's mono→stereo upmix puts each channel at -3 dB
  { file: 'speech_48k_pcm16_0.9s.wav', format: 'wav/pcm16', rate: 48000, channels: 1, wave: 0.99, env: 0.99, seconds: 0.9 },
  { file: 'voice_telegram.ogg', format: 'ogg/opus', rate: 48000, channels: 1, env: 0.95 },
  { file: 'speech.mp3', format: 'mp3', rate: 48000, channels: 1, env: 0.95 },
  { file: 'speech.m4a', format: 'm4a', rate: 48000, channels: 1, env: 0.95 },
  { file: 'speech.flac', format: 'flac', rate: 22050, channels: 1, wave: 0.99, env: 0.99 },
  { file: 'speech_vorbis.ogg', format: 'ogg/vorbis', rate: 48000, channels: 1, env: 0.95 },
  { file: 'speech.webm', format: 'webm', rate: 48000, channels: 1, env: 0.95 },
  { file: 'videonote.mp4', format: 'mp4', rate: 48000, channels: 1, env: 0.95 },
];

for (const c of cases) {
  test(`decodes ${c.file} (${c.format}) to the reference speech`, async () => {
    const d = await decodeAudio(fixture(c.file), { filename: c.file });
    assert.equal(d.format, c.format);
    assert.equal(d.sampleRate, 16000);
    assert.equal(d.sourceSampleRate, c.rate);
    assert.equal(d.sourceChannels, c.channels);
    const seconds = c.seconds ?? reference.durationS;
    assert.ok(Math.abs(d.durationS - seconds) < 0.03, `duration ${d.durationS} s, expected ${seconds} s`);
    assert.equal(d.samples.length, Math.round(d.durationS * 16000));
    const ref = reference.samples.subarray(0, Math.min(d.samples.length, Math.round(seconds * 16000)));
    const got = d.samples.subarray(0, ref.length);
    const level = rms(got) / rms(ref) / (c.level ?? 1);
    assert.ok(level > 0.8 && level < 1.25, `level ratio ${level.toFixed(3)}`);
    const env = bestEnvelopeCorrelation(got, ref);
    assert.ok(env >= c.env, `envelope correlation ${env.toFixed(4)} < ${c.env}`);
    if (c.wave !== undefined) {
      const w = bestCorrelation(got, ref, 8);
      assert.ok(w >= c.wave, `waveform correlation ${w.toFixed(5)} < ${c.wave}`);
    }
    for (const v of d.samples) assert.ok(v >= -1 && v <= 1 && Number.isFinite(v));
    if (process.env.VOICEMOOD_TEST_VERBOSE)
      console.log(c.file, {
        duration: d.durationS,
        level: level.toFixed(3),
        env: env.toFixed(4),
        wave: c.wave === undefined ? '-' : bestCorrelation(got, ref, 8).toFixed(5),
      });
  });
}

/** Envelope correlation allowing codec delays of up to ±3 frames (60 ms). */
function bestEnvelopeCorrelation(a: Float32Array, b: Float32Array): number {
  const ea = envelope(a);
  const eb = envelope(b);
  let best = -1;
  for (let lag = -3; lag <= 3; lag++) {
    const x = lag >= 0 ? ea.subarray(lag) : ea;
    const y = lag >= 0 ? eb : eb.subarray(-lag);
    best = Math.max(best, correlation(x, y));
  }
  return best;
}

test('the name is only a hint: an OGG/Opus voice note called .wav is decoded as OGG/Opus', async () => {
  const d = await decodeAudio(fixture('voice_telegram.ogg'), { filename: 'voice.wav', mimeType: 'audio/wav' });
  assert.equal(d.format, 'ogg/opus');
  assert.ok(Math.abs(d.durationS - reference.durationS) < 0.03);
});

test('a different sentence does not pass as the reference (the signal checks can fail)', async () => {
  const d = await decodeAudio(fixture('speech_16k_pcm16.wav'));
  const reversed = d.samples.slice().reverse();
  assert.ok(bestEnvelopeCorrelation(reversed, reference.samples) < 0.9);
  assert.ok(bestCorrelation(reversed, reference.samples, 8) < 0.5);
});
