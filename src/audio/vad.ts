/**
 * Voice-activity segmentation: a stream of mono samples in, utterances out.
 *
 * Energy based, which is enough here because what reaches us (Discord voice, voice notes) is
 * already close-talked and usually noise-suppressed by the client: a frame is voiced when its RMS
 * level is above `thresholdDb`. An utterance starts after `minSpeechMs` of voiced frames (so a
 * click does not open one), keeps `preRollMs` of audio from before the onset (word onsets are
 * quiet), survives pauses shorter than `hangoverMs` (pauses between words), ends at its last voiced
 * frame, and is cut at `maxUtteranceS` (so one long monologue cannot hold memory or the engine).
 * Utterances shorter than `minUtteranceS` are dropped: the model cannot judge them.
 *
 * Pure and synchronous: no I/O, no clocks; positions are sample offsets from the first sample
 * pushed. Memory is bounded by `maxUtteranceS` plus a few frames, however long the stream runs.
 */

export interface VadOptions {
  sampleRate: number;
  /** Analysis frame length. */
  frameMs: number;
  /** RMS level (dBFS) above which a frame counts as voiced. */
  thresholdDb: number;
  /** Voiced time needed before an utterance opens. */
  minSpeechMs: number;
  /** Unvoiced time that closes an open utterance. */
  hangoverMs: number;
  /** Audio kept from before the onset. */
  preRollMs: number;
  minUtteranceS: number;
  maxUtteranceS: number;
}

export const DEFAULT_VAD_OPTIONS: Readonly<VadOptions> = {
  sampleRate: 16000,
  frameMs: 20,
  thresholdDb: -45,
  minSpeechMs: 60,
  hangoverMs: 500,
  preRollMs: 100,
  minUtteranceS: 1,
  maxUtteranceS: 15,
};

export interface Utterance {
  /** Offset of the first sample, in samples since the stream began. */
  start: number;
  /** Offset one past the last sample. */
  end: number;
  startS: number;
  endS: number;
  durationS: number;
  samples: Float32Array;
  /** True when the utterance was cut at maxUtteranceS rather than ended by a pause. */
  cut: boolean;
}

/** RMS level of a frame in dBFS (−Infinity for digital silence). */
export function frameLevelDb(frame: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) sum += frame[i] * frame[i];
  return 10 * Math.log10(sum / Math.max(1, frame.length));
}

export class VadSegmenter {
  readonly options: Readonly<VadOptions>;
  readonly #frameLen: number;
  readonly #minSpeechFrames: number;
  readonly #hangoverFrames: number;
  readonly #preRollFrames: number;
  readonly #minSamples: number;
  readonly #maxSamples: number;

  /** Samples of the frame being filled. */
  #partial: Float32Array;
  #partialLen = 0;
  /** Offset of the next complete frame's first sample. */
  #pos = 0;
  /** Recent frames before an utterance opens (pre-roll plus onset), oldest first. */
  #recent: Float32Array[] = [];
  #voicedRun = 0;
  /** The open utterance: allocated at onset, released when it closes. */
  #buf: Float32Array | null = null;
  #bufLen = 0;
  #bufStart = 0;
  /** Length of #buf up to the end of its last voiced frame. */
  #lastVoicedLen = 0;
  #silentRun = 0;

  constructor(options: Partial<VadOptions> = {}) {
    const o = { ...DEFAULT_VAD_OPTIONS, ...options };
    if (!(o.sampleRate > 0) || !(o.frameMs > 0) || !(o.maxUtteranceS > o.minUtteranceS) || o.minUtteranceS < 0) {
      throw new RangeError('VAD options must have a positive rate and frame, and maxUtteranceS > minUtteranceS >= 0');
    }
    this.options = o;
    this.#frameLen = Math.max(1, Math.round((o.sampleRate * o.frameMs) / 1000));
    this.#minSpeechFrames = Math.max(1, Math.ceil(o.minSpeechMs / o.frameMs));
    this.#hangoverFrames = Math.max(1, Math.ceil(o.hangoverMs / o.frameMs));
    this.#preRollFrames = Math.max(0, Math.round(o.preRollMs / o.frameMs));
    this.#minSamples = Math.round(o.minUtteranceS * o.sampleRate);
    this.#maxSamples = Math.round(o.maxUtteranceS * o.sampleRate);
    this.#partial = new Float32Array(this.#frameLen);
  }

  /** Samples consumed so far (complete frames only). */
  get position(): number {
    return this.#pos;
  }

