/**
 * `voicemood model convert <checkpoint-dir> --out <file.onnx> [--model-id <id>] [--revision <rev>] [--quantize int8]`:
 * an emotion2vec(+) checkpoint folder (model.pt, config.yaml, tokens.txt) → one ONNX file.
 * Progress (tensors and bytes written) goes to stderr when it is a terminal, or for big models;
 * a one-line summary follows. `--quantize int8` writes dynamically quantized linear layers.
 */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { convertCheckpoint } from '../inference/convert/convertCheckpoint.ts';
import type { Quantization, WrittenModel } from '../inference/convert/writeEmotion2vec.ts';
import type { WriteProgress } from '../inference/onnx/writer.ts';

export interface ModelConvertOptions {
  out: string;
  modelId?: string;
  revision?: string;
  quantize?: Quantization;
}

export interface ConvertIo {
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Models above this size report progress even when stderr is not a terminal. */
const BIG_MODEL_BYTES = 100 * 2 ** 20;

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

/** A progress reporter: rewrites one line on a terminal, prints every ~10 % otherwise (big models only). */
export function progressReporter(io: ConvertIo): { onProgress: (p: WriteProgress) => void; finish: () => void } {
  const tty = Boolean(io.stderr.isTTY);
  let lastDecile = -1;
  let drawn = false;
  return {
    onProgress(p) {
      const line = `converting: ${p.tensorsWritten}/${p.tensorsTotal} tensors, ${mb(p.bytesWritten)} of ${mb(p.bytesTotal)}`;
      if (tty) {
        io.stderr.write(`\r${line}\x1b[K`);
        drawn = true;
      } else if (p.bytesTotal >= BIG_MODEL_BYTES) {
        const decile = Math.floor((10 * p.bytesWritten) / p.bytesTotal);
        if (decile !== lastDecile) {
          lastDecile = decile;
          io.stderr.write(`${line}\n`);
        }
      }
    },
    finish() {
      if (drawn) io.stderr.write('\r\x1b[K');
    },
  };
}

export function summaryLine(dir: string, r: WrittenModel, seconds: number): string {
  const m = r.metadata;
  return (
    `converted ${dir} → ${r.path}: ${r.tensors} tensors, ${mb(r.bytes)}, D=${m.embedDim}, ` +
    `${m.labelsEn.length} labels, ${m.quantization}, source ${m.sourceModel}@${m.sourceRevision}, ` +
    `model.pt sha256 ${m.checkpointSha256.slice(0, 12)}…, ${seconds.toFixed(1)} s`
  );
}

export async function runModelConvert(dir: string, options: ModelConvertOptions, io: ConvertIo = { stderr: process.stderr }): Promise<WrittenModel> {
  const started = performance.now();
  const progress = progressReporter(io);
  try {
    const result = await convertCheckpoint(resolve(dir), resolve(options.out), {
      sourceModel: options.modelId,
      sourceRevision: options.revision,
      quantization: options.quantize,
      onProgress: progress.onProgress,
    });
    progress.finish();
    io.stderr.write(`${summaryLine(dir, result, (performance.now() - started) / 1000)}\n`);
    return result;
  } catch (e) {
    progress.finish();
    throw e;
  }
}

export function registerModelConvert(model: Command): void {
  model
    .command('convert')
    .description('Convert an emotion2vec(+) checkpoint folder (model.pt, config.yaml, tokens.txt) to ONNX.')
    .argument('<checkpoint-dir>', 'folder with model.pt, config.yaml and tokens.txt')
    .requiredOption('-o, --out <file.onnx>', 'where to write the ONNX model')
    .option('--model-id <id>', 'source model name stored in the metadata, e.g. emotion2vec_plus_base', 'local')
    .option('--revision <rev>', 'source revision stored in the metadata', 'unknown')
    .addOption(
      new Option('--quantize <mode>', 'weight precision: fp32, or int8 (about 3× smaller, slightly less exact)').choices(['fp32', 'int8']).default('fp32'),
    )
    .action(async (dir: string, opts: ModelConvertOptions) => {
      await runModelConvert(dir, opts);
    });
}
