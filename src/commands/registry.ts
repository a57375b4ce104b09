/**
 * The one list of user commands: name, descriptions (en + zh), options, where each is offered and
 * which platform-neutral command serves it. Data only. The Discord slash commands
 * (src/bots/discord/slashCommands.ts) and the Telegram menus (src/bots/telegram/commandMenu.ts) are
 * generated from it; test/commands/registry.test.ts checks both against it.
 *
 * Adding a command: one entry here plus its handler (and, on Discord, its file under
 * src/bots/discord/commands/). Telegram routes every entry with `telegram` to its handler by
 * itself (src/bots/telegram/composers/commands.ts), unless it needs Telegram's own behaviour.
 */
import type { Lang } from '../domain/emotions.ts';
import { handleForget, handleHelp, handleLang, handlePrivacy, handleStart } from './account.ts';
import { handleMe } from './me.ts';
import { handleMood } from './mood.ts';
import { handleAlerts, handleSettings, SETTING_NAMES } from './settings.ts';
import type { Command } from './types.ts';
import { handleVoice } from './voice.ts';

/** A text in every language of the bot. */
export type Localized = Readonly<Record<Lang, string>>;

/** An option's description: Chinese where it has been translated (Discord falls back to English). */
export type OptionText = Readonly<{ en: string; zh?: string }>;

interface OptionBase {
  name: string;
  description: OptionText;
  required?: boolean;
}

export type CommandOption =
  | (OptionBase & { type: 'string'; choices?: readonly string[] })
  | (OptionBase & { type: 'integer'; min?: number; max?: number })
  | (OptionBase & { type: 'boolean' })
  | (OptionBase & { type: 'attachment' })
  /** A text channel of the server. */
  | (OptionBase & { type: 'channel' })
  /** A sub-command (Discord); its own options are not needed yet. */
  | (OptionBase & { type: 'subcommand' });

export interface CommandEntry {
  name: string;
  /** What the command does (the Discord description; Telegram's too unless `telegram.description`). */
  description: Localized;
  options?: readonly CommandOption[];
  /**
   * The platform-neutral command that serves it; absent for commands that only steer an adapter
   * (/listen joins a Discord voice channel).
   */
  // The commands take different extra arguments; each adapter calls its command with them.
  handler?: Command<never[]>;
  /** A Discord slash command. Absent: not on Discord. */
  discord?: {
    /** Offered in servers only (contexts [Guild]); otherwise wherever Discord's default puts it. */
    guildOnly?: boolean;
    /** Hidden from members without this permission unless a server says otherwise. */
    defaultMemberPermissions?: 'manageGuild';
  };
  /**
   * In the Telegram command menu (default scope, so private chats and groups alike, en + zh).
   * Absent: not in the menu. `description` replaces the shared one there (Telegram's menu shows the
   * arguments a command takes, since it has no option fields).
   */
  telegram?: {
    description?: Localized;
    /**
     * How the text after the command reaches the handler: nothing (default), the whole text
     * (`text`, undefined when empty) or its words (`words`).
     */
    args?: 'text' | 'words';
  };
}

