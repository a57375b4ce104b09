/** The contract of the audio layer: bytes in any common format → 16 kHz mono float32. */

export interface DecodedAudio {
  /** Mono float32 in [-1, 1] at 16 kHz. */
  samples: Float32Array;
  sampleRate: 16000;
  durationS: number;
  /** What was detected, e.g. "ogg/opus", "wav/pcm16", "mp3", "m4a". */
  format: string;
  sourceSampleRate: number;
  sourceChannels: number;
  /** Things the user should know about the input, e.g. that it was truncated (added by issue 3). */
  notes?: string[];
}

export interface AudioLimits {
  /** Largest input file in bytes (default 20 MB). */
  maxBytes: number;
  /** Hard bound on decoded duration in seconds; longer inputs are refused (default 600: 10 min). */
  maxDecodeS: number;
  /** Shortest audio the model is asked about (default 0.5 s). */
  minDurationS: number;
  /** Longest stretch analysed as one piece; longer audio is cut into segments (default 60 s). */
  segmentS: number;
  /** RMS level in dBFS below which audio counts as silent (default -50). */
  silenceFloorDb: number;
  /** Decoding deadline in ms (default 30 000). */
  timeoutMs: number;
}

export interface DecodeOptions {
  /** File name or URL path: a hint only, the bytes decide. */
  filename?: string;
  mimeType?: string;
  limits?: Partial<AudioLimits>;
  signal?: AbortSignal;
  /**
   * Hand the bytes over: their buffer is moved to the decode worker (and detached here) instead
   * of copied. Only when `bytes` spans its whole ArrayBuffer and the caller will not read it again.
   */
  transfer?: boolean;
  /** Where ffmpeg's error output goes (it is never shown to users). */
  logger?: { warn(obj: object, msg: string): void };
}
