import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Events, GatewayIntentBits, type Message } from 'discord.js';
import { FakeDiscord } from '../../fakes/discord/server.ts';

const TOKEN = 'fake-discord-token-for-tests';

function guild() {
  return {
    id: '100000000000000001',
    name: 'Test Guild',
    ownerId: '200000000000000001',
    channels: [
      { id: '300000000000000001', name: 'general', type: 0 },
      { id: '300000000000000002', name: 'Voice', type: 2 },
    ],
    members: [{ id: '200000000000000001', username: 'alice' }],
  };
}

test('the real discord.js client logs in, sees the guild, receives a message and posts through REST', async () => {
  const fake = await new FakeDiscord({ token: TOKEN, guilds: [guild()] }).start();
  const client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages], rest: { api: fake.apiBase } });
  try {
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    await client.login(TOKEN);
    await ready;
    assert.equal(client.user?.id, fake.botUser.id);
    assert.equal(client.guilds.cache.get('100000000000000001')?.name, 'Test Guild');

    const got = new Promise<Message>((resolve) => client.once(Events.MessageCreate, resolve));
    fake.dispatch('MESSAGE_CREATE', fake.message('100000000000000001', '300000000000000001', '200000000000000001', { content: 'hello' }));
    const msg = await got;
    assert.equal(msg.content, 'hello');
    assert.equal(msg.author.username, 'alice');

    assert.ok(msg.channel.isSendable());
    if (msg.channel.isSendable()) await msg.channel.send({ content: 'hi', files: [{ attachment: Buffer.from('png!'), name: 'a.png' }] });
    const call = await fake.waitForCall((c) => c.method === 'POST' && c.path === '/channels/300000000000000001/messages');
    assert.equal(call.body.content, 'hi');
    assert.equal(call.files.length, 1);
    assert.equal(Buffer.from(call.files[0].bytes).toString(), 'png!');
    assert.ok(fake.calls.some((c) => c.path === '/gateway/bot'));
  } finally {
    await client.destroy();
    await fake.close();
  }
});

test('a wrong token is refused with 401', async () => {
  const fake = await new FakeDiscord({ token: TOKEN, guilds: [guild()] }).start();
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiBase } });
  try {
    await assert.rejects(client.login('wrong-token-123456'));
    assert.ok(fake.unauthorized >= 1);
  } finally {
    await client.destroy();
    await fake.close();
  }
});

test('startDiscordBot: global commands without DISCORD_GUILD_ID; a refused token becomes a sentence for the operator', async () => {
  const { startDiscordBot } = await import('../../../src/bots/discord/index.ts');
  const { createLogger } = await import('../../../src/util/log.ts');
  // Registration and login touch no engine or store: only the logger and clock are needed here.
  const services = { logger: createLogger({ level: 'silent' }), clock: Date.now } as unknown as import('../../../src/usecases/ports.ts').Services;
  const fake = await new FakeDiscord({ token: TOKEN, guilds: [guild()] }).start();
  try {
    const bot = await startDiscordBot(services, { token: TOKEN, env: { DISCORD_API_BASE: fake.apiBase, VOICEMOOD_DISCORD_CDN_HOSTS: fake.cdnHosts } });
    const put = await fake.waitForCall((c) => c.method === 'PUT' && c.path === `/applications/${fake.applicationId}/commands`);
    assert.equal((put.body as unknown[]).length, 7);
    assert.ok(!fake.calls.some((c) => c.path.includes('/guilds/')));
    await bot.stop();
    await assert.rejects(
      startDiscordBot(services, { token: 'not-the-token-123456', env: { DISCORD_API_BASE: fake.apiBase, VOICEMOOD_DISCORD_CDN_HOSTS: fake.cdnHosts } }),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'bad_input');
        assert.match(e.message, /Discord refused the token \(DISCORD_TOKEN\)/);
        assert.doesNotMatch(e.message, /not-the-token/);
        return true;
      },
    );
  } finally {
    await fake.close();
  }
});

test('the fake is as strict as Discord: oversize embeds are refused (400 Invalid Form Body) and the CDN takes no token', async () => {
  const fake = await new FakeDiscord({ token: TOKEN, guilds: [guild()] }).start();
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiBase, retries: 0 } });
  try {
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    await client.login(TOKEN);
    await ready;
    const channel = await client.channels.fetch('300000000000000001');
    assert.ok(channel?.isSendable());
    const big = 'x'.repeat(4000);
    await assert.rejects(channel.send({ embeds: [{ description: big }, { description: big }] }), (e: Error & { code?: number }) => e.code === 50035);
    await assert.rejects(channel.send({ embeds: [{ title: 't'.repeat(257) }] }), (e: Error & { code?: number }) => e.code === 50035);
    await assert.rejects(channel.send({ embeds: [{ fields: [{ name: 'n', value: 'v'.repeat(1025) }] }] }), (e: Error & { code?: number }) => e.code === 50035);
    assert.equal(fake.invalidBodies.length, 3);
    await channel.send({ embeds: [{ title: 't'.repeat(256), description: big }] });

    const a = fake.addAttachment('note.ogg', new Uint8Array([1, 2, 3]), 'audio/ogg');
    const url = String(a.url);
    assert.equal((await fetch(url, { headers: { authorization: `Bot ${TOKEN}` } })).status, 403);
    assert.equal(fake.cdnAuthorized, 1);
    assert.deepEqual([...new Uint8Array(await (await fetch(url)).arrayBuffer())], [1, 2, 3]);
  } finally {
    await client.destroy();
    await fake.close();
  }
});
