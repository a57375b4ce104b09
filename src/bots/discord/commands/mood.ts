/**
 * /mood [window] [duration]: the mood of the caller's voice channel — from the session already
 * listening there, or by listening `duration` seconds — or, outside voice, of this channel's voice
 * messages (from history).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { handleMood } from '../../../commands/mood.ts';
import { commandEntry, MOOD_DEFAULT_LISTEN_S, MOOD_DEFAULT_WINDOW_MIN, MOOD_MAX_LISTEN_S } from '../../../commands/registry.ts';
import { replyAll } from '../deliver.ts';
import { forInteraction, renderSummary } from '../render.ts';
import { slashCommand } from '../slashCommands.ts';
import { ds } from '../strings.ts';
import { voiceSummaryReply } from '../voice/summary.ts';
import type { DiscordCommand } from './types.ts';
import { voiceChannelOf } from './voiceChannel.ts';

export const mood: DiscordCommand = {
  definition: slashCommand(commandEntry('mood')),
  async run({ i, ctx, lang: langOf, host }) {
    const lang = await langOf();
    const strings = ds(lang);
    const s = host.services;
    const where = voiceChannelOf(i);
    if (!where) {
      // Not in voice: the mood of this channel's voice messages, from history.
      await i.deferReply();
      const minutes = i.options.getInteger('window');
      await replyAll(host, i, await handleMood(ctx, s, minutes ? { windowMs: minutes * 60_000 } : {}));
      return;
    }
    const current = host.listeners.get(where.guild.id);
    if (current && current.scope.channelId === where.channelId) {
      await i.deferReply();
      const windowMs = (i.options.getInteger('window') ?? MOOD_DEFAULT_WINDOW_MIN) * 60_000;
      await current.session.idle();
      const now = s.clock();
      await replyAll(host, i, [await voiceSummaryReply(current.session.mood, current.scope, now - windowMs, now, lang)]);
      return;
    }
    if (current) {
      // Busy in another channel of this server (one voice connection per server).
      await i.reply(forInteraction({ content: strings.alreadyListening(`<#${current.scope.channelId}>`), ephemeral: true }));
      return;
    }
    if (!where.joinable) return void (await i.reply(forInteraction({ content: strings.listenFailed, ephemeral: true })));
    const seconds = Math.min(MOOD_MAX_LISTEN_S, i.options.getInteger('duration') ?? MOOD_DEFAULT_LISTEN_S);
    await i.deferReply();
    let listening;
    try {
      listening = await host.listeners.start(where.guild, where.channelId, { mode: 'once', textChannelId: i.channelId, lang, seconds });
    } catch (e) {
      s.logger.warn({ err: e }, 'joining a voice channel failed');
      await i.editReply({ content: strings.listenFailed });
      return;
    }
    await i.editReply({ content: strings.moodListening(seconds) });
    const from = s.clock();
    // Up to MOOD_MAX_LISTEN_S: shutdown must not wait that long (process managers kill after ~10 s).
    await sleep(seconds * (host.options.msPerListenSecond ?? 1000), undefined, { signal: host.stopSignal }).catch(() => undefined);
    if (host.stopping || host.listeners.get(where.guild.id) !== listening) return; // stopped or replaced meanwhile
    await host.listeners.stop(where.guild.id, 'done');
    const summary = await voiceSummaryReply(listening.session.mood, listening.scope, from, s.clock(), lang);
    await i.followUp(forInteraction(renderSummary(summary)));
  },
};
