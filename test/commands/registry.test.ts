/**
 * The command registry (src/commands/registry.ts) is the one source of the commands: every entry
 * meant for Discord is in the slash commands the bot registers, every entry meant for Telegram is in
 * both menus (English and Chinese) the bot installs, with the registry's descriptions in the right
 * language; and one more entry is all it takes to appear in all three.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS, commandEntry, type CommandEntry } from '../../src/commands/registry.ts';
import { SETTING_NAMES } from '../../src/commands/settings.ts';
import { commandDefinitions } from '../../src/bots/discord/slashCommands.ts';
import { commandsByName, DISCORD_COMMANDS } from '../../src/bots/discord/commands/index.ts';
import type { DiscordCommand } from '../../src/bots/discord/commands/types.ts';
import { startDiscordBot } from '../../src/bots/discord/index.ts';
import { commandMenus, menuRegistrations } from '../../src/bots/telegram/commandMenu.ts';
import { startTelegramBot } from '../../src/bots/telegram/index.ts';
import type { Services } from '../../src/usecases/ports.ts';
import { createLogger } from '../../src/util/log.ts';
import { FakeDiscord } from '../fakes/discord/server.ts';
import { FakeTelegram } from '../fakes/telegram/server.ts';
import { messageUpdate, privateChat, textMessage, user } from '../fakes/telegram/updates.ts';
import { createTelegramBot } from '../../src/bots/telegram/bot.ts';
import { harness } from './helpers.ts';

/** Registration touches no store: the bots are built, log in, register, and stop. */
const services = {
  logger: createLogger({ level: 'silent' }),
  clock: Date.now,
  engine: { load: () => ({ capacity: 4, queued: 0, running: 0 }) },
  history: { forgetEpoch: () => 0 },
} as unknown as Services;

interface SlashOptionJson {
  name: string;
  type: number;
  description: string;
  description_localizations?: Record<string, string>;
  required?: boolean;
  choices?: { name: string; value: string }[];
  min_value?: number;
  max_value?: number;
}

interface SlashJson {
  name: string;
  description: string;
  description_localizations?: Record<string, string>;
  contexts?: number[] | null;
  default_member_permissions?: string | null;
  options?: SlashOptionJson[];
}

interface MenuJson {
  command: string;
  description: string;
}

const OPTION_TYPE = { subcommand: 1, string: 3, integer: 4, boolean: 5, channel: 7, attachment: 11 } as const;
const MANAGE_GUILD = String(1n << 5n);
const HAN = /\p{Script=Han}/u;

/** The Discord command of one entry is the registry's, in every field the registry gives. */
function assertSlash(entry: CommandEntry, c: SlashJson | undefined): void {
  assert.ok(c, `/${entry.name} is registered on Discord`);
  assert.equal(c.description, entry.description.en, entry.name);
  assert.deepEqual(c.description_localizations, { 'zh-CN': entry.description.zh, 'zh-TW': entry.description.zh }, entry.name);
  assert.ok(HAN.test(c.description_localizations?.['zh-CN'] ?? ''), `/${entry.name}: the Chinese description is Chinese`);
  if (entry.discord?.guildOnly) assert.deepEqual(c.contexts, [0], `/${entry.name} is server-only`);
  else assert.ok(c.contexts === undefined || c.contexts === null, `/${entry.name} keeps Discord's default contexts`);
  if (entry.discord?.defaultMemberPermissions === 'manageGuild') assert.equal(c.default_member_permissions, MANAGE_GUILD, entry.name);
  else assert.ok(c.default_member_permissions === undefined || c.default_member_permissions === null, `/${entry.name} is for everyone`);
  const options = entry.options ?? [];
  assert.deepEqual(
    (c.options ?? []).map((o) => o.name),
    options.map((o) => o.name),
    `/${entry.name} options`,
  );
  for (const [k, o] of options.entries()) {
    const got: SlashOptionJson = c.options![k];
    assert.equal(got.type, OPTION_TYPE[o.type], `${entry.name} ${o.name}`);
    assert.equal(got.description, o.description.en, `${entry.name} ${o.name}`);
    assert.deepEqual(
      got.description_localizations,
      o.description.zh ? { 'zh-CN': o.description.zh, 'zh-TW': o.description.zh } : undefined,
      `${entry.name} ${o.name}`,
    );
    if (o.type !== 'subcommand') assert.equal(got.required, o.required ?? false, `${entry.name} ${o.name}`);
    if (o.type === 'string')
      assert.deepEqual(
        got.choices?.map((x) => x.value),
        o.choices?.map(String),
        `${entry.name} ${o.name}`,
      );
    if (o.type === 'integer') assert.deepEqual([got.min_value, got.max_value], [o.min, o.max], `${entry.name} ${o.name}`);
  }
}

