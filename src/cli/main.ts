/**
 * `voicemood` command line: analyze files and folders, convert and pull models, run the bots.
 * Each subcommand lives in its own module; this file only wires them together.
 */
import { Command } from 'commander';
import { isVoicemoodError } from '../domain/errors.ts';
import { redact } from '../util/log.ts';
import { registerAnalyze } from './analyze.ts';
import { registerModelConvert } from './modelConvert.ts';
import { registerModelPull } from './modelPull.ts';
import { registerWorker } from './worker.ts';
import { registerWeb } from './web.ts';
import { VERSION } from '../util/version.ts';

export function buildProgram(): Command {
  const program = new Command('voicemood')
    .description('Hears how voice sounds: emotion2vec+ speech emotion recognition on the CPU.')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError();
  registerAnalyze(program);
  registerWeb(program);
  const model = program.command('model').description('Convert, download and inspect emotion2vec+ models.');
  registerModelConvert(model);
  registerModelPull(model);
  program
    .command('serve')
    .description('Start every bot whose token is set, and the web app (same as `npm start`).')
    .action(async () => {
      const { main } = await import('../main.ts');
      await main();
    });
  registerWorker(program);
  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    const message = isVoicemoodError(e) ? e.message : e instanceof Error ? e.message : String(e);
    process.stderr.write(`voicemood: ${redact(message)}\n`);
    process.exitCode = process.exitCode || (isVoicemoodError(e, 'bad_input') ? 2 : 1);
  }
}

// Run when executed directly (bin/voicemood.js or `node src/cli/main.ts`).
if (import.meta.main) await runCli(process.argv);
