/**
 * The platform-neutral command layer. An adapter (Telegram, Discord) maps an update to a
 * CommandContext, calls a command from src/commands with the shared Services, and renders the
 * structured Replies it gets back (text, card, summary with a PNG, error sentence, alert).
 * Commands never talk to a platform API themselves.
 */
import type { Logger } from '../util/log.ts';
import type { EmotionEngine } from '../inference/types.ts';
import type { ErrorCode } from '../domain/errors.ts';
import type { Lang } from '../domain/emotions.ts';
import type { HistoryStore, Platform, SettingsStore } from '../domain/history.ts';
import type { MoodCard, MoodSummary, ModerationSignal, Timeline } from '../domain/mood.ts';

export type { Platform } from '../domain/history.ts';

/** Current time in ms since the epoch. Injected everywhere time matters (tests control it). */
export type Clock = () => number;

export interface CommandUser {
  /** Platform user id, as a string. */
  id: string;
  /** Display name (shown in summaries and alerts). */
  name: string;
  /**
   * A stand-in for someone hidden (a Telegram admin posting anonymously, who arrives as
   * GroupAnonymousBot): it cannot be written to privately, and every anonymous admin shares it.
   */
  anonymous?: boolean;
}

export interface CommandChat {
  /** Telegram chat id / Discord channel id. */
  id: string;
  kind: 'private' | 'group';
  /** Discord server id (settings and moderation are per guild on Discord). */
  guildId?: string;
  /** Discord server name (the /privacy reply says which server a choice applies to). */
  guildName?: string;
  title?: string;
}

export interface CommandContext {
  platform: Platform;
  user: CommandUser;
  chat: CommandChat;
  /**
   * The language the platform reports for the user (e.g. Telegram language_code, Discord locale),
   * mapped to en|zh. Commands prefer the user's stored /lang, then the chat's, then this.
   */
  lang: Lang;
  /** Whether the user administers this chat/guild (Telegram: chat admin; Discord: ManageGuild). */
  isAdmin(): Promise<boolean>;
  /**
   * Whether a channel id names a channel of this chat's server that the bot can post in (Discord,
   * for /settings logchannel). Absent where the platform has no such check.
   */
  channelInServer?(channelId: string): Promise<boolean>;
  now: Clock;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterS: number; key: string };

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
   * per-hour cap (defaults: src/mood/moderation.ts).
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
export interface SharedKv {
  getJson<T>(key: string): Promise<T | undefined>;
  setJson(key: string, value: unknown, ttlS: number): Promise<void>;
  delete(keys: readonly string[]): Promise<void>;
  addMember(setKey: string, member: string, ttlS: number): Promise<void>;
  members(setKey: string): Promise<string[]>;
}

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

/** A plain message. `text` is plain (not HTML, not Markdown); adapters escape it. */
export interface TextReply {
  kind: 'text';
  text: string;
  /** Set when the text is meant for a monospace block. */
  monospace?: boolean;
}

/** The card of one analysed voice note. */
export interface CardReply {
  kind: 'card';
  card: MoodCard;
  /** One line: emoji, label, confidence, duration. */
  title: string;
  /** The 9 score bars, for a monospace block (<pre> / ``` code block). */
  body: string;
  /** Frame timeline, when frames were available: for the "Timeline" button. */
  timeline?: Timeline;
  /** Id of the stored history entry (absent when nothing was stored). */
  entryId?: string;
}

/** A chat/channel summary (/mood) or the user's own history (/me). */
export interface SummaryReply {
  kind: 'summary';
  summary: MoodSummary;
  title: string;
  /** Monospace block: per member dominant emotion, counts, share bars, talk time. */
  body: string;
  /** PNG chart of the emotion shares over the window; absent when there is nothing to draw. */
  png?: Uint8Array;
}

/** A failure, already turned into a sentence in the user's language. */
export interface ErrorReply {
  kind: 'error';
  code: ErrorCode;
  text: string;
  retryAfterS?: number;
}

/**
 * A moderation alert. Telegram: send `text` privately to each of `notifyUserIds` (admins who
 * opted in). Discord: post to `logChannelId` as an embed with Acknowledge / Snooze buttons.
 */
export interface AlertReply {
  kind: 'alert';
  signal: ModerationSignal;
  title: string;
  text: string;
  notifyUserIds: string[];
  logChannelId?: string;
  lang: Lang;
}

/**
 * A file for the requesting user only (/me export). Adapters must deliver it privately: Discord as
 * an ephemeral attachment, Telegram with sendDocument in the private chat it was asked in.
 */
export interface FileReply {
  kind: 'file';
  filename: string;
  mimeType: string;
  bytes: Uint8Array;
  caption: string;
}

export type Reply = TextReply | CardReply | SummaryReply | ErrorReply | AlertReply | FileReply;

/** A voice note / audio file to analyse. */
export interface VoiceInput {
  /** The audio, when the adapter already has it; else `download` fetches it. */
  bytes?: Uint8Array;
  /**
   * Fetches the audio, called only once the consent, reply-mode and rate-limit checks passed (a
   * refused note is never downloaded), under the request's deadline (`signal`).
   */
  download?: (signal: AbortSignal) => Promise<Uint8Array>;
  filename?: string;
  mimeType?: string;
  /**
   * 'auto': the bot saw a voice note (groups in on-demand mode do nothing; opted-out users are
   * skipped silently). 'request': someone asked (/analyze, a /mood reply to a note): always answer.
   */
  trigger: 'auto' | 'request';
  /** Keep per-frame scores so the card can offer a timeline (default true). */
  frames?: boolean;
  /**
   * Whether the voice is the sender's own (default true). A forwarded note is someone else's voice:
   * it still gets its card, but it is not stored in the sender's history and never counts towards
   * a moderation signal against them.
   */
  ownVoice?: boolean;
  /**
   * The person whose voice it is, when not the requester's (a reply-/mood to another member's
   * note): their opt-out applies, the requester is rate-limited, and nothing is stored or counted
   * towards moderation (as with ownVoice: false).
   */
  voiceOf?: CommandUser;
  signal?: AbortSignal;
}

/**
 * The commands (exported from src/commands/index.ts), all `(ctx, services, …) => Promise<Reply[]>`:
 *   handleVoice(ctx, s, input: VoiceInput)          card (+ privacy notice first time, + alert)
 *   handleMe(ctx, s, { export?, privateReply? })     the user's recent moods and trend, or (export) a JSON file
 *   handleMood(ctx, s, { windowMs? })                chat summary, default last 24 h
 *   handleForget(ctx, s)                             deletes everything about the user, with counts
 *   handleLang(ctx, s, arg?: string)                 /lang en|zh
 *   handleHelp(ctx, s) / handleStart(ctx, s)
 *   handlePrivacy(ctx, s, arg?: 'in'|'out'|string)   voice analysis opt-in/out
 *   handleSettings(ctx, s, args: string[])           admins only
 *   handleAlerts(ctx, s, arg?: 'on'|'off')           admins: receive moderation alerts privately
 */
export type Command<A extends unknown[] = []> = (ctx: CommandContext, services: Services, ...args: A) => Promise<Reply[]>;
