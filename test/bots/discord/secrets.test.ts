/**
 * Issue 7, secrets on Discord: a full session of the REAL bot process (`node src/main.ts`) against
 * the fake Discord, the token read from DISCORD_TOKEN_FILE, LOG_LEVEL=debug, including failures
 * (a REST call Discord refuses, an attachment that is gone, a broken file) — and then every byte
 * the process wrote to stdout and stderr is searched for the token. A refused token on start
 * must not be printed either.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeDiscord, nextSnowflake, type RecordedCall } from '../../fakes/discord/server.ts';
import { makeWorkspace, spawnBot, type Workspace } from '../telegram/harness.ts';
import { FIXTURES } from './voiceHarness.ts';

/** Distinctive: none of its parts can match anything else in the output. */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDAx.GsQx9Z.vmSECRETdiscordSESSIONtokenK7pW3mNq2';
const SECRET_PART = TOKEN.split('.')[2];
const GUILD = '100000000000000001';
const TEXT = '300000000000000001';
const ALICE = '200000000000000001';

let ws: Workspace;
before(async () => {
  ws = await makeWorkspace();
});
after(() => ws?.cleanup());

function assertNoToken(out: string, token: string): void {
  for (const piece of [token, ...token.split('.').filter((p) => p.length >= 10), Buffer.from(token).toString('base64'), encodeURIComponent(token)]) {
    assert.ok(!out.includes(piece), `the output contains the token (or its part ${piece.slice(0, 4)}…)`);
  }
}

test('a full Discord session with failures at LOG_LEVEL=debug never prints the token', async (t) => {
  const fake = await new FakeDiscord({
    token: TOKEN,
    guilds: [
      {
        id: GUILD,
        name: 'Secret Guild',
        ownerId: ALICE,
        channels: [{ id: TEXT, name: 'general', type: 0 }],
        members: [{ id: ALICE, username: 'alice', global_name: 'Alice' }],
      },
    ],
  }).start();
  t.after(() => fake.close());
  const tokenFile = join(ws.dir, 'discord-token');
  await writeFile(tokenFile, `${TOKEN}\n`);
  const bot = await spawnBot(
    {
      DISCORD_TOKEN_FILE: tokenFile,
      DISCORD_API_BASE: fake.apiBase,
      VOICEMOOD_DISCORD_CDN_HOSTS: fake.cdnHosts,
      DISCORD_GUILD_ID: GUILD,
      VOICEMOOD_MODEL: ws.modelPath,
      VOICEMOOD_DATA_DIR: ws.dataDir,
      LOG_LEVEL: 'debug',
    },
    { waitFor: /Discord: started/ },
  );
  t.after(() => bot.stop('SIGKILL'));
  const voice = new Uint8Array(await readFile(new URL('voice-message.ogg', FIXTURES)));
  const post = async (attachment: Record<string, unknown>): Promise<string> => {
    const msg = fake.message(GUILD, TEXT, ALICE, { attachments: [attachment], flags: 1 << 13 });
    fake.dispatch('MESSAGE_CREATE', msg);
    return msg.id as string;
  };
  const replyTo = (id: string) => (c: RecordedCall) =>
    c.method === 'POST' && c.path === `/channels/${TEXT}/messages` && c.body?.message_reference?.message_id === id;

  // A voice message gets its card.
  const ok = await post(fake.addAttachment('voice-message.ogg', voice, 'audio/ogg'));
  assert.ok((await fake.waitForCall(replyTo(ok), 60_000)).body.embeds?.length > 0);
  // /me through the interaction webhook.
  const me = fake.interaction(GUILD, TEXT, ALICE, 2, { id: nextSnowflake(), name: 'me', type: 1, options: [] });
  fake.dispatch('INTERACTION_CREATE', me);
  await fake.waitForCall((c) => c.method === 'PATCH' && c.path.includes(`/${me.token}/messages/@original`));
  // A broken file and an attachment Discord no longer serves: error sentences.
  const broken = await post(fake.addAttachment('broken.ogg', voice.subarray(0, 300), 'audio/ogg'));
  await fake.waitForCall(replyTo(broken));
  const gone = await post({ ...fake.addAttachment('gone.ogg', voice, 'audio/ogg'), url: `${fake.origin}/attachments/0/gone.ogg` });
  assert.match((await fake.waitForCall(replyTo(gone))).body.content, /Discord did not give me that file/);
  // Discord refuses the reply itself (403): the failure is logged with the REST error.
  fake.failures.push({ method: 'POST', path: new RegExp(`^/channels/${TEXT}/messages$`), status: 403, message: 'Missing Permissions', code: 50013 });
  await post(fake.addAttachment('voice-message.ogg', voice, 'audio/ogg'));
  await waitForOutput(bot.output, /Missing Permissions/);

  assert.equal(await bot.stop('SIGTERM'), 0);
  const out = bot.output();
  assert.match(out, /"status":403,"method":"POST"/, 'the refused REST call was logged with its details');
  assert.match(out, /Discord: stopped/);
  assertNoToken(out, TOKEN);
  assert.ok(!out.includes(SECRET_PART));
});

test('a token Discord refuses is not printed either', async (t) => {
  const fake = await new FakeDiscord({ token: TOKEN, guilds: [] }).start();
  t.after(() => fake.close());
  const wrong = 'MTAwMDAwMDAwMDAwMDAwMDA5.GwR0nG.vmWRONGdiscordTOKENshouldNOTleak4x';
  const bot = await spawnBot({
    DISCORD_TOKEN: wrong,
    DISCORD_API_BASE: fake.apiBase,
    VOICEMOOD_DISCORD_CDN_HOSTS: fake.cdnHosts,
    VOICEMOOD_MODEL: ws.modelPath,
    VOICEMOOD_DATA_DIR: ws.dataDir,
    LOG_LEVEL: 'debug',
  });
  assert.equal(await bot.exited, 1);
  const out = bot.output();
  assert.match(out, /Discord refused the token/);
  assert.ok(fake.unauthorized > 0, 'the fake saw the wrong token');
  assertNoToken(out, wrong);
});

async function waitForOutput(output: () => string, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pattern.test(output())) {
    if (Date.now() > end) throw new Error(`the bot never printed ${pattern}; output:\n${output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
