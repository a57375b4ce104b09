/**
 * The command menu shown by Telegram clients, registered with setMyCommands in English (default)
 * and Chinese (language_code "zh").
 */
import type { BotCommand } from 'grammy/types';
import type { Lang } from '../../domain/emotions.ts';

export const COMMAND_MENU: Readonly<Record<Lang, readonly BotCommand[]>> = {
  en: [
    { command: 'start', description: 'What this bot does' },
    { command: 'help', description: 'How to use voicemood' },
    { command: 'me', description: 'Your recent moods and trend (/me export: all your data as a file)' },
    { command: 'mood', description: 'Group mood of the last 24 h (reply to a voice note: analyse it)' },
    { command: 'forget', description: 'Delete everything stored about you' },
    { command: 'lang', description: 'Language: /lang en or /lang zh' },
    { command: 'privacy', description: 'Voice analysis for you: /privacy in or /privacy out' },
    { command: 'settings', description: 'Group admins: auto-reply or on demand' },
    { command: 'alerts', description: 'Group admins: private moderation alerts on/off' },
  ],
  zh: [
    { command: 'start', description: '这个机器人能做什么' },
    { command: 'help', description: '使用说明' },
    { command: 'me', description: '你最近的情绪和趋势（/me export：以文件导出你的全部数据）' },
    { command: 'mood', description: '群组最近 24 小时的情绪（回复语音消息：分析它）' },
    { command: 'forget', description: '删除关于你的全部记录' },
    { command: 'lang', description: '语言：/lang en 或 /lang zh' },
    { command: 'privacy', description: '语音分析：/privacy in 或 /privacy out' },
    { command: 'settings', description: '群管理员：自动回复或按需回复' },
    { command: 'alerts', description: '群管理员：私信接收情绪预警（开/关）' },
  ],
};
