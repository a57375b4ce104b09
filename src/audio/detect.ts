/**
 * Detects the container/codec from the first bytes (magic numbers). The file name and MIME type
 * are never trusted: a voice note called "x.wav" is still decoded as what it is.
 */

export type DetectedFormat =
  'wav' | 'ogg/opus' | 'ogg/vorbis' | 'ogg/flac' | 'ogg/speex' | 'ogg' | 'flac' | 'mp3' | 'aac' | 'm4a' | 'mp4' | 'webm' | 'aiff' | 'amr' | 'caf' | 'unknown';

function ascii(bytes: Uint8Array, start: number, length: number): string {
  let s = '';
  for (let i = start; i < start + length && i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** True when `b` starts with a plausible MPEG audio (layer I–III) frame header. */
function isMpegAudioHeader(b: Uint8Array, at: number): boolean {
  if (b.length < at + 4) return false;
  if (b[at] !== 0xff || (b[at + 1] & 0xe0) !== 0xe0) return false;
  const version = (b[at + 1] >> 3) & 3; // 01 is reserved
  const layer = (b[at + 1] >> 1) & 3; // 00 is reserved
  const bitrate = b[at + 2] >> 4; // 1111 is invalid; 0000 "free format" is too rare to accept blindly
  const rate = (b[at + 2] >> 2) & 3; // 11 is reserved
  return version !== 1 && layer !== 0 && bitrate !== 15 && bitrate !== 0 && rate !== 3;
}

/** True for an ADTS (raw AAC) header: sync 0xFFF, layer 00. */
function isAdtsHeader(b: Uint8Array): boolean {
  return b.length >= 7 && b[0] === 0xff && (b[1] & 0xf6) === 0xf0 && ((b[2] >> 2) & 0xf) < 13;
}

/** The codec inside an Ogg stream, from the first packet of the first page. */
function oggCodec(b: Uint8Array): DetectedFormat {
  if (b.length < 27) return 'ogg';
  const segments = b[26];
  const start = 27 + segments;
  const head = ascii(b, start, 8);
  if (head === 'OpusHead') return 'ogg/opus';
  if (b[start] === 1 && ascii(b, start + 1, 6) === 'vorbis') return 'ogg/vorbis';
  if (b[start] === 0x7f && ascii(b, start + 1, 4) === 'FLAC') return 'ogg/flac';
  if (ascii(b, start, 5) === 'Speex') return 'ogg/speex';
  return 'ogg';
}

export function detectFormat(bytes: Uint8Array): DetectedFormat {
  const b = bytes;
  const tag = ascii(b, 0, 4);
  if ((tag === 'RIFF' || tag === 'RIFX') && ascii(b, 8, 4) === 'WAVE') return 'wav';
  if (tag === 'OggS') return oggCodec(b);
  if (tag === 'fLaC') return 'flac';
  if (tag === 'FORM' && (ascii(b, 8, 4) === 'AIFF' || ascii(b, 8, 4) === 'AIFC')) return 'aiff';
  if (tag === 'caff') return 'caf';
  if (ascii(b, 0, 5) === '#!AMR') return 'amr';
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return 'webm';
  if (ascii(b, 4, 4) === 'ftyp') {
    const brand = ascii(b, 8, 4);
    return brand === 'M4A ' || brand === 'M4B ' ? 'm4a' : 'mp4';
  }
  if (ascii(b, 0, 3) === 'ID3') return 'mp3';
  if (isAdtsHeader(b)) return 'aac';
  if (isMpegAudioHeader(b, 0)) return 'mp3';
  return 'unknown';
}