/** Each menu (en, zh) lists exactly the registry's Telegram entries, in order, with that language's descriptions. */
function assertMenus(registry: readonly CommandEntry[], en: MenuJson[], zh: MenuJson[]): void {
  const wanted = registry.filter((c) => c.telegram);
  assert.deepEqual(
    en.map((c) => c.command),
    wanted.map((c) => c.name),
  );
  assert.deepEqual(
    zh.map((c) => c.command),
    wanted.map((c) => c.name),
  );
  for (const [k, c] of wanted.entries()) {
    const text = c.telegram?.description ?? c.description;
    assert.equal(en[k].description, text.en, c.name);
    assert.equal(zh[k].description, text.zh, c.name);
    assert.ok(!HAN.test(en[k].description), `/${c.name}: the English menu is not in Chinese`);
    assert.ok(HAN.test(zh[k].description), `/${c.name}: the Chinese menu is in Chinese`);
  }
}

test('the registry: unique names, each offered somewhere, valid for both platforms', () => {
  const names = COMMANDS.map((c) => c.name);
  assert.equal(new Set(names).size, names.length);
  for (const c of COMMANDS) {
    assert.match(c.name, /^[a-z0-9_]{1,32}$/);
    assert.ok(c.discord || c.telegram, `/${c.name} is offered on some platform`);
    for (const text of [c.description, c.telegram?.description].filter((x) => x !== undefined)) {
      assert.ok(text.en.length >= 1 && text.en.length <= 100 && text.zh.length >= 1 && text.zh.length <= 100, c.name);
    }
  }
  // /settings offers exactly the names /settings understands (from settings.ts, not a copy).
  const name = commandEntry('settings').options?.find((o) => o.name === 'name');
  assert.ok(name?.type === 'string');
  assert.equal(name.choices, SETTING_NAMES);
  assert.throws(() => commandEntry('nope'), /no command "nope"/);
});

test('every Discord entry of the registry is in the slash commands the bot registers, and nothing else', async () => {
  const token = 'registry-test-discord-token';
  const guildId = '100000000000000001';
  const fake = await new FakeDiscord({
    token,
    guilds: [
      {
        id: guildId,
        name: 'G',
        ownerId: '200000000000000001',
        channels: [{ id: '300000000000000001', name: 'general', type: 0 }],
        members: [{ id: '200000000000000001', username: 'alice' }],
      },
    ],
  }).start();
  try {
    const started = await startDiscordBot(services, { token, env: { DISCORD_API_BASE: fake.apiBase, DISCORD_GUILD_ID: guildId } });
    await started.stop();
    const put = await fake.waitForCall((c) => c.method === 'PUT' && c.path === `/applications/${fake.applicationId}/guilds/${guildId}/commands`);
    const registered = put.body as SlashJson[];
    const wanted = COMMANDS.filter((c) => c.discord);
    assert.deepEqual(registered.map((c) => c.name).sort(), wanted.map((c) => c.name).sort());
    for (const entry of wanted)
      assertSlash(
        entry,
        registered.find((c) => c.name === entry.name),
      );
    // Each one has its handler file, exporting the registry's definition.
    const handlers = commandsByName();
    for (const entry of wanted)
      assert.deepEqual(
        handlers.get(entry.name)?.definition,
        commandDefinitions().find((d) => d.name === entry.name),
        entry.name,
      );
  } finally {
    await fake.close();
  }
});

