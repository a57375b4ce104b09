/**
 * Recording one analysis in history: the same entry for a voice note and a voice-channel
 * utterance, except `source` (and `at`: when a note was analysed, when an utterance started).
 */
import type { EntrySource, HistoryEntry } from '../domain/history.ts';
import type { Platform } from '../domain/platform.ts';
import type { EmotionResult } from '../inference/types.ts';
import type { Services } from './ports.ts';

export interface AnalysisToRecord {
  at: number;
  platform: Platform;
  user: { id: string; name: string };
  /** Telegram chat / Discord channel (text or voice). */
  chatId: string;
  guildId?: string;
  source: EntrySource;
  analysis: Pick<EmotionResult, 'emotion' | 'confidence' | 'scores'> & { durationS: number };
}

/**
 * Appends the entry, unless the person was forgotten since `epoch` (their forget epoch when the
 * analysis started): compared right before append() queues for the store's lock, which a
 * forgetUser started later waits for (so it deletes this entry too). A failing store is logged
 * (the caller still shows its result) and gives undefined, like a forgotten person.
 */
export async function recordAnalysis(s: Pick<Services, 'history' | 'logger'>, r: AnalysisToRecord, epoch?: number): Promise<HistoryEntry | undefined> {
  if (epoch !== undefined && s.history.forgetEpoch(r.platform, r.user.id) !== epoch) return undefined;
  try {
    return await s.history.append({
      at: r.at,
      platform: r.platform,
      userId: r.user.id,
      userName: r.user.name,
      chatId: r.chatId,
      ...(r.guildId !== undefined ? { guildId: r.guildId } : {}),
      source: r.source,
      durationS: r.analysis.durationS,
      emotion: r.analysis.emotion,
      confidence: r.analysis.confidence,
      scores: r.analysis.scores,
    });
  } catch (e) {
    s.logger.error({ err: e, platform: r.platform, source: r.source }, 'history append failed');
    return undefined;
  }
}
