/**
 * Shared by the voice tests: the two espeak-ng speakers as 48 kHz Opus packets, a silence
 * packet maker, and the tiny random-weight engine.
 */
import { readFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import libsamplerate from '@alexanderolsen/libsamplerate-js';
import { decodeAudio } from '../../../src/audio/decode.ts';
import { encodeOpusPackets } from '../../../src/bots/discord/voice/opus.ts';
import { Engine } from '../../../src/inference/engine.ts';
import { writeTinyModel } from '../../helpers/tinyModel.ts';

export const FIXTURES = new URL('../../fixtures/discord/', import.meta.url);

export interface SpeechClip {
  /** 16 kHz mono as decoded from the fixture. */
  samples16k: Float32Array;
  durationS: number;
  /** 20 ms Opus packets (48 kHz stereo). */
  packets: Uint8Array[];
}

export async function loadSpeech(name: 'speaker-a.wav' | 'speaker-b.wav'): Promise<SpeechClip> {
  const audio = await decodeAudio(new Uint8Array(await readFile(new URL(name, FIXTURES))));
  const up = await libsamplerate.create(1, 16000, 48000, { converterType: libsamplerate.ConverterType.SRC_SINC_FASTEST });
  const samples48k = up.simple(audio.samples);
  up.destroy();
  return { samples16k: audio.samples, durationS: audio.durationS, packets: encodeOpusPackets(samples48k) };
}

/** `seconds` of digital silence as 20 ms packets. */
export function silencePackets(seconds: number): Uint8Array[] {
  return encodeOpusPackets(new Float32Array(Math.round(seconds * 48000)));
}

export async function tinyEngine(): Promise<Engine> {
  const dir = await mkdtemp(join(tmpdir(), 'vm-discord-'));
  const { path } = await writeTinyModel(join(dir, 'tiny.onnx'));
  return Engine.open(path, { optimizedCacheDir: false, threads: 1 });
}
