/** `voicemood model pull` / `model list` as a user runs them, against a local mirror. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startFileServer, type FileServer, type ServedFile } from './fileServer.ts';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const FIXTURE = new URL('../../fixtures/emotion2vec-reference/', import.meta.url);
const ID = 'emotion2vec_plus_seed';

async function voicemood(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env, LOG_LEVEL: 'silent' }, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('voicemood model pull / list (CLI)', () => {
  let server: FileServer;
  let root: string;
  before(async () => {
    const files: Record<string, ServedFile> = {};
    for (const f of ['config.yaml', 'tokens.txt', 'model.pt']) files[`/emotion2vec/${ID}/resolve/main/${f}`] = { body: readFileSync(new URL(f, FIXTURE)) };
    server = await startFileServer(files);
    root = mkdtempSync(join(tmpdir(), 'vm-cli-pull-'));
  });
  after(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('pulls the model with plain progress lines on stderr and prints the .onnx path', async () => {
    const env = { VOICEMOOD_MODELS_DIR: root };
    const r = await voicemood(['model', 'pull', ID, '--base-url', server.url], env);
    assert.equal(r.code, 0, r.stderr);
    const onnx = join(root, `${ID}.onnx`);
    assert.equal(r.stdout.trim(), onnx);
    assert.ok(existsSync(onnx));
    assert.match(r.stderr, /Pulling emotion2vec_plus_seed \(revision main\) from Hugging Face/);
    assert.match(r.stderr, /model\.pt: done \(1\.94 MB\)/);
    assert.match(r.stderr, /Converting emotion2vec_plus_seed to ONNX/);
    assert.match(r.stderr, /Ready: /);

    const list = await voicemood(['model', 'list'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /emotion2vec_plus_seed\s+.*ready \(fp32 /);
    assert.match(list.stdout, /\* emotion2vec_plus_base\s+.*not downloaded/);
    const json = JSON.parse((await voicemood(['model', 'list', '--json'], env)).stdout);
    assert.equal(json.models.find((m: { id: string }) => m.id === ID).cached.onnx.length, 1);
  });

  it('fails with a clear message and exit code 1 when the files are not there', async () => {
    const r = await voicemood(['model', 'pull', ID, '--base-url', server.url, '--revision', 'nope'], { VOICEMOOD_MODELS_DIR: join(root, 'x') });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /voicemood: config\.yaml was not found at http:\/\/127\.0\.0\.1:\d+\/emotion2vec\/emotion2vec_plus_seed\/resolve\/nope\/config\.yaml \(HTTP 404\)/,
    );
  });

  it('rejects an unknown mirror as a usage error', async () => {
    const r = await voicemood(['model', 'pull', ID, '--mirror', 'ftp'], { VOICEMOOD_MODELS_DIR: join(root, 'y') });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--mirror/);
  });
});
