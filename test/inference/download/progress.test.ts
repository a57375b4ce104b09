import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createProgressReporter, formatBytes } from '../../../src/cli/progress.ts';

function sink(isTTY = false): Writable & { text: () => string; isTTY: boolean } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  }) as Writable & { text: () => string; isTTY: boolean };
  w.text = () => chunks.join('');
  w.isTTY = isTTY;
  return w;
}

describe('pull progress', () => {
  it('formats sizes in SI units', () => {
    assert.equal(formatBytes(119), '119 B');
    assert.equal(formatBytes(2577), '2.58 KB');
    assert.equal(formatBytes(1_942_322), '1.94 MB');
    assert.equal(formatBytes(1_120_000_000), '1.12 GB');
  });

  it('prints plain lines when not on a terminal: start, each quarter or interval, done', () => {
    const out = sink();
    let now = 0;
    const r = createProgressReporter({ stream: out, intervalMs: 5000, now: () => now });
    const total = 1000;
    r.handle({ type: 'stage', text: 'Pulling x' });
    r.handle({ type: 'file', kind: 'download', file: 'model.pt', received: 0, total });
    for (let received = 10; received <= 240; received += 10) r.handle({ type: 'file', kind: 'download', file: 'model.pt', received, total });
    now = 6000; // the interval passed: one line even without a new quarter
    r.handle({ type: 'file', kind: 'download', file: 'model.pt', received: 245, total });
    r.handle({ type: 'file', kind: 'download', file: 'model.pt', received: 250, total });
    r.handle({ type: 'file', kind: 'download', file: 'model.pt', received: 1000, total });
    r.handle({ type: 'file-done', file: 'model.pt', bytes: 1000, resumedFrom: 0, cached: false });
    r.handle({ type: 'file', kind: 'download', file: 'other.bin', received: 500, total });
    r.handle({ type: 'file', kind: 'convert', file: 'm.onnx', received: 8, total: 982_000 });
    r.handle({ type: 'file-done', file: 'tokens.txt', bytes: 119, resumedFrom: 119, cached: true });
    r.stop();
    assert.deepEqual(out.text().split('\n'), [
      'Pulling x',
      'model.pt: starting of 1000 B',
      'model.pt: 245 B of 1000 B (24%)',
      'model.pt: 250 B of 1000 B (25%)',
      'model.pt: 1000 B of 1000 B (100%)',
      'model.pt: done (1000 B)',
      'other.bin: resuming at 500 B of 1000 B',
      'm.onnx: writing 982 KB',
      'tokens.txt: already downloaded (119 B)',
      '',
    ]);
  });

  it('draws a bar on a terminal and still prints the per-file result', () => {
    const out = sink(true);
    const r = createProgressReporter({ stream: out });
    r.handle({ type: 'file', kind: 'download', file: 'model.pt', received: 0, total: 2_000_000 });
    r.handle({ type: 'file', kind: 'download', file: 'model.pt', received: 1_000_000, total: 2_000_000 });
    r.handle({ type: 'file-done', file: 'model.pt', bytes: 2_000_000, resumedFrom: 0, cached: false });
    r.stop();
    const text = out.text();
    assert.match(text, /model\.pt \[[^\]]*\] \d+% \| [\d.]+ [KM]?B of 2\.00 MB/);
    assert.match(text, /model\.pt: done \(2\.00 MB\)\n/);
  });
});
