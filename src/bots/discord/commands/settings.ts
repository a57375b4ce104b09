/** /settings [name] [value|channel]: the server's settings (the command itself checks Manage Server). */
import { MessageFlags } from 'discord.js';
import { commandEntry } from '../../../commands/registry.ts';
import { handleSettings } from '../../../commands/settings.ts';
import { textPayload } from '../deliver.ts';
import { forChannel } from '../render.ts';
import { slashCommand } from '../slashCommands.ts';
import type { DiscordCommand } from './types.ts';

export const settings: DiscordCommand = {
  definition: slashCommand(commandEntry('settings')),
  async run({ i, ctx, host }) {
    await i.deferReply({ flags: MessageFlags.Ephemeral });
    const name = i.options.getString('name');
    const value = i.options.getChannel('channel')?.id ?? i.options.getString('value');
    const args = name ? [name, ...(value ? [value] : [])] : [];
    await i.editReply(forChannel(textPayload(await handleSettings(ctx, host.services, args))));
  },
};
