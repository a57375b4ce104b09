/** Structured replies (src/commands) → Discord messages: cards with their Timeline button, summaries, alerts, texts, files. */
import type { ChatInputCommandInteraction, SendableChannels } from 'discord.js';
import type { Reply } from '../../commands/types.ts';
import { postToGuildChannel } from './guildChannel.ts';
import type { DiscordHost, Owner } from './host.ts';
import { forChannel, forInteraction, renderAlert, renderCard, renderSummary, renderText, type DiscordPayload } from './render.ts';

/** allowedMentions of every message the bot writes. */
export const NO_MENTIONS = { parse: [] as never[] };

/**
 * Sends one structured reply: the first through `primary` (reply/edit), alerts to the log
 * channel, and further texts to the channel.
 */
export async function deliver(
  host: DiscordHost,
  r: Reply,
  primary: (p: DiscordPayload) => Promise<unknown>,
  channel?: SendableChannels,
  owner?: Owner,
): Promise<void> {
  switch (r.kind) {
    case 'card': {
      const key = r.timeline && r.timeline.windows.length > 0 ? host.timelines.put(r, owner) : undefined;
      await primary(renderCard(r, key));
      return;
    }
    case 'summary':
      await primary(renderSummary(r));
      return;
    case 'alert':
      if (r.logChannelId) await postToGuildChannel(host.client, r.signal.guildId, r.logChannelId, renderAlert(r), host.services.logger);
      return;
    case 'text':
    case 'error':
      if (channel && r.kind === 'text') await channel.send(forChannel(renderText(r)));
      else await primary(renderText(r));
      return;
    case 'file':
      // Only through `primary` of an ephemeral interaction (/me export): never into a channel.
      await primary({ content: r.caption, files: [{ attachment: Buffer.from(r.bytes), name: r.filename }], ephemeral: true });
      return;
  }
}

/** Replies of a command after deferReply: the first edits the deferred answer, the rest follow. */
export async function replyAll(host: DiscordHost, i: ChatInputCommandInteraction, replies: Reply[], owner?: Owner): Promise<void> {
  let first = true;
  for (const r of replies) {
    await deliver(
      host,
      r,
      async (p) => {
        if (first) {
          first = false;
          const { flags: _flags, ...rest } = forInteraction(p);
          return i.editReply(rest);
        }
        return i.followUp(forInteraction(p));
      },
      undefined,
      owner,
    );
  }
  if (first) await i.editReply({ content: '✅' });
}

/** Text replies joined into one message (for commands that answer in words only). */
export function textPayload(replies: Reply[]): DiscordPayload {
  const texts = replies.filter((r): r is Reply & { kind: 'text' | 'error' } => r.kind === 'text' || r.kind === 'error');
  if (texts.length === 0) return { content: '✅' };
  return { content: texts.map((r) => renderText(r).content).join('\n\n') };
}
