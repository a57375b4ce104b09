/**
 * 48 kHz interleaved int16 (what Opus decodes to) → 16 kHz mono float32 (what the engine takes),
 * one packet at a time. The resampler is libsamplerate's streaming ("full") API, so its filter
 * state carries across packets: no clicks at 20 ms boundaries, and memory stays constant however
 * long a speaker talks. One instance per speaker; destroy() releases its WASM memory.
 */
import libsamplerate from '@alexanderolsen/libsamplerate-js';
import { SAMPLE_RATE } from '../../../domain/audio.ts';
import { OPUS_RATE } from './opus.ts';

const { create, ConverterType } = libsamplerate;
type Src = Awaited<ReturnType<typeof create>>;

/** Averages interleaved int16 channels into mono float in [-1, 1]. */
export function downmixInt16(pcm: Int16Array, channels: number): Float32Array {
  const frames = Math.floor(pcm.length / channels);
  const out = new Float32Array(frames);
  const scale = 1 / (32768 * channels);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += pcm[f * channels + c];
    out[f] = sum * scale;
  }
  return out;
}

export class PacketResampler {
  #src: Src | undefined;

  private constructor(src: Src) {
    this.#src = src;
  }

  static async open(): Promise<PacketResampler> {
    // SINC_FASTEST is still a band-limited sinc (no aliasing into the speech band) and keeps
    // per-speaker CPU low for a real-time stream.
    return new PacketResampler(await create(1, OPUS_RATE, SAMPLE_RATE, { converterType: ConverterType.SRC_SINC_FASTEST }));
  }

  /** Interleaved 48 kHz PCM in, 16 kHz mono out (about a third as many samples, filter delay aside). */
  push(pcm: Int16Array, channels: number): Float32Array {
    if (!this.#src) throw new Error('PacketResampler used after destroy()');
    return this.#src.full(downmixInt16(pcm, channels)).slice();
  }

  destroy(): void {
    this.#src?.destroy();
    this.#src = undefined;
  }
}
