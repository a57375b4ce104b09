/**
 * Posting into a server's own channel only. A log channel id is stored per server; whatever is
 * stored (an id typed by hand, a value from an older version), an alert about one server is never
 * posted into a channel of another: the channel's guild is checked when it is set and again here.
 */
import type { Client, SendableChannels } from 'discord.js';
import type { Logger } from '../../util/log.ts';
import { forChannel, type DiscordPayload } from './render.ts';

/** The channel if it belongs to `guildId` and the bot can send there; undefined otherwise. */
export async function sendableInGuild(client: Client, guildId: string, channelId: string): Promise<SendableChannels | undefined> {
  const channel = await client.channels.fetch(channelId).catch(() => null);
  if (!channel || !('guildId' in channel) || channel.guildId !== guildId || !channel.isSendable()) return undefined;
  return channel;
}

/** Posts `payload` into the guild's channel; false (and a warning in the log) when it is not the guild's or sending fails. */
export async function postToGuildChannel(
  client: Client,
  guildId: string | undefined,
  channelId: string,
  payload: DiscordPayload,
  logger: Logger,
): Promise<boolean> {
  try {
    const channel = guildId ? await sendableInGuild(client, guildId, channelId) : undefined;
    if (!channel) {
      logger.warn({ guildId, channelId }, 'log channel is not a sendable channel of this server: alert not posted');
      return false;
    }
    await channel.send(forChannel(payload));
    return true;
  } catch (e) {
    logger.warn({ err: e, guildId, channelId }, 'could not post to the log channel');
    return false;
  }
}
