/** The few sentences only the Telegram adapter says (everything else comes from src/mood/i18n.ts). */
import type { Lang } from '../../domain/emotions.ts';

export const TELEGRAM_STRINGS = {
  en: {
    timelineButton: '📈 Timeline',
    timelineGone: 'This timeline is no longer available — send the voice note again.',
    timelineShown: 'Timeline added.',
    moodReplyHint: 'Reply /mood to a voice note to analyse it.',
    downloadFailed: 'I could not download this file from Telegram. Please try sending it again.',
  },
  zh: {
    timelineButton: '📈 时间线',
    timelineGone: '这条时间线已失效——请重新发送语音。',
    timelineShown: '已添加时间线。',
    moodReplyHint: '回复一条语音并发送 /mood 即可分析它。',
    downloadFailed: '我无法从 Telegram 下载这个文件，请重新发送。',
  },
} satisfies Record<Lang, Record<string, string>>;

export function telegramStrings(lang: Lang): (typeof TELEGRAM_STRINGS)['en'] {
  return TELEGRAM_STRINGS[lang];
}
