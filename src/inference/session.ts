/**
 * The onnxruntime-node session behind the engine, and the one thing the engine asks of it:
 * run a padded batch. Session options are chosen for a CPU server:
 * - intra-op threads = cores (one batch at a time uses the whole machine; the engine never runs
 *   two batches at once), inter-op 1, sequential execution;
 * - graph optimisation 'all', and the optimised graph saved under the cache dir, keyed by the
 *   model's path, size and mtime and by the ORT version and CPU, so that a second start skips
 *   the optimisation passes. A cached graph that ORT cannot load is deleted and rebuilt.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, realpathSync, renameSync, rmSync, statSync, mkdirSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { basename, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { VoicemoodError } from '../errors.ts';

export interface BatchOutputs {
  /** [B, 9] */
  scores: Float32Array;
  /** [B, 9] */
  logits: Float32Array;
  /** [B, D] */
  embedding: Float32Array;
  /** [B] */
  frameLengths: BigInt64Array;
  /** [B, T, D] and [B, T, 9]; only when asked. */
  frames?: Float32Array;
  frameScores?: Float32Array;
  /** T: padded frame count of the batch. */
  frameCount: number;
}

/** What the engine needs from a session: run one padded batch. Replaceable in tests. */
export interface BatchRunner {
  run(waveform: Float32Array, lengths: BigInt64Array, rows: number, width: number, withFrames: boolean): Promise<BatchOutputs>;
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
    enableCpuMemArena: true,
    logSeverityLevel: 3, // errors only: ORT's warnings are not for our users
  };
}

/**
 * The cache file for a model: `<name>-<path hash>-<key>.onnx`, where the key changes with the
 * model's size and mtime, the ORT version and the CPU (an 'all'-level graph may be CPU-specific).
 */
export function optimizedCachePath(modelPath: string, cacheDir: string): string {
  const real = realpathSync(modelPath);
  const st = statSync(real);
  const hash = (parts: unknown[]): string => createHash('sha256').update(parts.join('\0')).digest('hex');
  const key = hash([st.size, Math.floor(st.mtimeMs), ort.env.versions.common, process.platform, process.arch, cpus()[0]?.model ?? '']).slice(0, 16);
  return join(cacheDir, 'ort-optimized', `${basename(real, '.onnx')}-${hash([real]).slice(0, 8)}-${key}.onnx`);
}

async function createSession(path: string, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(path, options);
  } catch (e) {
    throw new VoicemoodError('model_invalid', `ONNX Runtime cannot load ${path}: it is not a valid ONNX model or is damaged. Convert it again with \`voicemood model convert\`.`, {
      cause: e,
      details: { path },
    });
  }
}

export async function openSession(modelPath: string, options: SessionOptions = {}): Promise<OpenedSession> {
  const threads = options.threads ?? availableParallelism();
  let session: ort.InferenceSession | undefined;
  let optimizedCache: OpenedSession['optimizedCache'];
  if (options.cacheDir) {
    const cachePath = optimizedCachePath(modelPath, options.cacheDir);
    if (existsSync(cachePath)) {
      try {
        // Already optimised: loading it with optimisations off is what makes the start fast.
        session = await ort.InferenceSession.create(cachePath, { ...baseOptions(threads), graphOptimizationLevel: 'disabled' });
        optimizedCache = { path: cachePath, hit: true };
      } catch {
        rmSync(cachePath, { force: true }); // unreadable (ORT upgrade, truncated write): rebuild
      }
    }
    if (!session) {
      mkdirSync(join(options.cacheDir, 'ort-optimized'), { recursive: true });
      const tmp = `${cachePath}.${process.pid}.tmp`;
      session = await createSession(modelPath, { ...baseOptions(threads), graphOptimizationLevel: 'all', optimizedModelFilePath: tmp });
      if (existsSync(tmp)) {
        renameSync(tmp, cachePath); // atomic: a concurrent start never sees half a file
        removeStaleCaches(cachePath);
        optimizedCache = { path: cachePath, hit: false };
      }
    }
  } else {
    session = await createSession(modelPath, { ...baseOptions(threads), graphOptimizationLevel: 'all' });
  }
  checkSignature(session, modelPath);
  return { runner: ortRunner(session), optimizedCache };
}

/** Older optimised copies of the same model file (other mtime, ORT or CPU) are dead weight. */
function removeStaleCaches(current: string): void {
  const dir = join(current, '..');
  const name = basename(current);
  const stem = name.slice(0, name.lastIndexOf('-') + 1); // "<name>-<path hash>-"
  for (const f of readdirSync(dir)) {
    if (f !== name && f.startsWith(stem) && /^[0-9a-f]{16}\.onnx$/.test(f.slice(stem.length))) rmSync(join(dir, f), { force: true });
  }
}

function checkSignature(session: ort.InferenceSession, path: string): void {
  const missingIn = REQUIRED_INPUTS.filter((n) => !session.inputNames.includes(n));
  const missingOut = REQUIRED_OUTPUTS.filter((n) => !session.outputNames.includes(n));
  if (missingIn.length > 0 || missingOut.length > 0) {
    void session.release();
    throw new VoicemoodError('model_invalid', `${path} is an ONNX model but not a voicemood emotion model (it lacks ${[...missingIn, ...missingOut].join(', ')}). Convert the checkpoint with \`voicemood model convert\`.`, {
      details: { path, inputs: session.inputNames, outputs: session.outputNames },
    });
  }
}

function ortRunner(session: ort.InferenceSession): BatchRunner {
  const hasFrames = session.outputNames.includes('frames') && session.outputNames.includes('frame_scores');
  return {
    async run(waveform, lengths, rows, width, withFrames) {
      const feeds = {
        waveform: new ort.Tensor('float32', waveform, [rows, width]),
        lengths: new ort.Tensor('int64', lengths, [rows]),
      };
      const fetches = [...REQUIRED_OUTPUTS, ...(withFrames && hasFrames ? ['frames', 'frame_scores'] : [])];
      const out = await session.run(feeds, fetches);
      const frames = out.frames?.data as Float32Array | undefined;
      return {
        scores: out.scores.data as Float32Array,
        logits: out.logits.data as Float32Array,
        embedding: out.embedding.data as Float32Array,
        frameLengths: out.frame_lengths.data as BigInt64Array,
        frames,
        frameScores: out.frame_scores?.data as Float32Array | undefined,
        frameCount: out.frames ? Number(out.frames.dims[1]) : 0,
      };
    },
    release: () => session.release(),
  };
}
