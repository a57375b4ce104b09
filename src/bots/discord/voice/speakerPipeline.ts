/**
 * One speaker's receive path: Opus packets → PCM (48 kHz) → 16 kHz mono → VAD → utterances.
 * Synchronous per packet, so packets are handled in order and nothing queues up behind a slow
 * stage; the engine call happens outside (the session), per closed utterance.
 *
 * A packet that fails to decode (corrupt, or a DAVE/transport decrypt failure that still reached
 * us) is a 20 ms gap of silence: it never ends the stream and never throws.
 */
import { VadSegmenter, type Utterance, type VadOptions } from '../../../audio/vad.ts';
import type { OpusPacketDecoder } from './opus.ts';
import type { PacketResampler } from './downmix.ts';

/** Discord sends 20 ms Opus frames. */
export const PACKET_MS = 20;
const GAP_PCM = new Int16Array((48000 * PACKET_MS) / 1000);
/**
 * A sender transmits nothing while silent (after 5 silence frames), so a pause inside one receive
 * stream is missing from the packets: arrival time tells it. Lateness past this much (network
 * jitter) is a pause and becomes silence for the VAD.
 */
export const PAUSE_SLACK_MS = 120;

export interface SpeakerPipelineStats {
  packets: number;
  decodeFailures: number;
  utterances: number;
}

export class SpeakerPipeline {
  readonly userId: string;
  readonly stats: SpeakerPipelineStats = { packets: 0, decodeFailures: 0, utterances: 0 };
  readonly #decoder: OpusPacketDecoder;
  readonly #resampler: PacketResampler;
  readonly #vadOptions: Partial<VadOptions>;
  readonly #onUtterance: (u: Utterance, streamStartMs: number) => void;
  #vad: VadSegmenter;
  #streamStartMs = 0;
  /** Milliseconds of audio (decoded or gap) the current stream has covered. */
  #audioMs = 0;
  #closed = false;

  constructor(
    userId: string,
    parts: { decoder: OpusPacketDecoder; resampler: PacketResampler; vad?: Partial<VadOptions>; onUtterance: (u: Utterance, streamStartMs: number) => void },
  ) {
    this.userId = userId;
    this.#decoder = parts.decoder;
    this.#resampler = parts.resampler;
    this.#vadOptions = { ...parts.vad, sampleRate: 16000 };
    this.#vad = new VadSegmenter(this.#vadOptions);
    this.#onUtterance = parts.onUtterance;
  }

  /**
   * A new receive stream begins (Discord sends nothing during silence, so each stream is a burst
   * of talk): utterance times are relative to `atMs`.
   */
  begin(atMs: number): void {
    this.end();
    this.#vad = new VadSegmenter(this.#vadOptions);
    this.#streamStartMs = atMs;
    this.#audioMs = 0;
  }

  /** Seconds of audio the current stream has covered (complete VAD frames). */
  get positionS(): number {
    return this.#vad.position / 16000;
  }

  /**
   * One packet; `arrivedAtMs` (the session's clock) lets a pause the sender did not transmit count
   * as silence, so that utterances split at pauses and keep their real times.
   */
  push(packet: Uint8Array, arrivedAtMs?: number): void {
    if (this.#closed) return;
    this.stats.packets++;
    if (arrivedAtMs !== undefined) {
      const lateMs = arrivedAtMs - this.#streamStartMs - this.#audioMs;
      if (lateMs > PAUSE_SLACK_MS) {
        const gapMs = lateMs - PAUSE_SLACK_MS / 2;
        this.#audioMs += gapMs;
        this.#emit(this.#vad.gap(Math.round((gapMs * 16000) / 1000)));
      }
    }
    let pcm: Int16Array;
    let channels = this.#decoder.channels;
    try {
      pcm = this.#decoder.decode(packet);
    } catch {
      this.stats.decodeFailures++;
      pcm = GAP_PCM;
      channels = 1;
    }
    this.#audioMs += (pcm.length / channels / 48000) * 1000;
    this.#emit(this.#vad.push(this.#resampler.push(pcm, channels)));
  }

  /** The stream ended (silence, disconnect): closes an open utterance. */
  end(): void {
    if (this.#closed) return;
    this.#emit(this.#vad.flush());
  }

  /** Ends and releases the decoder and resampler. */
  destroy(): void {
    if (this.#closed) return;
    this.end();
    this.#closed = true;
    this.#decoder.destroy();
    this.#resampler.destroy();
  }

  #emit(utterances: Utterance[]): void {
    for (const u of utterances) {
      this.stats.utterances++;
      this.#onUtterance(u, this.#streamStartMs);
    }
  }
}
