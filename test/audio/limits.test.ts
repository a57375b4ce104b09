/** Each limit and each broken file ends in its own VoicemoodError with a sentence for the user. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAudio } from '../../src/audio/decode.ts';
import { DEFAULT_LIMITS, assertAnalysable, resolveLimits } from '../../src/audio/limits.ts';
import { isVoicemoodError, type ErrorCode } from '../../src/domain/errors.ts';
import { fixture, makeWav, noise, tone } from './helpers.ts';

async function rejects(p: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isVoicemoodError(e), `not a VoicemoodError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

test('defaults are the documented ones', () => {
  assert.deepEqual(
    { ...DEFAULT_LIMITS },
    { maxBytes: 20 * 1024 * 1024, maxDecodeS: 600, minDurationS: 0.5, segmentS: 60, silenceFloorDb: -50, timeoutMs: 30_000 },
  );
  assert.equal(resolveLimits({ segmentS: 10 }).segmentS, 10);
  assert.equal(resolveLimits({ segmentS: undefined }).segmentS, 60);
});

test('too large: refused before decoding, with both sizes in the sentence', async () => {
  await rejects(decodeAudio(fixture('voice_telegram.ogg'), { limits: { maxBytes: 1000 } }), 'too_large', /3\.9 KB; the limit is 1000 bytes/);
  await rejects(decodeAudio(new Uint8Array(21 * 1024 * 1024)), 'too_large', /21 MB; the limit is 20 MB/);
});

test('too long: every decoder path stops at the hard bound', async () => {
  await rejects(decodeAudio(fixture('speech_16k_pcm16.wav'), { limits: { maxDecodeS: 0.5 } }), 'too_long', /longer than 0\.5 s/);
  await rejects(decodeAudio(fixture('voice_telegram.ogg'), { limits: { maxDecodeS: 0.5 } }), 'too_long', /longer than 0\.5 s/);
  await rejects(decodeAudio(fixture('speech.mp3'), { limits: { maxDecodeS: 0.5 } }), 'too_long', /longer than 0\.5 s/);
});

test('too short and silent are judged on the decoded audio', async () => {
  const limits = resolveLimits();
  const short = await decodeAudio(makeWav([tone(300, 16000, 0.3)], 16000, 's16'));
  assert.throws(
    () => assertAnalysable(short.samples, 16000, limits),
    (e) => isVoicemoodError(e, 'too_short') && /only 0\.3 s long; I need at least 0\.5 s/.test(e.message),
  );
  const zeros = await decodeAudio(makeWav([new Float32Array(16000)], 16000, 's16'));
  assert.throws(
    () => assertAnalysable(zeros.samples, 16000, limits),
    (e) => isVoicemoodError(e, 'silent') && /silent/.test(e.message),
  );
  // Faint hiss at about -66 dBFS is still "silent"; the same hiss at -40 dBFS is not.
  const hiss = await decodeAudio(makeWav([noise(16000, 0.0009)], 16000, 'f32'));
  assert.throws(
    () => assertAnalysable(hiss.samples, 16000, limits),
    (e) => isVoicemoodError(e, 'silent') && /-6\d dBFS/.test(e.message),
  );
  const louder = await decodeAudio(makeWav([noise(16000, 0.017)], 16000, 'f32'));
  assert.doesNotThrow(() => assertAnalysable(louder.samples, 16000, limits));
  const speech = await decodeAudio(fixture('voice_telegram.ogg'));
  assert.doesNotThrow(() => assertAnalysable(speech.samples, 16000, limits));
});

test('timeout: ffmpeg is killed and in-process decoders give up at the deadline', async () => {
  await rejects(decodeAudio(fixture('speech.m4a'), { limits: { timeoutMs: 1 } }), 'timeout', /took longer than 0 s/);
  await rejects(decodeAudio(fixture('speech_8k_pcm16.wav'), { limits: { timeoutMs: -1 } }), 'timeout', /took longer/);
  const aborted = AbortSignal.abort();
  await rejects(decodeAudio(fixture('voice_telegram.ogg'), { signal: aborted }), 'timeout', /cancelled/);
});

test('the broken corpus: each file gets its own explanation', async () => {
  const cases: [string, RegExp][] = [
    ['broken/empty.wav', /empty \(0 bytes\)/],
    ['broken/hours.wav', /wav\/pcm16 file, but it holds no audio samples \(its header promises 1 h 0 min\)/],
    ['broken/random.wav', /does not look like audio.*name ends in \.wav, but the bytes decide/],
    ['broken/truncated.ogg', /OGG\/Opus voice note, but it is truncated/],
    ['broken/wrong_magic.ogg', /does not look like audio/],
  ];
  for (const [file, message] of cases) await rejects(decodeAudio(fixture(file), { filename: file }), 'undecodable', message);
});

test('an OGG/Opus voice note cut off anywhere is reported as truncated, never half-analysed in silence', async () => {
  const bytes = fixture('voice_telegram.ogg');
  for (let cut = 60; cut < bytes.length; cut += 397) {
    await rejects(decodeAudio(bytes.subarray(0, cut)), 'undecodable', /truncated|cut short/);
  }
  const whole = await decodeAudio(bytes);
  assert.ok(whole.durationS > 1);
});

test('a damaged Opus packet or Ogg page is undecodable, not a crash', async () => {
  const bytes = fixture('voice_telegram.ogg').slice();
  // Find the second page (first audio-bearing pages follow the two header pages) and break its capture pattern.
  let pages = 0;
  for (let i = 1; i < bytes.length - 4; i++) {
    if (bytes[i] === 0x4f && bytes[i + 1] === 0x67 && bytes[i + 2] === 0x67 && bytes[i + 3] === 0x53 && ++pages === 2) {
      bytes[i] = 0x58;
      break;
    }
  }
  await rejects(decodeAudio(bytes), 'undecodable', /Ogg pages are damaged|truncated|damaged/);
});

test('a WAV header claiming hours over one second of audio decodes that second and says so', async () => {
  const wav = makeWav([tone(440, 16000, 1)], 16000, 's16', { claimedDataBytes: 16000 * 2 * 3600 });
  const d = await decodeAudio(wav);
  assert.equal(d.samples.length, 16000);
  assert.match(d.notes?.[0] ?? '', /promises 1 h 0 min but the file holds only 1 s/);
});

test('ffmpeg path: an MP4 without an audio track says so', async () => {
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'vm-noaudio-'));
  try {
    const file = join(dir, 'video.mp4');
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=black:s=32x32:r=5:d=1', '-c:v', 'mpeg4', file]);
    await rejects(decodeAudio(new Uint8Array(readFileSync(file))), 'undecodable', /MP4, but it has no audio track/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('limits from the environment, with the defaults for what is unset', async () => {
  const { audioLimitsFromEnv } = await import('../../src/audio/limits.ts');
  assert.deepEqual(audioLimitsFromEnv({}), { ...DEFAULT_LIMITS });
  const l = audioLimitsFromEnv({ VOICEMOOD_AUDIO_MAX_MB: '5', VOICEMOOD_AUDIO_SEGMENT_SECONDS: '30', VOICEMOOD_AUDIO_SILENCE_DB: '-60' });
  assert.equal(l.maxBytes, 5 * 1024 * 1024);
  assert.equal(l.segmentS, 30);
  assert.equal(l.silenceFloorDb, -60);
  assert.throws(
    () => audioLimitsFromEnv({ VOICEMOOD_AUDIO_TIMEOUT_MS: 'soon' }),
    (e) => isVoicemoodError(e, 'bad_input') && /VOICEMOOD_AUDIO_TIMEOUT_MS=soon/.test(e.message),
  );
});

test('the default longest audio is 10 min; longer is refused before decoding when the container tells the duration', async () => {
  assert.equal(DEFAULT_LIMITS.maxDecodeS, 600);
  // OGG/Opus: the last page's granule position says 11 min (the packets hold ~3 s): refused from the pages alone.
  const ogg = fixture('voice_telegram.ogg').slice();
  const last = Buffer.from(ogg).lastIndexOf('OggS');
  new DataView(ogg.buffer).setBigInt64(last + 6, BigInt(48000 * 660 + 312), true);
  const e = await decodeAudio(ogg).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(isVoicemoodError(e, 'too_long'), String(e));
  assert.match(e.message, /longer than 10 min 0 s, the most we accept/);
  assert.ok(Math.abs(Number(e.details.durationS) - 660) < 1, `${String(e.details.durationS)}`); // the container's figure, not the decoded ~3 s
  // WAV: 11 min of 8 kHz u8 (5 MB, under the size limit), refused from the data chunk size.
  const wav = makeWav([new Float32Array(8000 * 660).fill(0.25)], 8000, 'u8');
  await rejects(decodeAudio(wav), 'too_long', /longer than 10 min 0 s/);
  // Ten minutes exactly is accepted.
  const ten = await decodeAudio(makeWav([new Float32Array(8000 * 600).fill(0.25)], 8000, 'u8'));
  assert.equal(ten.durationS, 600);
});
