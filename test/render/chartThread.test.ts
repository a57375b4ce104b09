/** The chart worker (src/render/chartThread.ts): typed errors, one chart after another, idle worker does not hold the process. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isVoicemoodError } from '../../src/domain/errors.ts';
import { ChartThread } from '../../src/render/chartThread.ts';
import { renderSharesChartSvg, svgToPng, type SharesChart } from '../../src/render/chart.ts';
import { namedScores } from '../../src/domain/emotions.ts';

const chart: SharesChart = { title: 'T', lang: 'en', columns: [namedScores([0.5, 0, 0, 0.3, 0.2, 0, 0, 0, 0])], axis: { start: 0, end: 2, unit: 's' } };

test('charts drawn in order on the worker are the in-place PNGs; a chart that cannot be drawn is a typed error, and the next one is drawn', async () => {
  const thread = new ChartThread();
  try {
    const other: SharesChart = { ...chart, title: 'U', columns: [namedScores([0, 0, 0, 0, 0, 0, 1, 0, 0])] };
    const [a, b] = await Promise.all([thread.render(chart), thread.render(other)]);
    assert.ok(Buffer.from(a).equals(Buffer.from(svgToPng(renderSharesChartSvg(chart)))));
    assert.ok(Buffer.from(b).equals(Buffer.from(svgToPng(renderSharesChartSvg(other)))));
    const broken = { ...chart, columns: null } as unknown as SharesChart;
    await assert.rejects(
      thread.render(broken),
      (e) => isVoicemoodError(e, 'internal') && /chart could not be drawn/.test(e.message) && !/columns|null/.test(e.message),
    );
    assert.ok((await thread.render(chart)).length > 1000);
  } finally {
    await thread.close();
  }
  // After close(), the next chart starts a new worker.
  try {
    assert.ok((await thread.render(chart)).length > 1000);
  } finally {
    await thread.close();
  }
});

test('a process that drew a chart exits on its own (the idle worker does not hold it)', () => {
  const timeline = fileURLToPath(new URL('../../src/render/timeline.ts', import.meta.url));
  const code = `import { buildTimeline, renderTimelinePng } from ${JSON.stringify(timeline)};
const png = await renderTimelinePng(buildTimeline({ count: 100, frameRate: 50, scores: new Float32Array(900).fill(0.1) }), 'en');
console.log(png.length > 1000 ? 'drawn' : 'empty');`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'drawn');
});
