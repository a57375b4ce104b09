/** /listen start|stop: continuous listening in the caller's voice channel, for moderation signals (admins, servers only). */
import { MessageFlags } from 'discord.js';
import { commandEntry } from '../../../commands/registry.ts';
import { guildOnly, manageGuild } from '../preconditions.ts';
import { forInteraction } from '../render.ts';
import { slashCommand } from '../slashCommands.ts';
import { ds } from '../strings.ts';
import type { DiscordCommand } from './types.ts';
import { voiceChannelOf } from './voiceChannel.ts';

export const listen: DiscordCommand = {
  definition: slashCommand(commandEntry('listen')),
  preconditions: [guildOnly, manageGuild],
  async run({ i, lang: langOf, host }) {
    const lang = await langOf();
    const strings = ds(lang);
    if (!i.inGuild()) return; // see the guildOnly precondition
    if (i.options.getSubcommand() === 'stop') {
      const stopped = await host.listeners.stop(i.guildId, 'requested');
      await i.reply(forInteraction({ content: stopped ? strings.listeningStopped(`<#${stopped.scope.channelId}>`) : strings.notListening, ephemeral: true }));
      return;
    }
    const where = voiceChannelOf(i);
    if (!where) return void (await i.reply(forInteraction({ content: strings.notInVoice, ephemeral: true })));
    if (!where.joinable) return void (await i.reply(forInteraction({ content: strings.listenFailed, ephemeral: true })));
    const current = host.listeners.get(where.guild.id);
    if (current?.scope.channelId === where.channelId && current.mode === 'continuous') {
      return void (await i.reply(forInteraction({ content: strings.alreadyListening(`<#${where.channelId}>`), ephemeral: true })));
    }
    await i.deferReply({ flags: MessageFlags.Ephemeral });
    try {
      await host.listeners.start(where.guild, where.channelId, { mode: 'continuous', textChannelId: i.channelId, lang });
      await i.editReply({ content: strings.listenStarted(`<#${where.channelId}>`) });
    } catch (e) {
      host.services.logger.warn({ err: e }, 'joining a voice channel failed');
      await i.editReply({ content: strings.listenFailed });
    }
  },
};
