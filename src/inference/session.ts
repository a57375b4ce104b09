/**
 * The onnxruntime-node session behind the engine, and the one thing the engine asks of it:
 * run a padded batch. Session options are chosen for a CPU server:
 * - intra-op threads = cores (one batch at a time uses the whole machine; the engine never runs
 *   two batches at once), inter-op 1, sequential execution;
 * - graph optimisation 'all', and the optimised graph saved under the cache dir, keyed by the
 *   model's path, size and mtime and by the ORT version and CPU, so that a second start skips
 *   the optimisation passes. A cached graph that ORT cannot load is deleted and rebuilt.
 *   Its weights go to a separate file beside it (model.data), which ORT memory-maps instead of
 *   copying them out of the protobuf: measured on base int8, 187 instead of 300 MB RSS after
 *   opening and a faster open (README, "Speed").
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, realpathSync, renameSync, rmSync, statSync, mkdirSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { VoicemoodError } from '../domain/errors.ts';

export interface BatchOutputs {
  /** [B, 9] */
  scores: Float32Array;
  /** [B, 9] */
  logits: Float32Array;
  /** [B, D] */
  embedding: Float32Array;
  /** [B] */
  frameLengths: BigInt64Array;
  /** [B, T, D] and [B, T, 9]; only when asked (frames: only when frame embeddings are asked too). */
  frames?: Float32Array;
  frameScores?: Float32Array;
  /** T: padded frame count of the batch. */
  frameCount: number;
}

/**
 * What the engine needs from a session: run one padded batch. Replaceable in tests.
 * `run` may take ownership of `waveform` and `lengths` (the worker runner moves their buffers to
 * its thread): the caller must not use them afterwards. `withFrames` asks for the per-frame
 * scores, and the frame embeddings too unless `frameEmbeddings` is false (not fetched at all then).
 */
export interface BatchRunner {
  run(waveform: Float32Array, lengths: BigInt64Array, rows: number, width: number, withFrames: boolean, frameEmbeddings?: boolean): Promise<BatchOutputs>;
  release(): Promise<void>;
}

export interface SessionOptions {
  /** Intra-op threads (default: every core). */
  threads?: number;
  /** Where optimised graphs are cached; undefined disables the cache. */
  cacheDir?: string;
}

export interface OpenedSession {
  runner: BatchRunner;
  /** The optimised-graph cache file, whether it was used (hit) or written now. */
  optimizedCache: { path: string; hit: boolean } | undefined;
}

const REQUIRED_INPUTS = ['waveform', 'lengths'];
const REQUIRED_OUTPUTS = ['scores', 'logits', 'embedding', 'frame_lengths'];

function baseOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // VOICEMOOD_ENGINE_ARENA=0: no ORT memory arena, so that memory can go back to the system
    // after a burst (with glibc, together with MALLOC_MMAP_THRESHOLD_; see the README, "Under load and attack").
    enableCpuMemArena: process.env.VOICEMOOD_ENGINE_ARENA !== '0',
    // Memory patterns pre-plan one block per input shape; clips vary in length, so they only add
    // a second copy of the activations (base int8, 5 s clip: peak RSS 276 vs 344 MB, same speed).
    enableMemPattern: false,
    logSeverityLevel: 3, // errors only: ORT's warnings are not for our users
  };
}

/** Inside a cache folder: the optimised graph, and its weights (referenced by this relative name). */
const CACHED_GRAPH = 'model.onnx';
const CACHED_WEIGHTS = 'model.data';

/**
 * The cached graph of a model: `<name>-<path hash>-<key>/model.onnx` (+ model.data), where the
 * key changes with the model's size and mtime, the ORT version and the CPU (an 'all'-level graph
 * may be CPU-specific). One folder per cache entry, so that it can be renamed into place whole.
 */
export function optimizedCachePath(modelPath: string, cacheDir: string): string {
  const real = realpathSync(modelPath);
  const st = statSync(real);
  const hash = (parts: unknown[]): string => createHash('sha256').update(parts.join('\0')).digest('hex');
  const key = hash([st.size, Math.floor(st.mtimeMs), ort.env.versions.common, process.platform, process.arch, cpus()[0]?.model ?? '']).slice(0, 16);
  return join(cacheDir, 'ort-optimized', `${basename(real, '.onnx')}-${hash([real]).slice(0, 8)}-${key}`, CACHED_GRAPH);
}

/** Asks ORT to write the optimised graph with every initializer of 1 KiB or more in CACHED_WEIGHTS. */
const SAVE_WEIGHTS_APART = {
  session: {
    optimized_model_external_initializers_file_name: CACHED_WEIGHTS,
    optimized_model_external_initializers_min_size_in_bytes: '1024',
  },
};

