/**
 * A listening session's state → the shared summary and moderation models. Pure: the channel's
 * utterance results become the same entries history holds, so /mood in a voice channel renders
 * exactly like /mood anywhere else.
 */
import type { HistoryEntry, HistoryStore } from '../../../domain/history.ts';
import type { Lang } from '../../../domain/emotions.ts';
import { summariseChat } from '../../../usecases/summarise.ts';
import { renderSummaryBody, renderSummaryPng, formatWindow } from '../../../render/summary.ts';
import type { SummaryReply } from '../../../commands/types.ts';
import type { ChannelMood } from './channelMood.ts';
import { ds } from '../strings.ts';

export interface VoiceScope {
  guildId: string;
  channelId: string;
  channelName: string;
}

export function voiceEntries(mood: ChannelMood, scope: VoiceScope, fromMs: number, toMs: number): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const s of mood.window(fromMs, toMs)) {
    s.records.forEach((r, i) =>
      out.push({
        id: `${s.userId}:${r.at}:${i}`,
        at: r.at,
        platform: 'discord',
        userId: s.userId,
        userName: s.name,
        chatId: scope.channelId,
        guildId: scope.guildId,
        source: 'voice_channel',
        durationS: r.durationS,
        emotion: r.emotion,
        confidence: r.confidence,
        scores: r.scores,
      }),
    );
  }
  return out.sort((a, b) => a.at - b.at);
}

/**
 * The session's state read like history (entries of [since, until)), for the summary use case:
 * what a member who opted out or was forgotten said is already gone from it.
 */
export function liveHistory(mood: ChannelMood, scope: VoiceScope): Pick<HistoryStore, 'listChat'> {
  return {
    listChat: async (_platform, chatId, options = {}) =>
      chatId === scope.channelId ? voiceEntries(mood, scope, options.since ?? -Infinity, (options.until ?? Infinity) - 1) : [],
  };
}

/** The /mood reply for a voice channel: overall mood, each speaker, and the shares chart. */
export async function voiceSummaryReply(mood: ChannelMood, scope: VoiceScope, fromMs: number, toMs: number, lang: Lang): Promise<SummaryReply> {
  const summary = await summariseChat(liveHistory(mood, scope), { platform: 'discord', chatId: scope.channelId, fromMs, toMs: toMs + 1 });
  const title = ds(lang).moodTitle(scope.channelName, formatWindow(toMs - fromMs));
  const png = await renderSummaryPng(summary, lang, title);
  return { kind: 'summary', summary, title, body: renderSummaryBody(summary, lang), ...(png ? { png } : {}) };
}
