/** /me [export]: the caller's recent moods and trend, or a file of everything stored about them. */
import { MessageFlags } from 'discord.js';
import { handleMe } from '../../../commands/me.ts';
import { commandEntry } from '../../../commands/registry.ts';
import { replyAll } from '../deliver.ts';
import { slashCommand } from '../slashCommands.ts';
import type { DiscordCommand } from './types.ts';

export const me: DiscordCommand = {
  definition: slashCommand(commandEntry('me')),
  async run({ i, ctx, host }) {
    // Ephemeral: an export (/me export:true) is seen by the caller only, in a server too.
    await i.deferReply({ flags: MessageFlags.Ephemeral });
    await replyAll(host, i, await handleMe(ctx, host.services, { export: i.options.getBoolean('export') ?? false, privateReply: true }));
  },
};
