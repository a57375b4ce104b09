/** A decode worker of decodePool.ts: decodes one input at a time on its own thread. */
import { parentPort } from 'node:worker_threads';
import { isVoicemoodError, toVoicemoodError } from '../domain/errors.ts';
import { Deadline } from './deadline.ts';
import { decodeInThread } from './decodeInThread.ts';
import type { FromWorker, SerializedError, ToWorker } from './decodePool.ts';

if (!parentPort) throw new Error('decodeWorker.ts runs only as a worker thread');
const port = parentPort;
const running = new Map<number, AbortController>();

/** Details that survive structured cloning (anything else becomes its JSON). */
function cloneable(details: Record<string, unknown>): Record<string, unknown> {
  try {
    return structuredClone(details);
  } catch {
    return JSON.parse(JSON.stringify(details, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))) as Record<string, unknown>;
  }
}

function serialize(e: unknown): SerializedError {
  const err = toVoicemoodError(e);
  const details = cloneable(err.details);
  if (!isVoicemoodError(e) || err.code === 'internal') details.cause ??= e instanceof Error ? e.message : String(e);
  return { code: err.code, message: err.message, details, ...(err.retryAfterS !== undefined ? { retryAfterS: err.retryAfterS } : {}) };
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'abort') return void running.get(msg.id)?.abort();
  const controller = new AbortController();
  running.set(msg.id, controller);
  const { limits } = msg.options;
  const deadline = new Deadline(limits.timeoutMs, controller.signal, msg.remainingMs);
  decodeInThread(msg.bytes, msg.options, deadline)
    .then(
      (audio) => port.postMessage({ id: msg.id, ok: true, audio } satisfies FromWorker, [audio.samples.buffer as ArrayBuffer]),
      (e: unknown) => port.postMessage({ id: msg.id, ok: false, error: serialize(e) } satisfies FromWorker),
    )
    .finally(() => running.delete(msg.id));
});
