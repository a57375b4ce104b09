/** The Opus codec lives in the audio layer (one decoder for voice notes and voice channels). */
export { OPUS_RATE, OpusDecoder, OpusEncoder, encodeOpusPackets, type OpusPacketDecoder } from '../../../audio/opus.ts';
