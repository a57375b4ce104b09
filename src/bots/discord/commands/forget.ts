/** /forget: deletes everything stored about the caller, in the store and in memory. */
import { MessageFlags } from 'discord.js';
import { handleForget } from '../../../commands/account.ts';
import { commandEntry } from '../../../commands/registry.ts';
import { replyAll } from '../deliver.ts';
import { slashCommand } from '../slashCommands.ts';
import type { DiscordCommand } from './types.ts';

export const forget: DiscordCommand = {
  definition: slashCommand(commandEntry('forget')),
  async run({ i, ctx, host }) {
    await i.deferReply({ flags: MessageFlags.Ephemeral });
    host.listeners.forgetUser(ctx.user.id);
    const replies = await handleForget(ctx, host.services);
    // In memory too; an analysis still running is dropped by the forget epoch (VoiceMessages.analyse
    // and the voice sessions). Sessions again: an utterance may have landed before the epoch moved.
    host.listeners.forgetUser(ctx.user.id);
    host.timelines.forgetUser(ctx.user.id);
    await replyAll(host, i, replies);
  },
};
