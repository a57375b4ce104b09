/**
 * Downloads as real Bot API servers serve them: a connection cut mid-body is a typed failure that
 * names neither the URL nor the token, and a local server in --local mode answers getFile with an
 * absolute path on its disk, which is read from there (its size limit still applies).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Api } from 'grammy';
import { isVoicemoodError } from '../../../src/domain/errors.ts';
import { downloadTelegramFile } from '../../../src/bots/telegram/download.ts';
import { telegramOptionsFromEnv } from '../../../src/bots/telegram/config.ts';
import { FakeTelegram } from '../../fakes/telegram/server.ts';

const token = '778:download-cut-token';

function details(e: unknown): string {
  const err = e as Error & { cause?: unknown };
  return `${err.message} ${String(err.cause)} ${JSON.stringify(err)}`;
}

test('a download cut mid-body is download_failed, and neither the error nor its cause holds the token or URL', async (t) => {
  const tg = await new FakeTelegram({ token }).start();
  t.after(() => tg.close());
  const target = { api: new Api(token, { apiRoot: tg.apiRoot }), token, apiRoot: tg.apiRoot };
  tg.addFile('cut', { bytes: new Uint8Array(5000).fill(1), cut: true });
  await assert.rejects(downloadTelegramFile(target, 'cut', 5000), (e: unknown) => {
    assert.ok(isVoicemoodError(e, 'download_failed'), details(e));
    assert.ok(!details(e).includes(token) && !details(e).includes('/file/bot'), details(e));
    return true;
  });
});

test('--local server: an absolute file_path is read from disk; a missing one fails without naming the path', async (t) => {
  const tg = await new FakeTelegram({ token }).start();
  const dir = await mkdtemp(join(tmpdir(), 'tg-local-'));
  t.after(async () => {
    await tg.close();
    await rm(dir, { recursive: true, force: true });
  });
  const target = { api: new Api(token, { apiRoot: tg.apiRoot }), token, apiRoot: tg.apiRoot };
  // The local server keeps files under <dir>/<token>/voice/.
  const path = join(dir, token, 'file_0.oga');
  await mkdir(join(dir, token));
  await writeFile(path, new Uint8Array([4, 5, 6]));
  tg.addFile('local', { bytes: new Uint8Array(0), size: 3, localPath: path });
  assert.deepEqual(new Uint8Array(await downloadTelegramFile(target, 'local', 3)), new Uint8Array([4, 5, 6]));
  assert.deepEqual(tg.downloads, [], 'nothing fetched over HTTP');

  tg.addFile('gone', { bytes: new Uint8Array(0), size: 3, localPath: join(dir, token, 'missing.oga') });
  await assert.rejects(downloadTelegramFile(target, 'gone', 3), (e: unknown) => {
    assert.ok(isVoicemoodError(e, 'download_failed'), details(e));
    assert.ok(!details(e).includes(token), details(e));
    return true;
  });

  // The limit applies to a local file too (a --local server has none of its own).
  const big = join(dir, token, 'big.oga');
  await writeFile(big, new Uint8Array(2048));
  tg.addFile('big', { bytes: new Uint8Array(0), localPath: big });
  await assert.rejects(downloadTelegramFile(target, 'big', undefined, { limitBytes: 1024 }), (e: unknown) => isVoicemoodError(e, 'too_large'));
});

test('an absolute file_path is read from disk only for a loopback API root or with TELEGRAM_LOCAL_FILES=1', async (t) => {
  const tg = await new FakeTelegram({ token }).start();
  const dir = await mkdtemp(join(tmpdir(), 'tg-local-'));
  t.after(async () => {
    await tg.close();
    await rm(dir, { recursive: true, force: true });
  });
  // A file on this machine that a remote (or hostile) Bot API server names in getFile.
  const secretPath = join(dir, 'not-for-the-bot.oga');
  await writeFile(secretPath, new Uint8Array([7, 7, 7]));
  tg.addFile('remote', { bytes: new Uint8Array(0), size: 3, localPath: secretPath });
  // The requests go to the fake, but the configured root is a remote host.
  const api = new Api(token, { apiRoot: tg.apiRoot });
  const remote = { api, token, apiRoot: 'https://bot-api.example.com' };
  await assert.rejects(downloadTelegramFile(remote, 'remote', 3), (e: unknown) => {
    assert.ok(isVoicemoodError(e, 'download_failed'), details(e));
    assert.equal(e.details.localPathRefused, true);
    assert.ok(!e.message.includes(dir), 'no server path in the sentence');
    assert.match(String((e.cause as Error).message), /TELEGRAM_LOCAL_FILES=1/, 'the log line says how to allow it');
    return true;
  });
  assert.deepEqual(tg.downloads, [], 'nothing fetched over HTTP either');
  // Explicitly allowed: read.
  assert.deepEqual(new Uint8Array(await downloadTelegramFile({ ...remote, localFiles: true }, 'remote', 3)), new Uint8Array([7, 7, 7]));
  // Loopback roots (a local Bot API server) are allowed without the setting.
  for (const apiRoot of ['http://127.0.0.1:8081', 'http://localhost:8081', 'http://[::1]:8081']) {
    assert.deepEqual(new Uint8Array(await downloadTelegramFile({ api, token, apiRoot }, 'remote', 3)), new Uint8Array([7, 7, 7]), apiRoot);
  }
});

test('TELEGRAM_LOCAL_FILES is read from the environment: 1, 0 or a sentence', () => {
  const base = { TELEGRAM_BOT_TOKEN: '123:abc', TELEGRAM_API_ROOT: 'https://bot-api.example.com' };
  assert.equal(telegramOptionsFromEnv(base)?.localFiles, undefined);
  assert.equal(telegramOptionsFromEnv({ ...base, TELEGRAM_LOCAL_FILES: '1' })?.localFiles, true);
  assert.equal(telegramOptionsFromEnv({ ...base, TELEGRAM_LOCAL_FILES: '0' })?.localFiles, undefined);
  assert.throws(
    () => telegramOptionsFromEnv({ ...base, TELEGRAM_LOCAL_FILES: 'yes' }),
    (e) => isVoicemoodError(e, 'bad_input') && /must be 1/.test(e.message),
  );
});
