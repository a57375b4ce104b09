/** Decodes a whole WAV file in-process into 16 kHz mono. */
import { VoicemoodError } from '../domain/errors.ts';
import type { Deadline } from './deadline.ts';
import { formatSeconds, tooLong } from './limits.ts';
import { MonoResampler } from './resample.ts';
import type { AudioLimits, DecodedAudio } from './types.ts';
import { parseWavHeader, samplesToFloat } from './wav.ts';

/** Frames converted per step: bounds the temporary float buffer and lets the deadline be checked. */
const CHUNK_FRAMES = 1 << 16;
/** Chunks converted between two turns of the event loop (so that an abort message can arrive). */
const CHUNKS_PER_TURN = 8;

export async function decodeWav(bytes: Uint8Array, limits: AudioLimits, deadline: Deadline): Promise<DecodedAudio> {
  const header = parseWavHeader(bytes);
  if (header === 'incomplete') {
    throw new VoicemoodError('undecodable', 'This looks like a WAV file, but it ends inside its header, before any audio data.', {
      details: { format: 'wav', bytes: bytes.length },
    });
  }
  const available = Math.max(0, bytes.length - header.dataOffset);
  const claimed = header.claimedDataBytes;
  const usable = claimed === undefined ? available : Math.min(claimed, available);
  const frames = Math.floor(usable / header.blockAlign);
  const notes: string[] = [];
  if (frames === 0) {
    const promise = claimed ? ` (its header promises ${formatSeconds(claimed / header.blockAlign / header.sampleRate)})` : '';
    throw new VoicemoodError('undecodable', `This looks like a ${header.label} file, but it holds no audio samples${promise}: it is empty or truncated.`, {
      details: { format: header.label, claimedBytes: claimed, availableBytes: available },
    });
  }
  if (claimed !== undefined && claimed > available) {
    notes.push(
      `The WAV header promises ${formatSeconds(claimed / header.blockAlign / header.sampleRate)} but the file holds only ${formatSeconds(frames / header.sampleRate)}; the file looks truncated, so only what is there was analysed.`,
    );
  }
  if (frames / header.sampleRate > limits.maxDecodeS) throw tooLong(frames / header.sampleRate, limits);
  const resampler = await MonoResampler.open(header.sampleRate, limits, frames);
  try {
    for (let start = 0, chunk = 0; start < frames; start += CHUNK_FRAMES, chunk++) {
      if (chunk % CHUNKS_PER_TURN === CHUNKS_PER_TURN - 1) await new Promise<void>((r) => setImmediate(r));
      deadline.check();
      const n = Math.min(CHUNK_FRAMES, frames - start);
      resampler.push(samplesToFloat(bytes, header.dataOffset + start * header.blockAlign, n, header), header.channels);
    }
    const samples = resampler.finish();
    return {
      samples,
      sampleRate: 16000,
      durationS: samples.length / 16000,
      format: header.label,
      sourceSampleRate: header.sampleRate,
      sourceChannels: header.channels,
      ...(notes.length ? { notes } : {}),
    };
  } finally {
    resampler.dispose();
  }
}
