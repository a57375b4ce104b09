/**
 * A stand-in for src/inference/sessionWorker.ts that speaks the same protocol without a model,
 * and misbehaves on request, chosen by the batch width:
 *   EXIT_WIDTH   the thread exits (process.exit inside a worker ends only that thread)
 *   THROW_WIDTH  an uncaught exception ends the thread
 *   HANG_WIDTH   never answers (for release's timeout)
 * Any other batch is answered like a model with embedding size FAKE_D that puts each row on
 * 'happy', its embedding filled with the number of this thread's start (1, 2, …, from
 * workerData.options.cacheDir, a folder where each start leaves a file), so that a test can tell
 * a respawned worker from the first.
 * With workerData.modelPath ending in "fail-open", opening fails with a VoicemoodError.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { VoicemoodError } from '../../src/domain/errors.ts';
import { outputBuffers, toWire, type FromWorker, type SessionWorkerData, type ToWorker } from '../../src/inference/workerProtocol.ts';

export const EXIT_WIDTH = 4001;
export const THROW_WIDTH = 4002;
export const HANG_WIDTH = 4003;
export const FAKE_D = 32;

const data = workerData as SessionWorkerData;
const port = parentPort;
if (port) {
  const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  const dir = data.options.cacheDir!;
  const start = readdirSync(dir).length + 1;
  writeFileSync(join(dir, `start-${start}`), '');
  if (data.modelPath.endsWith('fail-open')) {
    post({ type: 'open_failed', error: toWire(new VoicemoodError('model_invalid', `${data.modelPath} is not a model (fake).`)) });
  } else {
    port.on('message', (m: ToWorker) => {
      if (m.type === 'release') {
        post({ type: 'released' });
        port.close();
        return;
      }
      if (m.width === EXIT_WIDTH) process.exit(3);
      if (m.width === THROW_WIDTH) throw new Error('fake worker blew up');
      if (m.width === HANG_WIDTH) {
        setInterval(() => {}, 1000); // keeps the thread alive, answers nothing
        return;
      }
      const scores = new Float32Array(m.rows * 9);
      for (let r = 0; r < m.rows; r++) scores[r * 9 + 3] = 1;
      const out = {
        scores,
        logits: scores.slice(),
        embedding: new Float32Array(m.rows * FAKE_D).fill(start),
        frameLengths: new BigInt64Array(m.rows),
        frameCount: 0,
      };
      post({ type: 'result', id: m.id, out }, outputBuffers(out));
    });
    post({ type: 'opened', optimizedCache: undefined });
  }
}
