/**
 * Entry point of the Discord bot (called by src/main.ts when DISCORD_TOKEN is set): logs in,
 * registers the slash commands (per guild when DISCORD_GUILD_ID is set, for development; global
 * otherwise) and runs until stop().
 */
import { Events } from 'discord.js';
import type { Env } from '../../util/config.ts';
import type { Services } from '../../usecases/ports.ts';
import { VoicemoodError } from '../../domain/errors.ts';
import { cdnHostsFromEnv } from './attachments.ts';
import { DiscordBot, type DiscordBotOptions } from './bot.ts';
import { commandDefinitions } from './slashCommands.ts';

export interface StartDiscordOptions extends Partial<DiscordBotOptions> {
  token: string;
  /** Where DISCORD_GUILD_ID / DISCORD_API_BASE / DISCORD_VOICE_MESSAGES / VOICEMOOD_DISCORD_CDN_HOSTS are read (default process.env). */
  env?: Env;
  /** Register commands in this guild only (DISCORD_GUILD_ID). */
  guildId?: string;
  /** Login deadline in ms (default 60 000). */
  readyTimeoutMs?: number;
  /** Register the slash commands (default true; in cluster mode only cluster 0 does). */
  registerCommands?: boolean;
}

export interface StartedDiscordBot {
  bot: DiscordBot;
  /** The bot's user name, for the startup line. */
  username: string;
  stop(): Promise<void>;
}

export async function startDiscordBot(services: Services, options: StartDiscordOptions): Promise<StartedDiscordBot> {
  const env = options.env ?? process.env;
  const apiBase = options.apiBase ?? (env.DISCORD_API_BASE?.trim() || undefined);
  const guildId = options.guildId ?? (env.DISCORD_GUILD_ID?.trim() || undefined);
  const voiceMessages = options.voiceMessages ?? !['0', 'false', 'off', 'no'].includes((env.DISCORD_VOICE_MESSAGES ?? '').trim().toLowerCase());
  const cdnHosts = options.cdnHosts ?? cdnHostsFromEnv(env);
  const bot = new DiscordBot(services, { ...options, voiceMessages, cdnHosts, ...(apiBase ? { apiBase } : {}) });
  const client = bot.client;
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  try {
    await client.login(options.token);
    const timeoutMs = options.readyTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      ready,
      new Promise(
        (_, reject) => (timer = setTimeout(() => reject(new VoicemoodError('timeout', `Discord did not get ready within ${timeoutMs / 1000} s.`)), timeoutMs)),
      ),
    ]).finally(() => clearTimeout(timer));
    const app = client.application!;
    const defs = commandDefinitions();
    if (options.registerCommands !== false) {
      if (guildId) await app.commands.set(defs, guildId);
      else await app.commands.set(defs);
    }
  } catch (e) {
    await client.destroy();
    if (e instanceof Error && /TokenInvalid|401|An invalid token/i.test(`${e.name} ${e.message} ${(e as { code?: string }).code ?? ''}`)) {
      throw new VoicemoodError('bad_input', 'Discord refused the token (DISCORD_TOKEN): check it in the Developer Portal → Bot → Reset Token.', { cause: e });
    }
    if (e instanceof Error && /disallowed intents/i.test(e.message)) {
      throw new VoicemoodError(
        'bad_input',
        'Discord refused the Message Content intent: enable it in the Developer Portal → Bot → Privileged Gateway Intents, or set DISCORD_VOICE_MESSAGES=off.',
        { cause: e },
      );
    }
    throw e;
  }
  services.logger.info(
    {
      user: client.user?.tag,
      guilds: client.guilds.cache.size,
      shards: client.options.shards,
      shardCount: client.options.shardCount,
      commands: options.registerCommands === false ? 'not registered here' : guildId ? `guild ${guildId}` : 'global',
    },
    'discord bot ready',
  );
  return { bot, username: client.user?.username ?? 'discord', stop: () => bot.stop() };
}