test('every Telegram entry of the registry is in the menus the bot installs, in English (default) and Chinese (zh)', async () => {
  const token = '123456:registry-test-telegram-token';
  const tg = await new FakeTelegram({ token }).start();
  try {
    const bot = await startTelegramBot(services, { token, apiRoot: tg.apiRoot });
    await bot.stop();
    const menus = tg.callsOf('setMyCommands');
    assert.equal(menus.length, 2);
    assert.equal(menus[0].params.language_code, undefined);
    assert.equal(menus[1].params.language_code, 'zh');
    assert.equal(menus[0].params.scope, undefined, 'one menu for private chats and groups (the default scope)');
    assertMenus(COMMANDS, menus[0].params.commands as MenuJson[], menus[1].params.commands as MenuJson[]);
  } finally {
    await tg.close();
  }
});

test('one more registry entry is all it takes: it is in the Discord commands and in both Telegram menus', () => {
  const ping: CommandEntry = {
    name: 'ping',
    description: { en: 'Check that the bot answers', zh: '检查机器人是否在线' },
    options: [{ name: 'loud', type: 'boolean', description: { en: 'Answer loudly', zh: '大声回答' } }],
    discord: { guildOnly: true, defaultMemberPermissions: 'manageGuild' },
    telegram: { description: { en: 'Check that the bot answers (/ping)', zh: '检查机器人是否在线（/ping）' } },
  };
  const registry = [...COMMANDS, ping];

  const definitions = commandDefinitions(registry);
  const slash = definitions as SlashJson[];
  assert.equal(slash.length, COMMANDS.filter((c) => c.discord).length + 1);
  assertSlash(
    ping,
    slash.find((c) => c.name === 'ping'),
  );

  const installs = menuRegistrations(registry);
  assert.deepEqual(
    installs.map((r) => r.language_code),
    [undefined, 'zh'],
  );
  assertMenus(registry, installs[0].commands, installs[1].commands);
  assert.deepEqual(commandMenus(registry).zh.at(-1), { command: 'ping', description: '检查机器人是否在线（/ping）' });

  // On Discord the entry also needs its handler (one file under src/bots/discord/commands/): the bot
  // refuses to start with a registered command it cannot answer.
  assert.throws(() => commandsByName(registry), /without a handler \["ping"\]/);
  const handler: DiscordCommand = { definition: definitions.find((c) => c.name === 'ping')!, run: async () => undefined };
  assert.equal(commandsByName(registry, [...DISCORD_COMMANDS, handler]).get('ping'), handler);

  // A Telegram-only entry stays off Discord, and a Discord-only one off the menus.
  const { discord: _d, ...telegramOnly } = ping;
  const { telegram: _t, ...discordOnly } = { ...ping, name: 'pong' };
  assert.ok(!commandDefinitions([...COMMANDS, telegramOnly]).some((c) => c.name === 'ping'));
  assert.ok(commandMenus([...COMMANDS, telegramOnly]).en.some((c) => c.command === 'ping'));
  assert.ok(!commandMenus([...COMMANDS, discordOnly]).zh.some((c) => c.command === 'pong'));
  assert.ok(commandDefinitions([...COMMANDS, discordOnly]).some((c) => c.name === 'pong'));
});

test('one more registry entry with a handler is answered on Telegram with no Telegram code (the text after it as its argument)', async () => {
  const ping: CommandEntry = {
    name: 'ping',
    description: { en: 'Check that the bot answers', zh: '检查机器人是否在线' },
    handler: async (_ctx: unknown, _s: unknown, arg: string | undefined) => [{ kind: 'text', text: `pong ${arg ?? '-'}` }],
    telegram: { args: 'text' },
  };
  const h = await harness();
  const token = '123456:registry-test-telegram-token';
  const tg = await new FakeTelegram({ token }).start();
  const bot = createTelegramBot(h.services, { token, apiRoot: tg.apiRoot, registry: [...COMMANDS, ping] });
  try {
    void bot.bot.start();
    const ann = user(41, 'Ann');
    const msg = textMessage(tg, privateChat(ann), ann, '/ping hello');
    tg.pushUpdate(messageUpdate(msg));
    const answer = await tg.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === ann.id, 30_000, 'the answer to /ping');
    assert.equal(answer.params.text, 'pong hello');
  } finally {
    await bot.bot.stop();
    await tg.close();
    await h.close();
  }
});
