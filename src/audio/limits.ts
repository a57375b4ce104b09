/**
 * Audio limits: their defaults and the checks that turn a breach into a VoicemoodError with a
 * sentence the user can act on.
 */
import { numberFromEnv, type Env } from '../util/config.ts';
import { VoicemoodError } from '../domain/errors.ts';
import type { AudioLimits } from './types.ts';

export const DEFAULT_LIMITS: Readonly<AudioLimits> = Object.freeze({
  maxBytes: 20 * 1024 * 1024,
  maxDecodeS: 600,
  minDurationS: 0.5,
  segmentS: 60,
  silenceFloorDb: -50,
  timeoutMs: 30_000,
});

/** Defaults overlaid with the given values (undefined values keep the default). */
export function resolveLimits(partial: Partial<AudioLimits> = {}): AudioLimits {
  const out = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(out) as (keyof AudioLimits)[]) {
    const v = partial[key];
    if (v !== undefined) {
      if (typeof v !== 'number' || Number.isNaN(v)) throw new VoicemoodError('bad_input', `The audio limit ${key} must be a number.`);
      out[key] = v;
    }
  }
  return out;
}

/**
 * Limits from the environment (documented in the README, "Limits"); unset values keep the
 * defaults: VOICEMOOD_AUDIO_MAX_MB, VOICEMOOD_AUDIO_MAX_SECONDS, VOICEMOOD_AUDIO_MIN_SECONDS,
 * VOICEMOOD_AUDIO_SEGMENT_SECONDS, VOICEMOOD_AUDIO_SILENCE_DB, VOICEMOOD_AUDIO_TIMEOUT_MS.
 */
export function audioLimitsFromEnv(env: Env = process.env): AudioLimits {
  const d = DEFAULT_LIMITS;
  return {
    maxBytes: Math.round(numberFromEnv(env, 'VOICEMOOD_AUDIO_MAX_MB', d.maxBytes / (1024 * 1024), { min: 0.001, max: 2048 }) * 1024 * 1024),
    maxDecodeS: numberFromEnv(env, 'VOICEMOOD_AUDIO_MAX_SECONDS', d.maxDecodeS, { min: 1, max: 86_400 }),
    minDurationS: numberFromEnv(env, 'VOICEMOOD_AUDIO_MIN_SECONDS', d.minDurationS, { min: 0.1, max: 60 }),
    segmentS: numberFromEnv(env, 'VOICEMOOD_AUDIO_SEGMENT_SECONDS', d.segmentS, { min: 0.5, max: 3600 }),
    silenceFloorDb: numberFromEnv(env, 'VOICEMOOD_AUDIO_SILENCE_DB', d.silenceFloorDb, { min: -140, max: 0 }),
    timeoutMs: numberFromEnv(env, 'VOICEMOOD_AUDIO_TIMEOUT_MS', d.timeoutMs, { min: 100, max: 3_600_000 }),
  };
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1).replace(/\.0$/, '')} KB`;
  return `${n} bytes`;
}

export function formatSeconds(s: number): string {
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Number(s.toFixed(2))} s`;
}

export function checkSize(byteLength: number, limits: AudioLimits): void {
  if (byteLength > limits.maxBytes) {
    throw new VoicemoodError(
      'too_large',
      `This file is ${formatBytes(byteLength)}; the limit is ${formatBytes(limits.maxBytes)}. Please send a shorter recording.`,
      {
        details: { bytes: byteLength, maxBytes: limits.maxBytes },
      },
    );
  }
  if (byteLength === 0) throw new VoicemoodError('undecodable', 'The file is empty (0 bytes): there is no audio in it.', { details: { format: 'empty' } });
}

export function tooLong(durationS: number, limits: AudioLimits): VoicemoodError {
  return new VoicemoodError('too_long', `This audio is longer than ${formatSeconds(limits.maxDecodeS)}, the most we accept. Please send a shorter recording.`, {
    details: { durationS, maxDecodeS: limits.maxDecodeS },
  });
}

/** Root mean square level in dBFS (-Infinity for digital silence). */
export function rmsDb(samples: Float32Array): number {
  if (samples.length === 0) return -Infinity;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  const rms = Math.sqrt(sum / samples.length);
  return rms > 0 ? 20 * Math.log10(rms) : -Infinity;
}

/** Refuses audio the model cannot judge: too short, or nothing above the energy floor. */
export function assertAnalysable(samples: Float32Array, sampleRate: number, limits: AudioLimits): void {
  const durationS = samples.length / sampleRate;
  if (durationS < limits.minDurationS) {
    throw new VoicemoodError(
      'too_short',
      `This audio is only ${formatSeconds(durationS)} long; I need at least ${formatSeconds(limits.minDurationS)} of voice to tell how it sounds.`,
      {
        details: { durationS, minDurationS: limits.minDurationS },
      },
    );
  }
  const level = rmsDb(samples);
  if (!(level >= limits.silenceFloorDb)) {
    throw new VoicemoodError(
      'silent',
      `This audio is silent (level ${Number.isFinite(level) ? `${level.toFixed(0)} dBFS` : '-∞ dBFS'}, below the ${limits.silenceFloorDb} dBFS floor), so there is no voice to judge.`,
      {
        details: { levelDb: level, silenceFloorDb: limits.silenceFloorDb },
      },
    );
  }
}
