/** Shared helpers of the history tests: temp stores and entries. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { namedScores } from '../../src/domain/emotions.ts';
import type { NewHistoryEntry } from '../../src/domain/history.ts';
import type { Platform } from '../../src/domain/platform.ts';

export function tempDir(prefix = 'vm-history-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

let seq = 0;
/** An entry with distinctive scores; `angry` decides the top emotion when > 0.5. */
export function entry(over: Partial<NewHistoryEntry> & { platform?: Platform } = {}): NewHistoryEntry {
  seq++;
  const angry = over.scores?.angry ?? 0.1;
  const scores = over.scores ?? namedScores([angry, 0.05, 0.05, 0.1, 1 - angry - 0.3, 0.02, 0.03, 0.03, 0.02]);
  return {
    at: over.at ?? Date.now(),
    platform: over.platform ?? 'telegram',
    userId: over.userId ?? 'u1',
    userName: over.userName ?? 'User One',
    chatId: over.chatId ?? 'c1',
    source: over.source ?? 'voice_note',
    durationS: over.durationS ?? 1 + (seq % 5),
    emotion: over.emotion ?? (angry > 0.5 ? 'angry' : 'neutral'),
    confidence: over.confidence ?? 0.6,
    scores,
    ...(over.guildId !== undefined ? { guildId: over.guildId } : {}),
    ...(over.id !== undefined ? { id: over.id } : {}),
  };
}
