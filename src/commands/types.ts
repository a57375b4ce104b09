/**
 * The platform-neutral command layer. An adapter (Telegram, Discord) maps an update to a
 * CommandContext, calls a command from src/commands with the shared Services, and renders the
 * structured Replies it gets back (text, card, summary with a PNG, error sentence, alert).
 * Commands never talk to a platform API themselves.
 */
import type { Clock, Services } from '../usecases/ports.ts';
import type { ErrorCode } from '../domain/errors.ts';
import type { Lang } from '../domain/emotions.ts';
import type { Platform } from '../domain/platform.ts';
import type { MoodCard, MoodSummary, ModerationSignal, Timeline } from '../domain/mood.ts';

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
