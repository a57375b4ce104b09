/**
 * `voicemood analyze <files or folders…>`: every input is decoded, analysed and written to its own
 * folder `<out>/<name>_<YYYYMMDD_HHMMSS>/` (processed_audio.wav, result.json, embedding.npy).
 * Batches run concurrently up to the engine's capacity and go on past bad files; `--json` prints
 * one JSON object per input on stdout and nothing else there.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { collectInputs } from '../audio/files.ts';
import { audioLimitsFromEnv, checkSize } from '../audio/limits.ts';
import type { AudioLimits } from '../audio/types.ts';
import { encodeWavPcm16 } from '../audio/wavWriter.ts';
import { VoicemoodError, isVoicemoodError, toVoicemoodError } from '../domain/errors.ts';
import { createProgressReporter } from './progress.ts';
import { openEngine } from '../inference/engine.ts';
import type { EmotionEngine } from '../inference/types.ts';
import { analyzeVoice, type VoiceAnalysis } from '../usecases/analyzeVoice.ts';
import type { Lang } from '../domain/emotions.ts';
import { embeddingJson, embeddingMatrix, resultJson, type Granularity, type ResultJson } from '../render/resultJson.ts';
import { encodeNpy } from '../util/npy.ts';
import { renderTerminalCard } from './card.ts';

export { embeddingMatrix, resultJson, type Granularity, type ResultJson };

export interface AnalyzeCliOptions {
  granularity: Granularity;
  embedding: boolean;
  out: string;
  json: boolean;
  lang: Lang;
  /** Default: audioLimitsFromEnv(). */
  limits?: AudioLimits;
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Creates `<out>/<name>_<stamp>/`, or `…_2`, `…_3` when it exists (mkdir is the atomic claim). */
export async function createOutputDir(outRoot: string, input: string, at: Date): Promise<string> {
  await mkdir(outRoot, { recursive: true });
  const name = basename(input, extname(input)).replace(/[^\p{L}\p{N}._-]+/gu, '_') || 'audio';
  const base = join(outRoot, `${name}_${stamp(at)}`);
  for (let i = 1; ; i++) {
    const dir = i === 1 ? base : `${base}_${i}`;
    try {
      await mkdir(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || i > 10_000) throw e;
    }
  }
}

/** Waits and retries when the shared engine answers 'busy', instead of failing the input. */
function patientEngine(engine: EmotionEngine): EmotionEngine {
  return {
    model: engine.model,
    load: () => engine.load(),
    close: () => engine.close(),
    async analyze(samples, options) {
      for (let attempt = 0; ; attempt++) {
        try {
          return await engine.analyze(samples, options);
        } catch (e) {
          if (!isVoicemoodError(e, 'busy') || attempt >= 50) throw e;
          await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** Math.min(attempt, 5))));
        }
      }
    },
  };
}

export interface InputOutcome {
  input: string;
  dir?: string;
  result?: ResultJson;
  analysis?: VoiceAnalysis;
  error?: VoicemoodError;
}