  /** Whether an utterance is open (speech is going on). */
  get inSpeech(): boolean {
    return this.#buf !== null;
  }

  /** Feeds samples; returns the utterances that closed during them. */
  push(samples: Float32Array): Utterance[] {
    const out: Utterance[] = [];
    let i = 0;
    while (i < samples.length) {
      const take = Math.min(this.#frameLen - this.#partialLen, samples.length - i);
      this.#partial.set(samples.subarray(i, i + take), this.#partialLen);
      this.#partialLen += take;
      i += take;
      if (this.#partialLen === this.#frameLen) {
        this.#frame(this.#partial, out);
        this.#partial = new Float32Array(this.#frameLen);
        this.#partialLen = 0;
      }
    }
    return out;
  }

  /**
   * Time passes without audio (packets lost, the sender stopped): counts as silence, so an open
   * utterance closes once the gap is longer than the hangover.
   */
  gap(samples: number): Utterance[] {
    const out: Utterance[] = [];
    const frames = Math.floor(samples / this.#frameLen);
    const silent = new Float32Array(this.#frameLen);
    // Only as many silent frames as can change anything; the rest just advances the clock.
    const needed = Math.min(frames, this.#buf ? this.#hangoverFrames : this.#preRollFrames);
    for (let f = 0; f < needed; f++) this.#frame(silent, out);
    if (frames > needed) {
      this.#pos += (frames - needed) * this.#frameLen;
      this.#recent = [];
      this.#voicedRun = 0;
    }
    return out;
  }

  /** Ends the stream: closes an open utterance (if long enough) and forgets partial frames. */
  flush(): Utterance[] {
    const out: Utterance[] = [];
    if (this.#buf) this.#close(out, false);
    this.#partialLen = 0;
    this.#recent = [];
    this.#voicedRun = 0;
    return out;
  }

  #frame(frame: Float32Array, out: Utterance[]): void {
    const voiced = frameLevelDb(frame) > this.options.thresholdDb;
    const frameStart = this.#pos;
    this.#pos += this.#frameLen;

    if (this.#buf === null) {
      this.#recent.push(frame);
      if (this.#recent.length > this.#preRollFrames + this.#minSpeechFrames) this.#recent.shift();
      this.#voicedRun = voiced ? this.#voicedRun + 1 : 0;
      if (this.#voicedRun < this.#minSpeechFrames) return;
      // Onset: open an utterance with the pre-roll and the onset frames.
      this.#buf = new Float32Array(this.#maxSamples);
      this.#bufLen = 0;
      this.#bufStart = frameStart + this.#frameLen - this.#recent.length * this.#frameLen;
      for (const f of this.#recent) this.#append(f);
      this.#recent = [];
      this.#voicedRun = 0;
      this.#lastVoicedLen = this.#bufLen;
      this.#silentRun = 0;
      if (this.#bufLen >= this.#maxSamples) this.#close(out, true);
      return;
    }

    this.#append(frame);
    if (voiced) {
      this.#lastVoicedLen = this.#bufLen;
      this.#silentRun = 0;
    } else if (++this.#silentRun >= this.#hangoverFrames) {
      this.#close(out, false);
      return;
    }
    if (this.#bufLen >= this.#maxSamples) this.#close(out, true);
  }

  #append(frame: Float32Array): void {
    const buf = this.#buf!;
    const n = Math.min(frame.length, buf.length - this.#bufLen);
    buf.set(frame.subarray(0, n), this.#bufLen);
    this.#bufLen += n;
  }

  #close(out: Utterance[], cut: boolean): void {
    const buf = this.#buf!;
    // A cut keeps everything (speech goes on); a pause ends at the last voiced frame.
    const len = cut ? this.#bufLen : this.#lastVoicedLen;
    const start = this.#bufStart;
    this.#buf = null;
    this.#silentRun = 0;
    if (cut) {
      // Speech continues: the next utterance opens on the next voiced frame without a new onset.
      this.#voicedRun = this.#minSpeechFrames - 1;
    }
    if (len < this.#minSamples) return;
    const rate = this.options.sampleRate;
    out.push({
      start,
      end: start + len,
      startS: start / rate,
      endS: (start + len) / rate,
      durationS: len / rate,
      samples: buf.slice(0, len),
      cut,
    });
  }
}

/** Segments a whole buffer at once (the streaming segmenter, pushed once and flushed). */
export function segmentUtterances(samples: Float32Array, options: Partial<VadOptions> = {}): Utterance[] {
  const vad = new VadSegmenter(options);
  return [...vad.push(samples), ...vad.flush()];
}
