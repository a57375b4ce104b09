/** /privacy [choice:in|out]: allow or stop the analysis of the caller's voice (per server in a server). */
import { MessageFlags } from 'discord.js';
import { handlePrivacy } from '../../../commands/account.ts';
import { commandEntry } from '../../../commands/registry.ts';
import { textPayload } from '../deliver.ts';
import { forChannel } from '../render.ts';
import { slashCommand } from '../slashCommands.ts';
import type { DiscordCommand } from './types.ts';

export const privacy: DiscordCommand = {
  definition: slashCommand(commandEntry('privacy')),
  async run({ i, ctx, host }) {
    // Deferred before the store is touched: Discord drops an interaction not answered in 3 s.
    await i.deferReply({ flags: MessageFlags.Ephemeral });
    const choice = i.options.getString('choice') ?? undefined;
    const replies = await handlePrivacy(ctx, host.services, choice);
    // In a server the choice is that server's; in a DM it is for every server.
    if (choice === 'out') host.listeners.forgetUser(ctx.user.id, i.guildId ?? undefined);
    await i.editReply(forChannel(textPayload(replies)));
  },
};
