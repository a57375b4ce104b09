/** Voice messages and audio files posted in a channel or a DM: analysed, answered with their card. */
import { DiscordAPIError, RESTJSONErrorCodes, type Message } from 'discord.js';
import { handleVoice } from '../../commands/index.ts';
import { errorReply, resolveLang } from '../../commands/common.ts';
import type { CommandContext, Reply } from '../../commands/types.ts';
import { VoicemoodError } from '../../domain/errors.ts';
import { downloadAttachment, isAudioAttachment, type AttachmentLike } from './attachments.ts';
import { contextFromMessage } from './context.ts';
import { deliver, NO_MENTIONS } from './deliver.ts';
import type { DiscordHost, Owner } from './host.ts';
import { BusyCounter } from '../../state/inFlight.ts';
import { forChannel, type DiscordPayload } from './render.ts';

/** What a "busy" reply suggests waiting, in seconds. */
export const BUSY_RETRY_S = 10;

export class VoiceMessages {
  readonly #host: DiscordHost;
  /** Voice messages being downloaded or analysed now. */
  readonly #analysing: BusyCounter;

  constructor(host: DiscordHost) {
    this.#host = host;
    this.#analysing = new BusyCounter(() => host.options.maxAnalyses ?? host.services.engine.load().capacity);
  }

  async onMessage(m: Message): Promise<void> {
    const host = this.#host;
    if (host.stopping || m.author.bot || m.system) return;
    const audio = m.attachments.find((a) => isAudioAttachment(a));
    if (!audio) return;
    // Voice messages (MessageFlags.IsVoiceMessage) and plain audio files are treated alike.
    const ctx = contextFromMessage(m, host.services);
    const { replies, owner } = await this.analyse(ctx, audio, 'auto');
    const channel = m.channel.isSendable() ? m.channel : undefined;
    const reply = async (p: DiscordPayload): Promise<unknown> => {
      try {
        return await m.reply({ ...forChannel(p), allowedMentions: { ...NO_MENTIONS, repliedUser: false } });
      } catch (e) {
        // A reply needs Read Message History as well as Send Messages; without it, post plainly.
        if (channel && e instanceof DiscordAPIError && e.code === RESTJSONErrorCodes.CannotReplyWithoutPermissionToReadMessageHistory)
          return channel.send(forChannel(p));
        throw e;
      }
    };
    for (const r of replies) await deliver(host, r, reply, channel, owner);
  }

  /**
   * Analyses one attachment of the sender's. `owner` carries their forget epoch from before the
   * analysis: a /forget that came meanwhile empties the replies, and keeps the timeline out.
   */
  async analyse(ctx: CommandContext, a: AttachmentLike, trigger: 'auto' | 'request'): Promise<{ replies: Reply[]; owner: Owner }> {
    const s = this.#host.services;
    const owner = { userId: ctx.user.id, epoch: s.history.forgetEpoch('discord', ctx.user.id) };
    // Bounded like the engine's queue: past it, a polite "busy" before downloading anything, so
    // that a flood across many channels cannot pile up downloads and decoded audio in memory.
    if (!this.#analysing.enter()) {
      s.metrics?.analysis('discord', 'busy');
      return {
        replies: [errorReply(new VoicemoodError('busy', 'Too many voice messages are waiting.', { retryAfterS: BUSY_RETRY_S }), await resolveLang(ctx, s))],
        owner,
      };
    }
    try {
      const replies = await this.#analyseNow(ctx, a, trigger);
      return { replies: s.history.forgetEpoch('discord', owner.userId) === owner.epoch ? replies : [], owner };
    } finally {
      this.#analysing.leave();
    }
  }

  #analyseNow(ctx: CommandContext, a: AttachmentLike, trigger: 'auto' | 'request'): Promise<Reply[]> {
    const { services, options } = this.#host;
    // handleVoice downloads only after its consent and rate-limit checks, under its deadline.
    const download = (signal: AbortSignal): Promise<Uint8Array> =>
      downloadAttachment(a, { signal, ...(options.cdnHosts ? { allowedHosts: options.cdnHosts } : {}) });
    return handleVoice(ctx, services, { download, filename: a.name, ...(a.contentType ? { mimeType: a.contentType } : {}), trigger });
  }
}
