/**
 * KEYV_URL may hold a password: logs, errors and the backend description show its scheme, host
 * and port, never the password — also when a library's error echoes the URL. The process tests
 * start the real `node src/main.ts` and search every byte it printed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { describeHistoryBackend } from '../../src/history/open.ts';
import { redact, registerSecret } from '../../src/util/log.ts';
import { freePort } from '../helpers/net.ts';
import { makeWorkspace, spawnBot, type Workspace } from '../bots/telegram/harness.ts';

const PASSWORD = 's3cret';

test('redact: the password of any URL, registered or echoed by a library', () => {
  assert.equal(redact('connect ECONNREFUSED redis://user:hunter@10.0.0.5:6379/0'), 'connect ECONNREFUSED redis://user:[redacted]@10.0.0.5:6379/0');
  assert.equal(redact('"postgres://:pw@db:5432/x"'), '"postgres://:[redacted]@db:5432/x"');
  assert.equal(redact('see https://example.com:8443/a@b and postgres://vm@db/x'), 'see https://example.com:8443/a@b and postgres://vm@db/x');
  // A registered KEYV_URL: its password (raw and decoded) and secret query parameters, not its host.
  registerSecret('postgres://vm:p%40ss-w0rd@db.internal:5432/voicemood?sslpassword=clientkeypass');
  const out = redact('failed: password "p@ss-w0rd" rejected; sslpassword=clientkeypass; host db.internal:5432');
  assert.ok(!out.includes('p@ss-w0rd') && !out.includes('clientkeypass'), out);
  assert.match(out, /db\.internal:5432/);
});

test('describeHistoryBackend keeps host and port, hides the password', () => {
  assert.equal(describeHistoryBackend({ KEYV_URL: `redis://user:${PASSWORD}@127.0.0.1:6390` }), 'redis://user:[redacted]@127.0.0.1:6390');
  assert.equal(describeHistoryBackend({ KEYV_URL: 'redis://127.0.0.1:6390' }), 'redis://127.0.0.1:6390');
});

let ws: Workspace;
before(async () => {
  ws = await makeWorkspace();
});
after(() => ws?.cleanup());

function assertNoPassword(out: string): void {
  assert.ok(!out.includes(PASSWORD), `the output shows the password:\n${out}`);
}

test('a start with an unreachable KEYV_URL fails naming host and port, never the password', async () => {
  const port = await freePort();
  const bot = await spawnBot({
    TELEGRAM_BOT_TOKEN: '123:unreachable-keyv',
    KEYV_URL: `redis://user:${PASSWORD}@127.0.0.1:${port}`,
    VOICEMOOD_MODEL: ws.modelPath,
    VOICEMOOD_DATA_DIR: ws.dataDir,
    LOG_LEVEL: 'debug',
  });
  const code = await bot.exited;
  const out = bot.output();
  assert.equal(code, 1, out);
  assert.match(out, new RegExp(`cannot start: The history backend \\(redis://user:\\[redacted\\]@127\\.0\\.0\\.1:${port}\\) cannot be reached`));
  assertNoPassword(out);
});

const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
let redis: ChildProcess | undefined;
after(() => redis?.kill('SIGKILL'));

test(
  'a start against a real Redis with a password logs host and port, never the password',
  { skip: hasRedis ? false : 'redis-server is not installed' },
  async () => {
    const port = await freePort();
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', PASSWORD], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 400; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const c = connect(port, '127.0.0.1', () => (c.end(), resolve(true)));
        c.on('error', () => resolve(false));
      });
      if (up) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    // Services start (the history is reachable); the Telegram bot's API is not there, and we stop once services are ready.
    const tgPort = await freePort();
    const bot = await spawnBot(
      {
        TELEGRAM_BOT_TOKEN: '123:keyv-password',
        TELEGRAM_API_ROOT: `http://127.0.0.1:${tgPort}`,
        KEYV_URL: `redis://default:${PASSWORD}@127.0.0.1:${port}`,
        VOICEMOOD_MODEL: ws.modelPath,
        VOICEMOOD_DATA_DIR: ws.dataDir,
        LOG_LEVEL: 'debug',
      },
      { waitFor: /services ready/, timeoutMs: 120_000 },
    );
    await bot.stop('SIGKILL');
    const out = bot.output();
    assert.match(out, new RegExp(`"history":"redis://default:\\[redacted\\]@127\\.0\\.0\\.1:${port}"`), out);
    assertNoPassword(out);
  },
);
