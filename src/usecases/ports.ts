/**
 * The ports of the use-case layer: what analysing, recording, moderating and forgetting need from
 * the infrastructure below. Implementations (src/state, src/history, src/inference, src/queue)
 * fit these shapes without importing them; the composition root (src/services.ts) wires them.
 */
import type { EmotionEngine } from '../inference/types.ts';
import type { HistoryStore, SettingsStore } from '../domain/history.ts';
import type { ModerationSignal } from '../domain/mood.ts';
import type { TakeResult } from '../domain/rateLimit.ts';
import type { Logger } from '../util/log.ts';
import type { TimelineKv } from '../state/timelines.ts';

/** Current time in ms since the epoch. Injected everywhere time matters (tests control it). */
export type Clock = () => number;

/**
 * Rate limiter keyed by strings (e.g. "user:telegram:42"): in memory (TokenBucketLimiter) or
 * shared on Redis (RedisRateLimiter), hence sync or async.
 */
export interface RateLimiter {
  /** Takes one token for every key (all or none); when one is empty, says when to retry. */
  take(keys: readonly string[]): TakeResult | Promise<TakeResult>;
}

/**
 * Cooldown, per-chat rate limit and Acknowledge/Snooze state for moderation signals: in memory
 * (InMemoryModerationGate) or shared on Redis (RedisModerationGate), hence sync or async.
 */
export interface ModerationGate {
  /**
   * Whether a signal may be sent now; records it when yes. `limits` are the chat's cooldown and
   * per-hour cap (defaults: src/usecases/moderate.ts).
   */
  admit(signal: ModerationSignal, limits?: { cooldownS?: number; maxPerHour?: number }): boolean | Promise<boolean>;
  /** Marks a signal as handled (stops repeats for its members until the cooldown ends). */
  acknowledge(signalId: string, byUserId: string): boolean | Promise<boolean>;
  /** Silences signals of the signal's chat for `seconds`. */
  snooze(signalId: string, seconds: number): boolean | Promise<boolean>;
  /** The signal behind an id while it is active (so that buttons can check where they were pressed). */
  find?(signalId: string): ModerationSignal | undefined | Promise<ModerationSignal | undefined>;
}

/**
 * Once-only claims shared by every instance on one Redis: the first to claim a key within its TTL
 * gets true (Telegram update de-duplication across webhook instances).
 */
export interface ClaimStore {
  claim(key: string, ttlS: number): Promise<boolean>;
}

/**
 * A small key-value store shared by every instance on one Redis, for state they must all see
 * (e.g. Telegram timeline buttons): JSON values with a TTL, and sets of keys.
 */
export type SharedKv = TimelineKv;

/** What every command needs; created once per process (src/services.ts). */
export interface Services {
  engine: EmotionEngine;
  history: HistoryStore;
  /** The same object as `history` in the default setup. */
  settings: SettingsStore;
  limiter: RateLimiter;
  moderation: ModerationGate;
  logger: Logger;
  clock: Clock;
  /**
   * Deadline of one voice request, download + decode + inference (VOICEMOOD_REQUEST_TIMEOUT_MS;
   * default DEFAULT_REQUEST_TIMEOUT_MS in requestDeadline.ts).
   */
  requestTimeoutMs?: number;
  /** Present when several instances share state (Redis): see ClaimStore. */
  claims?: ClaimStore;
  /** Present when several instances share state (Redis): see SharedKv. */
  sharedKv?: SharedKv;
  /** Counts analyses for /metrics (src/util/metrics.ts); absent in tests that do not look. */
  metrics?: AnalysisMetrics;
}

/** The metrics hook of the use cases: one call per analysis asked for. */
export interface AnalysisMetrics {
  /** `platform`: telegram, discord, web or voice_channel; `outcome`: 'ok' or the VoicemoodError code. */
  analysis(platform: string, outcome: string, seconds?: number): void;
}
