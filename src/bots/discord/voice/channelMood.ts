/**
 * What a listening session remembers: per speaker, the results of their recent utterances (never
 * audio). Pure and bounded: at most `maxSpeakers` speakers, at most `maxRecords` utterances per
 * speaker (a ring: the oldest go first), and nothing older than `retainMs`.
 */
import type { Emotion, EmotionScores } from '../../../domain/emotions.ts';

export interface UtteranceRecord {
  /** When the utterance started, ms epoch. */
  at: number;
  durationS: number;
  emotion: Emotion;
  confidence: number;
  scores: EmotionScores;
}

export interface SpeakerLog {
  userId: string;
  name: string;
  /** Oldest first. */
  records: UtteranceRecord[];
  /** Since the session began (not only what is retained). */
  totalTalkS: number;
  totalUtterances: number;
  lastAt: number;
}

export interface ChannelMoodLimits {
  maxSpeakers: number;
  maxRecords: number;
  retainMs: number;
}

export const DEFAULT_CHANNEL_MOOD_LIMITS: Readonly<ChannelMoodLimits> = {
  maxSpeakers: 16,
  maxRecords: 400,
  // /mood looks back at most 60 min; the moderation window is shorter.
  retainMs: 60 * 60_000,
};

export class ChannelMood {
  readonly limits: Readonly<ChannelMoodLimits>;
  readonly #speakers = new Map<string, SpeakerLog>();

  constructor(limits: Partial<ChannelMoodLimits> = {}) {
    this.limits = { ...DEFAULT_CHANNEL_MOOD_LIMITS, ...limits };
  }

  get size(): number {
    return this.#speakers.size;
  }

  has(userId: string): boolean {
    return this.#speakers.has(userId);
  }

  speaker(userId: string): SpeakerLog | undefined {
    return this.#speakers.get(userId);
  }

  speakers(): SpeakerLog[] {
    return [...this.#speakers.values()];
  }

  /** Whether a new speaker would fit (after dropping speakers with nothing retained). */
  canAdmit(userId: string, now: number): boolean {
    if (this.#speakers.has(userId)) return true;
    if (this.#speakers.size < this.limits.maxSpeakers) return true;
    this.prune(now);
    return this.#speakers.size < this.limits.maxSpeakers;
  }

  /** Adds one result; false (nothing stored) when the speaker cap is reached. */
  add(userId: string, name: string, record: UtteranceRecord, now: number): boolean {
    if (!this.canAdmit(userId, now)) return false;
    let log = this.#speakers.get(userId);
    if (!log) {
      log = { userId, name, records: [], totalTalkS: 0, totalUtterances: 0, lastAt: record.at };
      this.#speakers.set(userId, log);
    }
    log.name = name;
    log.records.push(record);
    if (log.records.length > this.limits.maxRecords) log.records.splice(0, log.records.length - this.limits.maxRecords);
    log.totalTalkS += record.durationS;
    log.totalUtterances++;
    log.lastAt = Math.max(log.lastAt, record.at);
    return true;
  }

  /** Records of every speaker that started in [fromMs, toMs]. */
  window(fromMs: number, toMs: number): { userId: string; name: string; records: UtteranceRecord[] }[] {
    const out = [];
    for (const log of this.#speakers.values()) {
      const records = log.records.filter((r) => r.at >= fromMs && r.at <= toMs);
      if (records.length > 0) out.push({ userId: log.userId, name: log.name, records });
    }
    return out;
  }

  /** Forgets a speaker entirely (opt-out during a session, /forget). */
  remove(userId: string): boolean {
    return this.#speakers.delete(userId);
  }

  /** Drops records older than retainMs, and speakers left with none. */
  prune(now: number): void {
    const oldest = now - this.limits.retainMs;
    for (const [id, log] of this.#speakers) {
      if (log.records.length > 0 && log.records[0].at < oldest) log.records = log.records.filter((r) => r.at >= oldest);
      if (log.records.length === 0) this.#speakers.delete(id);
    }
  }
}
