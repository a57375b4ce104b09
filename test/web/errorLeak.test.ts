/**
 * The API's error JSON keeps the bots' promise: an operator-side failure (a model that cannot be
 * loaded, a failed model download …) answers with a generic sentence, never the error's own text,
 * which names server paths; and ffmpeg's stderr of a failed decode goes to the log, not the caller.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { VoicemoodError } from '../../src/domain/errors.ts';
import type { EmotionEngine } from '../../src/inference/types.ts';
import { createLogger } from '../../src/util/log.ts';
import { buildWebApp } from '../../src/web/app.ts';
import { makeWav, modelInfo, tone } from '../audio/helpers.ts';

const SECRET_PATH = '/srv/voicemood/private-models/emotion2vec_plus_base.onnx';

function failingEngine(error: VoicemoodError): EmotionEngine {
  return {
    model: modelInfo(),
    load: () => ({ inFlight: 0, queued: 0, capacity: 4 }),
    close: async () => undefined,
    analyze: () => Promise.reject(error),
  };
}

for (const code of ['model_invalid', 'model_missing', 'download_failed', 'internal'] as const) {
  test(`web API: a ${code} error met while analysing answers without its server path`, async () => {
    const engine = failingEngine(new VoicemoodError(code, `ONNX Runtime cannot load ${SECRET_PATH}: it is damaged.`));
    const { app } = buildWebApp({ engine, logger: createLogger({ level: 'silent' }), env: {}, page: false });
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/analyze',
        payload: Buffer.from(makeWav([tone(220, 16_000, 1)], 16_000, 's16')),
        headers: { 'content-type': 'audio/wav' },
      });
      const body = res.json<{ error: string; code: string }>();
      assert.ok(res.statusCode >= 500, `status ${res.statusCode}`);
      assert.equal(body.code, code);
      assert.ok(!body.error.includes('/srv/'), `the error JSON names a server path: ${body.error}`);
      assert.ok(body.error.length > 10, 'a sentence for people');
    } finally {
      await app.close();
    }
  });
}

test('web API: ffmpeg stderr of a failed decode is logged, never answered', async () => {
  const lines: string[] = [];
  const destination = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString('utf8')), done()) });
  const logger = createLogger({ level: 'info', destination });
  const { app } = buildWebApp({ engine: failingEngine(new VoicemoodError('internal', 'unused')), logger, env: {}, page: false });
  try {
    // An ID3 tag, then garbage: detected as MP3, handed to ffmpeg, which fails.
    const bytes = Buffer.concat([Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 0]), Buffer.from(`${'\u0001'.repeat(64)}not audio at all`)]);
    const res = await app.inject({ method: 'POST', url: '/api/v1/analyze', payload: bytes, headers: { 'content-type': 'audio/mpeg' } });
    const body = res.json<{ error: string; code: string }>();
    assert.equal(res.statusCode, 415);
    assert.equal(body.code, 'undecodable');
    assert.ok(!/\/tmp|voicemood-|<tmp>/.test(body.error), body.error);
    const logged = lines.map((l) => JSON.parse(l) as { ffmpegStderr?: unknown }).filter((l) => typeof l.ffmpegStderr === 'string');
    assert.equal(logged.length, 1, `ffmpeg's stderr is not in the log: ${lines.join('')}`);
  } finally {
    await app.close();
  }
});
