/**
 * History: what voicemood remembers about voice it analysed, and per-user / per-chat settings.
 *
 * Users, chats and guilds are kept apart by construction: every key carries the platform, so a
 * Telegram user 42 and a Discord user 42 never meet, and every read is scoped to one user or one
 * chat. Audio is NEVER stored: an entry holds only what the card showed (emotion and scores).
 */
import type { Platform } from './platform.ts';
import type { Emotion, EmotionScores, Lang } from './emotions.ts';

/** Where an analysed piece of voice came from. */
export type EntrySource = 'voice_note' | 'voice_channel';

/** One analysed voice note or voice-channel utterance. */
export interface HistoryEntry {
  /** Unique id (assigned by the store on append when absent). */
  id: string;
  /** When it was analysed: ms since the epoch. */
  at: number;
  platform: Platform;
  userId: string;
  /** Display name at the time (for summaries); deleted with the user by forgetUser. */
  userName?: string;
  /** Telegram chat id, or the Discord channel id (text channel or voice channel). */
  chatId: string;
  /** Discord guild id; absent on Telegram and in DMs. */
  guildId?: string;
  source: EntrySource;
  durationS: number;
  emotion: Emotion;
  confidence: number;
  scores: EmotionScores;
}

/** What append() takes: the store fills in `id` when it is missing. */
export type NewHistoryEntry = Omit<HistoryEntry, 'id'> & { id?: string };

export interface ListOptions {
  /** Only entries at or after this time (ms epoch). */
  since?: number;
  /** Only entries before this time (ms epoch). */
  until?: number;
  /** At most this many, the most recent ones. */
  limit?: number;
}

/** Per-user settings (one set per platform + user). */
export interface UserSettings {
  lang?: Lang;
  /**
   * Voice analysis consent of this person: 'out' = never analyse or store their voice (Telegram:
   * notes are not analysed; Discord: packets dropped before decoding); 'in' = explicitly opted in
   * (Telegram only: on Discord a global 'in' is not consent to listening on any server, see
   * privacyByGuild); undefined = not chosen. A global 'out' survives forgetUser.
   */
  privacy?: 'in' | 'out';
  /**
   * Discord: this person's choice per server (guild id → choice), made with /privacy in a server.
   * Voice-channel listening in a server needs that server's 'in' (consent mode opt_in); a server's
   * 'out' stops everything in that server. 'out' choices survive forgetUser.
   */
  privacyByGuild?: Record<string, 'in' | 'out'>;
}

export type ReplyMode = 'auto' | 'on_demand';
export type ConsentMode = 'opt_in' | 'opt_out';

/** Moderation thresholds a chat/guild may override (see src/usecases/moderate.ts for defaults). */
export interface ModerationThresholds {
  /** repeated_negative: this many angry/disgusted notes or utterances by one member … */
  repeatCount: number;
  /** … within this many seconds → a signal. */
  repeatWindowS: number;
  /** heated_speaker: anger+disgust share of a member at or above this … */
  heatedShare: number;
  /** … over a rolling window of this many seconds … */
  heatedWindowS: number;
  /** … with at least this much speech in the window. */
  heatedMinSpeechS: number;
  /** This many speakers heated at once → one group signal. */
  groupSpeakers: number;
  /** No second signal for the same (chat, member) within this many seconds. */
  cooldownS: number;
  /** At most this many signals per chat per hour. */
  maxPerHour: number;
}

/**
 * Per-chat settings. On Discord the scope is the guild (settings are per server); on Telegram the
 * chat. Use `settingsScope()` from src/commands to pick the id.
 */
export interface ChatSettings {
  lang?: Lang;
  /** Groups: answer every voice note ('auto', default) or only when asked ('on_demand'). */
  replyMode: ReplyMode;
  /** Whether the one-time privacy notice was already posted here. */
  privacyNoticeShown: boolean;
  /** Overrides of the moderation defaults. */
  moderation: Partial<ModerationThresholds>;
  /** User ids of admins who asked to receive moderation alerts privately. */
  alertAdmins: string[];
  /** Discord: channel id where moderation alerts are posted. */
  logChannelId?: string;
  /** Discord continuous listening: analyse only members who opted in (default) or all but opted-out. */
  consentMode: ConsentMode;
}

export const DEFAULT_CHAT_SETTINGS: Readonly<ChatSettings> = Object.freeze({
  replyMode: 'auto',
  privacyNoticeShown: false,
  moderation: {},
  alertAdmins: [],
  consentMode: 'opt_in',
});

/** What forgetUser() removed. */
export interface ForgetReport {
  /** The user's own entries deleted. */
  entries: number;
  /** Copies of them removed from chat indexes (used by /mood). */
  chatEntries: number;
  /** Settings records deleted (0 or 1). */
  settings: number;
  /** Chats where the user was removed from the alert list. */
  alertSubscriptions: number;
  /** Present when the user's opt-out marker was kept (see optOutMarker). */
  keptOptOut?: true;
}

/** Everything stored about one person on one platform (/me export): what forgetUser would delete. */
export interface UserExport {
  platform: Platform;
  userId: string;
  settings: UserSettings;
  /** Chats/guilds whose moderation alerts this person receives. */
  alertSubscriptions: string[];
  /** All their history entries within retention, oldest first. */
  entries: HistoryEntry[];
}

export interface SettingsStore {
  getUserSettings(platform: Platform, userId: string): Promise<UserSettings>;
  /** Merges `patch` into the stored settings and returns the result. */
  setUserSettings(platform: Platform, userId: string, patch: Partial<UserSettings>): Promise<UserSettings>;
  /** Settings of a chat (Telegram) or guild (Discord); defaults when none are stored. */
  getChatSettings(platform: Platform, scopeId: string): Promise<ChatSettings>;
  setChatSettings(platform: Platform, scopeId: string, patch: Partial<ChatSettings>): Promise<ChatSettings>;
}

export interface HistoryStore extends SettingsStore {
  /** Days entries are kept (shown in the privacy notice). */
  readonly retentionDays: number;
  /**
   * Stores one entry durably; resolves only once it is committed (an acknowledged entry survives
   * kill -9). Concurrent appends never lose entries. Refuses ('forbidden') nothing: callers check
   * opt-out before analysing.
   */
  append(entry: NewHistoryEntry): Promise<HistoryEntry>;
  /** The user's entries (all chats of that platform), oldest first. */
  listUser(platform: Platform, userId: string, options?: ListOptions): Promise<HistoryEntry[]>;
  /** The chat's entries (all members), oldest first. */
  listChat(platform: Platform, chatId: string, options?: ListOptions): Promise<HistoryEntry[]>;
  /**
   * Deletes everything about the user on that platform: entries, index copies, settings, alert
   * subscriptions — except their opt-out marker (optOutMarker), which is kept.
   */
  forgetUser(platform: Platform, userId: string): Promise<ForgetReport>;
  /**
   * How many times forgetUser was called for this user in this process (starts at 0; bumped the
   * moment forgetUser is called). An analysis compares it before and after to drop its result when
   * a /forget came in between.
   */
  forgetEpoch(platform: Platform, userId: string): number;
  /** Everything stored about the user on that platform (/me export). */
  exportUser(platform: Platform, userId: string): Promise<UserExport>;
  /** Deletes entries older than the retention period; returns how many were removed. */
  prune(now?: number): Promise<number>;
  /** Waits for every pending write. */
  flush(): Promise<void>;
  /** flush() then release the backend. */
  close(): Promise<void>;
}
