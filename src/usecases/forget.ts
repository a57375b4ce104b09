/**
 * Forgetting a person: their history and settings go (opt-outs stay), and every analysis of their
 * voice still running is dropped. The store bumps a per-person epoch the moment forgetUser is
 * called; an analysis reads it before it starts (watchForget) and records nothing if it moved.
 */
import type { ForgetReport, HistoryStore } from '../domain/history.ts';
import type { Platform } from '../domain/platform.ts';

export function forget(history: HistoryStore, platform: Platform, userId: string): Promise<ForgetReport> {
  return history.forgetUser(platform, userId);
}

export interface ForgetWatch {
  /** The person's forget epoch when the analysis started (recordAnalysis compares it). */
  readonly epoch: number;
  /** Whether the person was forgotten since. */
  forgotten(): boolean;
}

export function watchForget(history: Pick<HistoryStore, 'forgetEpoch'>, platform: Platform, userId: string): ForgetWatch {
  const epoch = history.forgetEpoch(platform, userId);
  return { epoch, forgotten: () => history.forgetEpoch(platform, userId) !== epoch };
}
