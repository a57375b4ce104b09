/** The chart worker of chartThread.ts: builds a chart's SVG and rasterises it on its own thread. */
import { parentPort } from 'node:worker_threads';
import { renderSharesChartSvg, svgToPng } from './chart.ts';
import type { ChartFromWorker, ChartToWorker } from './chartThread.ts';

if (!parentPort) throw new Error('chartWorker.ts runs only as a worker thread');
const port = parentPort;

port.on('message', (msg: ChartToWorker) => {
  let answer: ChartFromWorker;
  try {
    const png = svgToPng(renderSharesChartSvg(msg.chart));
    answer = { id: msg.id, ok: true, png };
  } catch (e) {
    answer = { id: msg.id, ok: false, message: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(answer, answer.ok ? [answer.png.buffer as ArrayBuffer] : []);
});
