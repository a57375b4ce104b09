/** Turns a moderation signal into an alert reply in the chat's language. */
import { EMOJI, EMOTION_LABELS, type Lang } from '../domain/emotions.ts';
import { formatPercent, t } from '../render/i18n.ts';
import { topShares } from '../usecases/summarise.ts';
import type { ModerationSignal } from '../domain/mood.ts';
import type { ChatSettings } from '../domain/history.ts';
import type { AlertReply } from './types.ts';

export function buildAlertReply(
  signal: ModerationSignal,
  settings: Pick<ChatSettings, 'alertAdmins' | 'logChannelId'>,
  lang: Lang,
  chatTitle?: string,
): AlertReply {
  const s = t(lang);
  const first = signal.members[0];
  const title =
    signal.kind === 'heated_group'
      ? s.alertTitleGroup(signal.members.length)
      : signal.kind === 'heated_speaker'
        ? s.alertTitleHeated(first?.name ?? '?')
        : s.alertTitleRepeated(first?.name ?? '?');
  const members = signal.members.map((m) => `• ${m.name}: ${formatPercent(m.negativeShare)} (${s.notes(m.count)})`);
  const scores = topShares(signal.scores, 4)
    .map((x) => `${EMOJI[x.emotion]} ${EMOTION_LABELS[lang][x.emotion]} ${formatPercent(x.share)}`)
    .join('  ');
  const text = [
    s.alertBody(chatTitle ?? signal.chatId, signal.count, signal.windowS, formatPercent(signal.negativeShare), s.trend[signal.trend]),
    ...members,
    scores,
  ].join('\n');
  return {
    kind: 'alert',
    signal,
    title,
    text,
    notifyUserIds: [...settings.alertAdmins],
    ...(settings.logChannelId ? { logChannelId: settings.logChannelId } : {}),
    lang,
  };
}
