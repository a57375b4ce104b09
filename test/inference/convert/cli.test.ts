/** `voicemood model convert`: progress on stderr, summary line, exit codes. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { progressReporter, runModelConvert } from '../../../src/cli/modelConvert.ts';
import { readModelMetadata } from '../../../src/inference/onnx/metadata.ts';
import { FIXTURE } from './helpers.ts';

const run = promisify(execFile);
const MAIN = join(import.meta.dirname, '..', '..', '..', 'src', 'cli', 'main.ts');

function capture(isTTY: boolean): { stream: Writable & { isTTY: boolean }; text: () => string } {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk, _enc, done) {
        chunks.push(String(chunk));
        done();
      },
    }),
    { isTTY },
  );
  return { stream, text: () => chunks.join('') };
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voicemood-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('on a terminal, progress is redrawn in place and a summary line ends the run', async () => {
  const err = capture(true);
  const out = join(dir, 'tty.onnx');
  const r = await runModelConvert(FIXTURE, { out, modelId: 'emotion2vec_plus_test', revision: 'v9' }, { stderr: err.stream });
  const text = err.text();
  const n = r.tensors; // the graph's initializer count (changes with the graph, not with this test)
  assert.ok(text.includes(`\rconverting: 1/${n} tensors`));
  assert.ok(text.includes(`\rconverting: ${n}/${n} tensors`));
  const lastLine = text.split('\r\x1b[K').at(-1)!;
  assert.ok(lastLine.includes(`: ${n} tensors, `));
  assert.match(lastLine, /^converted .*emotion2vec-reference → .*tty\.onnx: \d+ tensors, 1\.0 MB, D=64, 9 labels, fp32, source emotion2vec_plus_test@v9/);
  assert.equal((await stat(out)).size, r.bytes);
  const m = await readModelMetadata(out);
  assert.equal(m.sourceModel, 'emotion2vec_plus_test');
  assert.equal(m.sourceRevision, 'v9');
});

test('off a terminal, a small model prints only the summary', async () => {
  const err = capture(false);
  const r = await runModelConvert(FIXTURE, { out: join(dir, 'pipe.onnx') }, { stderr: err.stream });
  const lines = err.text().trimEnd().split('\n');
  assert.equal(lines.length, 1);
  assert.match(lines[0], new RegExp(`^converted .* ${r.tensors} tensors`));
});

test('off a terminal, a big model prints a progress line at the start and every 10 %', () => {
  const err = capture(false);
  const p = progressReporter({ stderr: err.stream });
  const total = 1200 * 2 ** 20;
  for (let i = 1; i <= 100; i++) p.onProgress({ tensorsWritten: i, tensorsTotal: 100, bytesWritten: (total * i) / 100, bytesTotal: total });
  p.finish();
  const lines = err.text().trimEnd().split('\n');
  assert.equal(lines.length, 11);
  assert.equal(lines.at(-1), 'converting: 100/100 tensors, 1200.0 MB of 1200.0 MB');
});

test('the command is wired into voicemood and fails with a message and exit code', async () => {
  const out = join(dir, 'cli.onnx');
  const ok = await run(process.execPath, [MAIN, 'model', 'convert', FIXTURE, '--out', out, '--model-id', 'fixture']);
  assert.match(ok.stderr, /^converted .*fixture@unknown/m);
  assert.equal((await readModelMetadata(out)).sourceModel, 'fixture');
  await assert.rejects(
    run(process.execPath, [MAIN, 'model', 'convert', join(dir, 'nowhere'), '--out', join(dir, 'x.onnx')]),
    (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stderr, /voicemood: The checkpoint folder .*nowhere has no config\.yaml/);
      return true;
    },
  );
});
