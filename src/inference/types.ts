/**
 * The contract between the inference layer and everything above it.
 *
 * ONNX graph contract (what our converter writes and the engine runs):
 *   inputs   waveform      float32 [B, N]   mono, 16 kHz, rows zero-padded to N
 *            lengths       int64   [B]      true number of samples of each row
 *   outputs  scores        float32 [B, 9]   softmax over the labels (unuse* masked)
 *            logits        float32 [B, 9]
 *            embedding     float32 [B, D]   mean over the row's real frames
 *            frames        float32 [B, T, D] frame embeddings (rows past frame_lengths are padding)
 *            frame_scores  float32 [B, T, 9]
 *            frame_lengths int64   [B]      number of real frames of each row
 * A row of a batch gives what the same clip gives alone: float32 up to float rounding (~1e-6);
 * int8 up to that rounding, which now and then flips an int8 rounding (scores move by ≤ ~3e-3).
 * Model metadata (ONNX metadata_props), keys prefixed `voicemood.`: see ModelMetadata.
 */
import type { Emotion, EmotionScores } from '../domain/emotions.ts';

export interface ModelMetadata {
  /** English labels in output order, e.g. ["angry", …, "unknown"]. */
  labelsEn: string[];
  /** Chinese labels in output order (from tokens.txt). */
  labelsZh: string[];
  sampleRate: number; // 16000
  frameRate: number; // 50 for the published conv spec
  embedDim: number;
  /** e.g. "emotion2vec_plus_base", or "local" for a converted folder. */
  sourceModel: string;
  sourceRevision: string;
  /** sha256 (hex) of the model.pt the graph was built from. */
  checkpointSha256: string;
  converterVersion: string;
  quantization: 'fp32' | 'int8';
  /** feature_encoder_spec as [channels, kernel, stride][] (frame counts follow from it). */
  convSpec: [number, number, number][];
}

export interface ModelInfo extends ModelMetadata {
  /** Path of the .onnx file that is loaded. */
  path: string;
  /** Short id shown to users: sourceModel plus quantization, e.g. "emotion2vec_plus_base (int8)". */
  id: string;
}

export interface AnalyzeOptions {
  /** Also return frame embeddings and per-frame scores. */
  frames?: boolean;
  /**
   * With `frames`: also the frame embeddings (default true). false answers only the per-frame
   * scores, sparing the [T, D] copy (~92 MB for 10 minutes on a base model) callers would drop.
   */
  frameEmbeddings?: boolean;
  signal?: AbortSignal;
}

export interface FrameResults {
  /** Number of frames T. */
  count: number;
  /** Embedding size D. */
  dim: number;
  /** Frames per second (50). */
  frameRate: number;
  /** Row-major [T, D]; absent when asked without them (AnalyzeOptions.frameEmbeddings false). */
  embeddings?: Float32Array;
  /** Row-major [T, 9], model label order. */
  scores: Float32Array;
}

/** What the engine answers for one clip. */
export interface EmotionResult {
  emotion: Emotion;
  confidence: number;
  scores: EmotionScores;
  logits: number[];
  /** Utterance embedding [D]. */
  embedding: Float32Array;
  frames?: FrameResults;
  durationS: number;
  model: string;
}

/** The one shared engine: everything that needs an emotion asks this. */
export interface EmotionEngine {
  readonly model: ModelInfo;
  /** samples: mono float32 at 16 kHz. Rejects with VoicemoodError('busy') when the queue is full. */
  analyze(samples: Float32Array, options?: AnalyzeOptions): Promise<EmotionResult>;
  /** Requests in flight plus queued, and the bound. */
  load(): { inFlight: number; queued: number; capacity: number };
  /** Finishes what is in flight, then releases the session. */
  close(): Promise<void>;
}
