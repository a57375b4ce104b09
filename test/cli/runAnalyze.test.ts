/** runAnalyze in-process with a fake engine: the terminal card, busy retries, concurrency bound. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runAnalyze, type AnalyzeCliOptions } from '../../src/cli/analyze.ts';
import { VoicemoodError } from '../../src/domain/errors.ts';
import { fakeEngine, fixturePath } from '../audio/helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'vm-run-'));
after(() => rmSync(root, { recursive: true, force: true }));

function sink(isTTY: boolean): Writable & { isTTY: boolean; text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  }) as Writable & { isTTY: boolean; text: () => string };
  w.isTTY = isTTY;
  w.text = () => chunks.join('');
  return w;
}

const options = (out: string, more: Partial<AnalyzeCliOptions> = {}): AnalyzeCliOptions => ({
  granularity: 'utterance',
  embedding: false,
  out: join(root, out),
  json: false,
  lang: 'en',
  ...more,
});

test('on a terminal, each input prints the card (and the timeline with frames)', async () => {
  const stdout = sink(true);
  const stderr = sink(false);
  const code = await runAnalyze(fakeEngine(), [fixturePath('voice_telegram.ogg')], options('card', { granularity: 'frame' }), { stdout, stderr });
  assert.equal(code, 0);
  const text = stdout.text();
  assert.match(text, /voice_telegram\.ogg → .*voice_telegram_\d{8}_\d{6}/);
  assert.match(text, /(😊 Happy|😢 Sad) · \d+(\.\d)?% /);
  assert.equal(text.split('\n').filter((l) => /\d+\.\d%$/.test(l)).length, 9);
  assert.match(text, /\n\s+0s [^\n]+/, 'timeline strip');
  assert.match(stderr.text(), /1 analysed, 0 failed/);
});

test("'busy' from the engine is waited out, not reported as a failure", async () => {
  let refusals = 3;
  const engine = fakeEngine({
    onAnalyze: () => {
      if (refusals-- > 0) throw new VoicemoodError('busy', 'busy', { retryAfterS: 0 });
    },
  });
  const stdout = sink(false);
  const code = await runAnalyze(engine, [fixturePath('voice_telegram.ogg')], options('busy'), { stdout, stderr: sink(false) });
  assert.equal(code, 0);
  assert.equal(engine.calls.length, 4);
  assert.match(stdout.text(), /voice_telegram\.ogg\t\w+\t/);
});

test('inputs run concurrently, never more at once than the engine can take', async () => {
  let inFlight = 0;
  let peak = 0;
  let arrived: (() => void) | undefined;
  let held = false;
  const base = fakeEngine({ capacity: 2 });
  const engine = {
    ...base,
    async analyze(samples: Float32Array, o?: { frames?: boolean }) {
      inFlight++;
      peak = Math.max(peak, inFlight);
      // The first call waits for a second one to be in flight (or 2 s): concurrency shows for sure.
      if (inFlight === 2) arrived?.();
      if (!held) {
        held = true;
        await new Promise<void>((r) => ((arrived = r), setTimeout(r, 2000)));
      }
      try {
        return await base.analyze(samples, o);
      } finally {
        inFlight--;
      }
    },
  };
  const files = ['voice_telegram.ogg', 'speech_16k_pcm16.wav', 'speech_16k_pcm24.wav', 'speech_16k_float32.wav', 'speech_8k_pcm16.wav'].map(fixturePath);
  const code = await runAnalyze(engine, files, options('conc'), { stdout: sink(false), stderr: sink(false) });
  assert.equal(code, 0);
  assert.equal(peak, 2);
  assert.equal(readdirSync(join(root, 'conc')).length, 5);
});
