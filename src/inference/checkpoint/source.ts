/**
 * Random access to bytes, so that the zip reader never needs the whole archive in memory:
 * a checkpoint is read with positional reads from a file handle, and tests or fuzzers use the
 * same code over a Buffer.
 */
import { open } from 'node:fs/promises';
import { VoicemoodError } from '../../domain/errors.ts';

export interface RandomAccessSource {
  /** Total size in bytes. */
  readonly size: number;
  /** Exactly `length` bytes from `position`; throws VoicemoodError('model_invalid') past the end. */
  read(position: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

function checkRange(size: number, position: number, length: number, what: string): void {
  if (!Number.isSafeInteger(position) || !Number.isSafeInteger(length) || position < 0 || length < 0 || position + length > size) {
    throw new VoicemoodError('model_invalid', `${what} is damaged: it points past its own end.`, {
      details: { position, length, size },
    });
  }
}

export function bufferSource(bytes: Uint8Array, what = 'model.pt'): RandomAccessSource {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    size: buf.length,
    async read(position, length) {
      checkRange(buf.length, position, length, what);
      return buf.subarray(position, position + length);
    },
    async close() {},
  };
}

/** Opens a file for positional reads. The size is taken once at open time. */
export async function fileSource(path: string, what = 'model.pt'): Promise<RandomAccessSource> {
  const handle = await open(path, 'r');
  const { size } = await handle.stat();
  let closed = false;
  return {
    size,
    async read(position, length) {
      if (closed) throw new VoicemoodError('internal', `${what} was closed before everything was read from it.`);
      checkRange(size, position, length, what);
      const out = Buffer.allocUnsafe(length);
      let done = 0;
      // Positional reads may return fewer bytes than asked; loop until filled.
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, position + done);
        if (bytesRead === 0) {
          throw new VoicemoodError('model_invalid', `${what} ended early: the file was cut short or changed while reading.`);
        }
        done += bytesRead;
      }
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}
