/**
 * The inference thread: a worker_threads Worker that owns the ONNX session (session.ts), so that
 * onnxruntime-node's synchronous `session.run` blocks this thread and not the main event loop.
 * Started by workerSession.ts; the messages are in workerProtocol.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSession, type OpenedSession } from './session.ts';
import { outputBuffers, toWire, type FromWorker, type SessionWorkerData, type ToWorker } from './workerProtocol.ts';

async function serve(port: NonNullable<typeof parentPort>, data: SessionWorkerData): Promise<void> {
  const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  let opened: OpenedSession;
  try {
    opened = await openSession(data.modelPath, data.options);
  } catch (e) {
    post({ type: 'open_failed', error: toWire(e) });
    return; // nothing listens: the thread ends
  }
  const { runner } = opened;
  port.on('message', (m: ToWorker) => {
    if (m.type === 'run') {
      runner.run(m.waveform, m.lengths, m.rows, m.width, m.withFrames, m.frameEmbeddings).then(
        (out) => post({ type: 'result', id: m.id, out }, outputBuffers(out)),
        (e: unknown) => post({ type: 'run_failed', id: m.id, error: toWire(e) }),
      );
    } else if (m.type === 'release') {
      void runner.release().finally(() => {
        post({ type: 'released' });
        port.close(); // the thread ends once this is flushed
      });
    }
  });
  post({ type: 'opened', optimizedCache: opened.optimizedCache });
}

if (parentPort) await serve(parentPort, workerData as SessionWorkerData);
