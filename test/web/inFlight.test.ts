/**
 * The API bounds the analyses it holds like the bots do (maxAnalyses = the engine's capacity):
 * uploads still streaming in and decodes waiting for the pool count too, so that a crowd of slow
 * 20 MB uploads (the engine's queue still empty) cannot pile up bodies and decoded audio in memory.
 * Past the bound: 429 busy before the body is read; a finished or abandoned request frees its place.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { RateLimiter } from '../../src/usecases/ports.ts';
import { createLogger } from '../../src/util/log.ts';
import { buildWebApp } from '../../src/web/app.ts';
import { fakeEngine, makeWav, tone } from '../audio/helpers.ts';

test('web API: uploads in progress count against the engine capacity; past it, 429 busy; freed when they end', { timeout: 60_000 }, async () => {
  let taken = 0;
  let bothAdmitted!: () => void;
  const twoTaken = new Promise<void>((r) => (bothAdmitted = r));
  const limiter: RateLimiter = { take: () => (++taken === 2 && bothAdmitted(), { ok: true }) };
  const engine = fakeEngine({ capacity: 2 });
  const { app } = buildWebApp({ engine, limiter, logger: createLogger({ level: 'silent' }), env: {}, page: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/api/v1/analyze`;
  const wav = makeWav([tone(220, 16_000, 1)], 16_000, 's16');
  const slow: Socket[] = [];
  try {
    // Two uploads that announce 10 MB and send only their first bytes.
    for (let i = 0; i < 2; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.write(`POST /api/v1/analyze HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: audio/wav\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`);
      socket.write(Buffer.from(wav.subarray(0, 1000)));
      slow.push(socket);
    }
    await twoTaken; // both headers were read and admitted (bounded by the test timeout)
    assert.equal(taken, 2, 'both slow uploads were admitted');

    const third = await fetch(url, { method: 'POST', body: wav, headers: { 'content-type': 'audio/wav' } });
    const body = (await third.json()) as { code: string };
    assert.equal(third.status, 429, JSON.stringify(body));
    assert.equal(body.code, 'busy');
    assert.ok(Number(third.headers.get('retry-after')) >= 1);
    assert.equal(engine.calls.length, 0);

    // The slow callers go away: their places are free again.
    for (const s of slow) s.destroy();
    let ok: Response | undefined;
    for (let i = 0; i < 200; i++) {
      ok = await fetch(url, { method: 'POST', body: wav, headers: { 'content-type': 'audio/wav' } });
      if (ok.status !== 429) break;
      await ok.body?.cancel();
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(ok?.status, 200, await ok?.text());
    assert.equal(engine.calls.length, 1);
  } finally {
    for (const s of slow) s.destroy();
    await app.close();
  }
});
