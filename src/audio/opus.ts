/**
 * Opus decoding (and encoding, for tests and tools) on opusscript's libopus build: the one Opus
 * decoder of the project, used for voice notes (oggOpus.ts) and Discord voice channels.
 *
 * Why not opusscript's own wrapper (which prism-media's opus.Decoder uses)? Its native handler moves
 * PCM as one byte per 16-bit heap slot, but the 0.0.8 wrapper allocates only one byte per slot and
 * indexes the 16-bit view with a byte address, so every instance reads and writes PCM at twice its
 * allocated address: with more than ~18 instances in one process the writes run off the heap
 * ("memory access out of bounds"), and before that they can land on other allocations. We need one
 * decoder per speaker, so we drive the same libopus handler with correct pointers, fresh heap
 * views (the heap may grow) and per-packet error handling: prism's stream form would also end the
 * whole speaker stream on the first corrupt packet, where we want a gap.
 */
import { createRequire } from 'node:module';

interface OpusHandler {
  _encode(inPtr: number, inBytes: number, outPtr: number, frameSize: number): number;
  _decode(inPtr: number, inBytes: number, outPtr: number): number;
  _encoder_ctl(ctl: number, arg: number): number;
  _decoder_ctl(ctl: number, arg: number): number;
}

interface OpusNative {
  HEAPU8: Uint8Array;
  HEAPU16: Uint16Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  OpusScriptHandler: { new (rate: number, channels: number, application: number): OpusHandler; destroy_handler(h: OpusHandler): void };
}

let native: OpusNative | undefined;
function loadNative(): OpusNative {
  // The wasm build instantiates synchronously; one module (one heap) per process.
  native ??= (createRequire(import.meta.url)('opusscript/build/opusscript_native_wasm.js') as () => OpusNative)();
  return native;
}

export const OPUS_RATE = 48000;
/** Largest frame libopus returns: 120 ms at 48 kHz. */
const MAX_FRAME_SAMPLES = 5760;
const MAX_PACKET_BYTES = 4000;
const APPLICATION_AUDIO = 2049;
const APPLICATION_VOIP = 2048;
const OPUS_SET_BITRATE = 4002;

/** What the voice pipeline needs from a decoder: one packet in, interleaved PCM out. */
export interface OpusPacketDecoder {
  readonly channels: number;
  /** Decodes one packet to interleaved int16 PCM at 48 kHz; throws on a corrupt packet. */
  decode(packet: Uint8Array): Int16Array;
  destroy(): void;
}

abstract class OpusCodec {
  readonly channels: number;
  protected readonly mod: OpusNative;
  protected handler: OpusHandler | undefined;
  protected readonly inPtr: number;
  protected readonly outPtr: number;

  constructor(channels: number, application: number, inBytes: number, outBytes: number) {
    if (channels !== 1 && channels !== 2) throw new RangeError('Opus channels must be 1 or 2');
    this.channels = channels;
    this.mod = loadNative();
    this.handler = new this.mod.OpusScriptHandler(OPUS_RATE, channels, application);
    this.inPtr = this.mod._malloc(inBytes);
    this.outPtr = this.mod._malloc(outBytes);
  }

  protected live(): OpusHandler {
    if (!this.handler) throw new Error('Opus codec used after destroy()');
    return this.handler;
  }

  destroy(): void {
    if (!this.handler) return;
    this.mod.OpusScriptHandler.destroy_handler(this.handler);
    this.mod._free(this.inPtr);
    this.mod._free(this.outPtr);
    this.handler = undefined;
  }
}

export class OpusDecoder extends OpusCodec implements OpusPacketDecoder {
  constructor(channels: 1 | 2 = 2) {
    // PCM travels one byte per 16-bit slot: 2 bytes per byte of PCM.
    super(channels, APPLICATION_AUDIO, MAX_PACKET_BYTES, MAX_FRAME_SAMPLES * channels * 2 * 2);
  }

  decode(packet: Uint8Array): Int16Array {
    const handler = this.live();
    if (packet.length === 0 || packet.length > MAX_PACKET_BYTES) throw new Error(`Opus packet of ${packet.length} bytes`);
    this.mod.HEAPU8.set(packet, this.inPtr);
    const samples = handler._decode(this.inPtr, packet.length, this.outPtr);
    if (samples < 0) throw new Error(`Opus decode error ${samples}`);
    // Views are read after the call: the heap may have grown (and old views detached) inside it.
    const slots = this.mod.HEAPU16.subarray(this.outPtr >> 1, (this.outPtr >> 1) + samples * this.channels * 2);
    const pcm = new Int16Array(samples * this.channels);
    const bytes = new Uint8Array(pcm.buffer);
    for (let i = 0; i < bytes.length; i++) bytes[i] = slots[i];
    return pcm;
  }
}

export class OpusEncoder extends OpusCodec {
  constructor(channels: 1 | 2 = 2, options: { voip?: boolean; bitrate?: number } = {}) {
    super(channels, options.voip ? APPLICATION_VOIP : APPLICATION_AUDIO, MAX_FRAME_SAMPLES * channels * 2 * 2, MAX_PACKET_BYTES);
    if (options.bitrate) this.live()._encoder_ctl(OPUS_SET_BITRATE, options.bitrate);
  }

  /** Encodes one frame (interleaved int16 at 48 kHz; 2.5–60 ms) into one packet. */
  encode(pcm: Int16Array): Uint8Array {
    const handler = this.live();
    const frameSize = pcm.length / this.channels;
    if (!Number.isInteger(frameSize) || frameSize > MAX_FRAME_SAMPLES) throw new RangeError(`bad Opus frame of ${pcm.length} samples`);
    const bytes = new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    this.mod.HEAPU16.set(bytes, this.inPtr >> 1);
    const written = handler._encode(this.inPtr, pcm.byteLength, this.outPtr, frameSize);
    if (written < 0) throw new Error(`Opus encode error ${written}`);
    return this.mod.HEAPU8.slice(this.outPtr, this.outPtr + written);
  }
}

/** Encodes mono float samples at 48 kHz as 20 ms packets (stereo, both channels equal). */
export function encodeOpusPackets(samples48k: Float32Array, options: { channels?: 1 | 2 } = {}): Uint8Array[] {
  const channels = options.channels ?? 2;
  const encoder = new OpusEncoder(channels);
  try {
    const frame = 960;
    const packets: Uint8Array[] = [];
    for (let at = 0; at < samples48k.length; at += frame) {
      const pcm = new Int16Array(frame * channels);
      for (let i = 0; i < frame; i++) {
        const v = Math.max(-1, Math.min(1, samples48k[at + i] ?? 0));
        for (let c = 0; c < channels; c++) pcm[i * channels + c] = Math.round(v * 32767);
      }
      packets.push(encoder.encode(pcm));
    }
    return packets;
  } finally {
    encoder.destroy();
  }
}