/** Analyses one file and writes its folder. Never throws: failures come back in `error`. */
export async function analyzeFile(engine: EmotionEngine, input: string, options: AnalyzeCliOptions): Promise<InputOutcome> {
  try {
    const limits = options.limits ?? audioLimitsFromEnv();
    const info = await stat(input);
    if (!info.isFile()) throw new VoicemoodError('bad_input', `${input} is not a file.`);
    checkSize(info.size, limits); // before reading: a huge file is refused without loading it
    const bytes = await readFile(input);
    const frames = options.granularity === 'frame';
    const analysis = await analyzeVoice(engine, bytes, { filename: input, limits, frames });
    const now = new Date();
    const result = resultJson(analysis, options.granularity, now);
    const dir = await createOutputDir(options.out, input, now);
    await writeFile(join(dir, 'processed_audio.wav'), encodeWavPcm16(analysis.audio.samples));
    await writeFile(join(dir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
    if (options.embedding) {
      const m = embeddingMatrix(analysis, options.granularity);
      await writeFile(join(dir, 'embedding.npy'), encodeNpy(m.data, m.shape));
    }
    return { input, dir, result, analysis };
  } catch (e) {
    const err = (e as NodeJS.ErrnoException)?.code === 'ENOENT' ? new VoicemoodError('not_found', `${input} does not exist.`) : toVoicemoodError(e);
    return { input, error: err };
  }
}

/** One --json line: `input` first, then the result fields or `error` and `code`. */
export function jsonLine(o: InputOutcome, options: AnalyzeCliOptions): string {
  if (o.error || !o.result || !o.analysis) {
    return JSON.stringify({ input: o.input, error: o.error?.message ?? 'unknown error', code: o.error?.code ?? 'internal' });
  }
  const line: Record<string, unknown> = { input: o.input, ...o.result, output_dir: o.dir };
  if (options.embedding) line.embedding = embeddingJson(o.analysis, options.granularity);
  return JSON.stringify(line);
}

interface Bar {
  start(total: number, value: number): void;
  increment(): void;
  stop(): void;
}

function progressBar(total: number): Bar | undefined {
  if (!process.stderr.isTTY || total < 2) return undefined;
  const cliProgress = createRequire(import.meta.url)('cli-progress') as {
    SingleBar: new (options: Record<string, unknown>, preset?: unknown) => Bar;
    Presets: { shades_classic: unknown };
  };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'analyzing [{bar}] {value}/{total} | ETA {eta_formatted}', hideCursor: true, etaBuffer: 20, fps: 5 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return bar;
}

/** Runs `worker` over the items with at most `limit` at a time, keeping the input order of the results. */
async function mapConcurrent<T, R>(items: readonly T[], limit: number, worker: (item: T) => Promise<R>, onDone: (r: R, i: number) => void): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await worker(items[i]);
      onDone(results[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, run));
  return results;
}

export interface RunAnalyzeIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** The whole command; returns the exit code (0 when every input was analysed, 1 otherwise). */
export async function runAnalyze(
  engine: EmotionEngine,
  inputs: readonly string[],
  options: AnalyzeCliOptions,
  io: RunAnalyzeIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const { files, missing } = await collectInputs(inputs);
  const outcomes: InputOutcome[] = missing.map((input) => ({ input, error: new VoicemoodError('not_found', `${input} does not exist.`) }));
  for (const o of outcomes) if (options.json) io.stdout.write(`${jsonLine(o, options)}\n`);
  if (files.length === 0 && missing.length === 0) {
    throw new VoicemoodError('bad_input', `No audio files found in ${inputs.join(', ')} (looked for .wav, .mp3, .m4a, .ogg, .opus, .flac, .webm, .mp4 …).`);
  }
  const limits = options.limits ?? audioLimitsFromEnv(); // a bad value stops here, not per file
  const perFile = { ...options, limits };
  const patient = patientEngine(engine);
  const capacity = Math.max(1, engine.load().capacity);
  const concurrency = Math.min(capacity, availableParallelism() * 2);
  const bar = io.stderr === process.stderr ? progressBar(files.length) : undefined;
  const showCard = Boolean(io.stdout.isTTY);
  const done = await mapConcurrent(
    files,
    concurrency,
    (f) => analyzeFile(patient, f, perFile),
    (o) => {
      bar?.increment();
      if (options.json) io.stdout.write(`${jsonLine(o, options)}\n`);
      else if (o.result && o.analysis) {
        if (showCard) {
          io.stdout.write(`\n${o.input} → ${o.dir}\n${renderTerminalCard(o.analysis, { lang: options.lang, timeline: options.granularity === 'frame' })}\n`);
        } else {
          io.stdout.write(`${o.input}\t${o.result.emotion}\t${(o.result.confidence * 100).toFixed(1)}%\t${o.dir}\n`);
        }
      }
    },
  );
  bar?.stop();
  outcomes.push(...done);
  const failed = outcomes.filter((o) => o.error);
  const ok = outcomes.length - failed.length;
  const lines = [`voicemood analyze: ${ok} analysed, ${failed.length} failed (of ${outcomes.length}); results in ${resolve(options.out)}`];
  for (const f of failed) lines.push(`  ✗ ${f.input}: ${f.error!.message} [${f.error!.code}]`);
  io.stderr.write(`${lines.join('\n')}\n`);
  return failed.length > 0 ? 1 : 0;
}

export function registerAnalyze(program: Command): void {
  program
    .command('analyze')
    .description('Analyse audio files and folders: result.json, processed_audio.wav (16 kHz mono) and optionally embedding.npy per input.')
    .argument('<inputs...>', 'audio files or folders (walked recursively)')
    .addOption(
      new Option('-g, --granularity <level>', 'utterance: one result per file; frame: also per-frame scores (50 per second)')
        .choices(['utterance', 'frame'])
        .default('utterance'),
    )
    .option('-e, --embedding', 'also write embedding.npy (float32, [1, D] or [T, D])', false)
    .option('-o, --out <dir>', 'output folder', './outputs')
    .option('-m, --model <model>', 'a converted .onnx file or a published model id (default: VOICEMOOD_MODEL)')
    .option('--json', 'print one JSON object per input on stdout (JSON Lines) and nothing else there', false)
    .addOption(new Option('--lang <lang>', 'language of the terminal card').choices(['en', 'zh']).default('en'))
    .action(async (inputs: string[], opts: { granularity: Granularity; embedding: boolean; out: string; model?: string; json: boolean; lang: Lang }) => {
      const progress = createProgressReporter();
      let engine: EmotionEngine;
      try {
        engine = await openEngine({ model: opts.model, onProgress: progress.handle });
      } finally {
        progress.stop();
      }
      try {
        const code = await runAnalyze(engine, inputs, {
          granularity: opts.granularity,
          embedding: opts.embedding,
          out: opts.out,
          json: opts.json,
          lang: opts.lang,
        });
        process.exitCode = code;
      } finally {
        await engine.close();
      }
    });
}
