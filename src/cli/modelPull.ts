/**
 * `voicemood model pull <id> [--mirror huggingface|modelscope] [--base-url <url>] [--revision <rev>]
 *  [--quantize int8] [--force]`: download a published emotion2vec+ model (resumable, verified),
 * convert it and cache it under the models folder. Progress on stderr (a bar on a terminal, plain
 * lines otherwise); the path of the .onnx on stdout.
 *
 * `voicemood model list [--json]`: the published models and what of them is in the models folder.
 */
import { Option, type Command } from 'commander';
import { modelsDir, type Env } from '../util/config.ts';
import { VoicemoodError } from '../domain/errors.ts';
import { createProgressReporter, formatBytes } from './progress.ts';
import { pullModel, type PullResult } from '../inference/download/pull.ts';
import { listCachedModels, loadRegistry, MIRRORS, type MirrorName, type Quantization } from '../inference/modelStore.ts';

export interface ModelPullOptions {
  mirror?: MirrorName;
  baseUrl?: string;
  revision?: string;
  quantize?: Quantization;
  force?: boolean;
}

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Env;
}

const defaultIo = (): CliIo => ({ stdout: process.stdout, stderr: process.stderr, env: process.env });

export async function runModelPull(id: string, options: ModelPullOptions, io: CliIo = defaultIo()): Promise<PullResult> {
  const reporter = createProgressReporter({ stream: io.stderr });
  const controller = new AbortController();
  // Ctrl-C stops cleanly; the .part file stays and the next pull resumes it.
  const onSigint = (): void => controller.abort(new VoicemoodError('download_failed', 'Interrupted. Run the same command again to resume the download.'));
  process.once('SIGINT', onSigint);
  try {
    const result = await pullModel({
      id,
      mirror: options.mirror,
      baseUrl: options.baseUrl,
      revision: options.revision,
      quantization: options.quantize,
      force: options.force,
      env: io.env,
      onProgress: reporter.handle,
      signal: controller.signal,
    });
    reporter.stop();
    io.stdout.write(`${result.onnxPath}\n`);
    return result;
  } finally {
    reporter.stop();
    process.removeListener('SIGINT', onSigint);
  }
}

export function runModelList(options: { json?: boolean }, io: CliIo = defaultIo()): void {
  const root = modelsDir(io.env);
  const registry = loadRegistry();
  const cached = new Map(listCachedModels(root, registry).map((m) => [m.id, m]));
  if (options.json) {
    io.stdout.write(
      `${JSON.stringify({ modelsDir: root, default: registry.defaultModel, models: Object.keys(registry.models).map((id) => ({ id, ...registry.models[id], cached: cached.get(id) ?? null })) }, null, 2)}\n`,
    );
    return;
  }
  io.stdout.write(`Models folder: ${root}\n`);
  for (const [id, m] of Object.entries(registry.models)) {
    const c = cached.get(id);
    const onnx = c?.onnx.map((o) => `${o.quantization} ${formatBytes(o.bytes)}`).join(', ');
    const revs = c?.revisions.map((r) => `${r.revision}${r.complete ? '' : ' (incomplete)'} ${formatBytes(r.bytes)}`).join(', ');
    const state = onnx ? `ready (${onnx})` : revs ? 'downloaded, not converted' : `not downloaded (~${formatBytes(m.approxBytes['model.pt'] ?? 0)})`;
    io.stdout.write(`${id === registry.defaultModel ? '*' : ' '} ${id.padEnd(24)} ${m.parameters.padEnd(31)} ${state}${revs ? `; files: ${revs}` : ''}\n`);
  }
  io.stdout.write(`(* = default; licence: ${registry.licence.name} — attribution required)\n`);
}

export function registerModelPull(model: Command): void {
  model
    .command('pull')
    .description('Download a published emotion2vec+ model (resumable, verified), convert it to ONNX and cache it under the models folder.')
    .argument('<id>', `model id: ${Object.keys(loadRegistry().models).join(', ')}`)
    .addOption(new Option('--mirror <name>', 'where to download from').choices([...MIRRORS]))
    .option('--base-url <url>', 'download host instead of the mirror default (also VOICEMOOD_HF_ENDPOINT)')
    .option('--revision <rev>', 'repository revision (default: main on Hugging Face, master on ModelScope)')
    .addOption(new Option('--quantize <mode>', 'convert with int8 linear layers to <id>.int8.onnx (smaller, faster, slightly less exact)').choices(['int8']))
    .option('--force', 'download and convert again even when cached')
    .action(async (id: string, opts: ModelPullOptions) => {
      await runModelPull(id, opts);
    });
  model
    .command('list')
    .description('Show the published models and which of them are downloaded and converted.')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => runModelList(opts));
}
