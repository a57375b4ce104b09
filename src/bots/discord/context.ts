/** Discord interactions and messages → the platform-neutral CommandContext. */
import { PermissionFlagsBits, type GuildMember, type Interaction, type Message, type PermissionsBitField } from 'discord.js';
import type { CommandContext } from '../../commands/types.ts';
import type { Services } from '../../usecases/ports.ts';
import { langFromCode } from '../../domain/lang.ts';
import { sendableInGuild } from './guildChannel.ts';

/** Discord's "Manage Server" is what makes a member an admin of voicemood in that server. */
export function isGuildAdmin(permissions: Readonly<PermissionsBitField> | null | undefined): boolean {
  return permissions?.has(PermissionFlagsBits.ManageGuild) ?? false;
}

export function displayNameOf(user: { username: string; globalName?: string | null }, member?: GuildMember | { nick?: string | null } | null): string {
  const nick = member && 'displayName' in member ? member.displayName : (member?.nick ?? undefined);
  return nick || user.globalName || user.username;
}

function channelTitle(channel: unknown): string | undefined {
  return channel && typeof channel === 'object' && 'name' in channel && typeof channel.name === 'string' ? `#${channel.name}` : undefined;
}

export function contextFromInteraction(i: Interaction, s: Services): CommandContext {
  const member = i.inCachedGuild() ? i.member : null;
  const title = channelTitle(i.channel);
  return {
    platform: 'discord',
    user: { id: i.user.id, name: displayNameOf(i.user, member) },
    chat: {
      id: i.channelId ?? i.user.id,
      kind: i.guildId ? 'group' : 'private',
      ...(i.guildId ? { guildId: i.guildId } : {}),
      ...(i.guild?.name ? { guildName: i.guild.name } : {}),
      ...(title ? { title } : {}),
    },
    lang: langFromCode(i.locale),
    isAdmin: async () => isGuildAdmin(i.memberPermissions),
    channelInServer: async (channelId) => (i.guildId ? (await sendableInGuild(i.client, i.guildId, channelId)) !== undefined : false),
    now: s.clock,
  };
}

export function contextFromMessage(m: Message, s: Services): CommandContext {
  const title = channelTitle(m.channel);
  return {
    platform: 'discord',
    user: { id: m.author.id, name: displayNameOf(m.author, m.member) },
    chat: {
      id: m.channelId,
      kind: m.guildId ? 'group' : 'private',
      ...(m.guildId ? { guildId: m.guildId } : {}),
      ...(m.guild?.name ? { guildName: m.guild.name } : {}),
      ...(title ? { title } : {}),
    },
    // Messages carry no locale; the guild's preferred locale is the best hint.
    lang: langFromCode(m.guild?.preferredLocale),
    isAdmin: async () => isGuildAdmin(m.member?.permissions),
    channelInServer: async (channelId) => (m.guildId ? (await sendableInGuild(m.client, m.guildId, channelId)) !== undefined : false),
    now: s.clock,
  };
}