async function createSession(path: string, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(path, options);
  } catch (e) {
    throw new VoicemoodError(
      'model_invalid',
      `ONNX Runtime cannot load ${path}: it is not a valid ONNX model or is damaged. Convert it again with \`voicemood model convert\`.`,
      {
        cause: e,
        details: { path },
      },
    );
  }
}

export async function openSession(modelPath: string, options: SessionOptions = {}): Promise<OpenedSession> {
  const threads = options.threads ?? availableParallelism();
  let session: ort.InferenceSession | undefined;
  let optimizedCache: OpenedSession['optimizedCache'];
  if (options.cacheDir) {
    const cachePath = optimizedCachePath(modelPath, options.cacheDir);
    const entry = dirname(cachePath);
    if (existsSync(cachePath)) {
      try {
        // Already optimised: loading it with optimisations off is what makes the start fast.
        session = await ort.InferenceSession.create(cachePath, { ...baseOptions(threads), graphOptimizationLevel: 'disabled' });
        optimizedCache = { path: cachePath, hit: true };
      } catch {
        rmSync(entry, { recursive: true, force: true }); // unreadable (ORT upgrade, truncated write): rebuild
      }
    }
    if (!session) {
      const tmp = `${entry}.${process.pid}.tmp`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      session = await createSession(modelPath, {
        ...baseOptions(threads),
        graphOptimizationLevel: 'all',
        optimizedModelFilePath: join(tmp, CACHED_GRAPH),
        extra: SAVE_WEIGHTS_APART,
      });
      if (existsSync(join(tmp, CACHED_GRAPH)) && moveIntoPlace(tmp, entry)) {
        removeStaleCaches(entry);
        optimizedCache = { path: cachePath, hit: false };
      }
      rmSync(tmp, { recursive: true, force: true });
    }
  } else {
    session = await createSession(modelPath, { ...baseOptions(threads), graphOptimizationLevel: 'all' });
  }
  checkSignature(session, modelPath);
  return { runner: ortRunner(session), optimizedCache };
}

/** Renames the folder `from` to `to` (atomic: a concurrent start never sees half an entry); false when `to` appeared meanwhile. */
function moveIntoPlace(from: string, to: string): boolean {
  try {
    renameSync(from, to);
    return true;
  } catch {
    return existsSync(join(to, CACHED_GRAPH)); // another process won the race: its copy serves
  }
}

/** Older optimised copies of the same model file (other mtime, ORT or CPU; folders or the single files of before) are dead weight. */
function removeStaleCaches(current: string): void {
  const dir = dirname(current);
  const name = basename(current);
  const stem = name.slice(0, name.lastIndexOf('-') + 1); // "<name>-<path hash>-"
  for (const f of readdirSync(dir)) {
    if (f !== name && f.startsWith(stem) && /^[0-9a-f]{16}(\.onnx)?$/.test(f.slice(stem.length))) rmSync(join(dir, f), { recursive: true, force: true });
  }
}

function checkSignature(session: ort.InferenceSession, path: string): void {
  const missingIn = REQUIRED_INPUTS.filter((n) => !session.inputNames.includes(n));
  const missingOut = REQUIRED_OUTPUTS.filter((n) => !session.outputNames.includes(n));
  if (missingIn.length > 0 || missingOut.length > 0) {
    void session.release();
    throw new VoicemoodError(
      'model_invalid',
      `${path} is an ONNX model but not a voicemood emotion model (it lacks ${[...missingIn, ...missingOut].join(', ')}). Convert the checkpoint with \`voicemood model convert\`.`,
      {
        details: { path, inputs: session.inputNames, outputs: session.outputNames },
      },
    );
  }
}

function ortRunner(session: ort.InferenceSession): BatchRunner {
  const hasFrames = session.outputNames.includes('frames') && session.outputNames.includes('frame_scores');
  return {
    async run(waveform, lengths, rows, width, withFrames, frameEmbeddings = true) {
      const feeds = {
        waveform: new ort.Tensor('float32', waveform, [rows, width]),
        lengths: new ort.Tensor('int64', lengths, [rows]),
      };
      const fetches = [...REQUIRED_OUTPUTS, ...(withFrames && hasFrames ? (frameEmbeddings ? ['frames', 'frame_scores'] : ['frame_scores']) : [])];
      const out = await session.run(feeds, fetches);
      const frames = out.frames?.data as Float32Array | undefined;
      return {
        scores: out.scores.data as Float32Array,
        logits: out.logits.data as Float32Array,
        embedding: out.embedding.data as Float32Array,
        frameLengths: out.frame_lengths.data as BigInt64Array,
        frames,
        frameScores: out.frame_scores?.data as Float32Array | undefined,
        frameCount: out.frame_scores ? Number(out.frame_scores.dims[1]) : 0,
      };
    },
    release: () => session.release(),
  };
}
