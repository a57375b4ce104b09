/** /analyze audio:<file>: the card of an attached voice message or audio file. */
import { errorReply } from '../../../commands/common.ts';
import { commandEntry } from '../../../commands/registry.ts';
import { VoicemoodError } from '../../../domain/errors.ts';
import { isAudioAttachment } from '../attachments.ts';
import { replyAll } from '../deliver.ts';
import { slashCommand } from '../slashCommands.ts';
import { ds } from '../strings.ts';
import type { DiscordCommand } from './types.ts';

export const analyze: DiscordCommand = {
  definition: slashCommand(commandEntry('analyze')),
  async run({ i, ctx, lang, host }) {
    await i.deferReply();
    const l = await lang();
    const a = i.options.getAttachment('audio', true);
    const { replies, owner } = isAudioAttachment(a)
      ? await host.analyse(ctx, a, 'request')
      : { replies: [errorReply(new VoicemoodError('bad_input', ds(l).noVoiceAttachment), l)], owner: undefined };
    await replyAll(host, i, replies, owner);
  },
};
