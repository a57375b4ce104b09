/** The voice channel the caller of a command is in (for /listen and /mood). */
import type { ChatInputCommandInteraction, Guild } from 'discord.js';

export function voiceChannelOf(i: ChatInputCommandInteraction): { guild: Guild; channelId: string; joinable: boolean } | undefined {
  const guild = i.guild;
  const channelId = guild?.voiceStates.cache.get(i.user.id)?.channelId;
  if (!guild || !channelId) return undefined;
  // Without View Channel + Connect (or in a full channel) Discord ignores the join silently and
  // we would only find out at the 20 s Ready deadline: say so at once instead.
  const channel = guild.channels.cache.get(channelId);
  return { guild, channelId, joinable: channel && 'joinable' in channel ? channel.joinable : true };
}