/** /mood on Discord: minutes to look back in a channel already listened to. */
export const MOOD_DEFAULT_WINDOW_MIN = 5;
/** /mood on Discord: seconds to listen when not listening yet, and their maximum. */
export const MOOD_DEFAULT_LISTEN_S = 30;
export const MOOD_MAX_LISTEN_S = 300;

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'start',
    description: { en: 'What this bot does', zh: '这个机器人能做什么' },
    handler: handleStart,
    telegram: {},
  },
  {
    name: 'help',
    description: { en: 'How to use voicemood', zh: '使用说明' },
    handler: handleHelp,
    telegram: {},
  },
  {
    name: 'analyze',
    description: { en: 'Tell how a voice message or audio file sounds', zh: '分析语音消息或音频文件的情绪' },
    options: [{ name: 'audio', type: 'attachment', required: true, description: { en: 'Voice message or audio file', zh: '语音消息或音频文件' } }],
    handler: handleVoice,
    discord: {},
  },
  {
    name: 'me',
    description: { en: 'Your recent moods and trend', zh: '你最近的情绪和趋势' },
    options: [
      {
        name: 'export',
        type: 'boolean',
        description: { en: 'Send me a file of everything stored about me (only I see it)', zh: '以文件发送关于我的全部数据（仅我可见）' },
      },
    ],
    handler: handleMe,
    discord: {},
    telegram: {
      description: { en: 'Your recent moods and trend (/me export: all your data as a file)', zh: '你最近的情绪和趋势（/me export：以文件导出你的全部数据）' },
    },
  },
  {
    name: 'mood',
    description: { en: "The mood of your voice channel (or of this channel's voice messages)", zh: '你所在语音频道的情绪（或本频道语音消息的情绪）' },
    options: [
      {
        name: 'window',
        type: 'integer',
        min: 1,
        max: 60,
        description: { en: `Minutes to look back when I am already listening (default ${MOOD_DEFAULT_WINDOW_MIN})` },
      },
      {
        name: 'duration',
        type: 'integer',
        min: 5,
        max: MOOD_MAX_LISTEN_S,
        description: { en: `Seconds to listen when I am not listening yet (default ${MOOD_DEFAULT_LISTEN_S}, max ${MOOD_MAX_LISTEN_S})` },
      },
    ],
    handler: handleMood,
    discord: {},
    telegram: { description: { en: 'Group mood of the last 24 h (reply to a voice note: analyse it)', zh: '群组最近 24 小时的情绪（回复语音消息：分析它）' } },
  },
  {
    name: 'listen',
    description: { en: 'Continuous listening in your voice channel (moderation signals)', zh: '在你的语音频道持续收听（审核提醒）' },
    options: [
      { name: 'start', type: 'subcommand', description: { en: 'Start listening in your voice channel', zh: '开始在你的语音频道收听' } },
      { name: 'stop', type: 'subcommand', description: { en: 'Stop listening', zh: '停止收听' } },
    ],
    // Server-only: a global command is offered in DMs too unless its contexts say otherwise.
    discord: { guildOnly: true, defaultMemberPermissions: 'manageGuild' },
  },
  {
    name: 'forget',
    description: { en: 'Delete everything I stored about you', zh: '删除我保存的关于你的一切' },
    handler: handleForget,
    discord: {},
    telegram: { description: { en: 'Delete everything stored about you', zh: '删除关于你的全部记录' } },
  },
  {
    name: 'lang',
    description: { en: 'Language: /lang en or /lang zh', zh: '语言：/lang en 或 /lang zh' },
    handler: handleLang,
    telegram: { args: 'text' },
  },
  {
    name: 'privacy',
    description: { en: 'Allow or stop the analysis of your voice', zh: '允许或停止分析你的语音' },
    options: [{ name: 'choice', type: 'string', choices: ['in', 'out'], description: { en: 'in = analyse me, out = never analyse me' } }],
    handler: handlePrivacy,
    discord: {},
    telegram: { description: { en: 'Voice analysis for you: /privacy in or /privacy out', zh: '语音分析：/privacy in 或 /privacy out' }, args: 'text' },
  },
  {
    name: 'settings',
    description: {
      en: 'Server settings: log channel, thresholds, language, consent mode (Manage Server)',
      zh: '服务器设置：日志频道、阈值、语言、同意模式（管理服务器）',
    },
    options: [
      { name: 'name', type: 'string', choices: SETTING_NAMES, description: { en: 'Setting to change (empty: show all)' } },
      { name: 'value', type: 'string', description: { en: 'New value' } },
      { name: 'channel', type: 'channel', description: { en: 'For logchannel: where alerts go' } },
    ],
    handler: handleSettings,
    discord: { guildOnly: true, defaultMemberPermissions: 'manageGuild' },
    telegram: { description: { en: 'Group admins: auto-reply or on demand', zh: '群管理员：自动回复或按需回复' }, args: 'words' },
  },
  {
    name: 'alerts',
    description: { en: 'Group admins: private moderation alerts on/off', zh: '群管理员：私信接收情绪预警（开/关）' },
    handler: handleAlerts,
    telegram: { args: 'text' },
  },
];

/** The registry entry of a command; throws for a name that is not in it (a programming error). */
export function commandEntry(name: string, registry: readonly CommandEntry[] = COMMANDS): CommandEntry {
  const entry = registry.find((c) => c.name === name);
  if (!entry) throw new Error(`no command ${JSON.stringify(name)} in the registry`);
  return entry;
}
