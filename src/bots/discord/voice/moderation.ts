/**
 * Moderation during continuous listening: after each analysed utterance, the Discord rules of
 * src/mood/moderation.ts (heated speaker / heated group over a rolling window) run on the
 * session's live state; what the gate admits becomes an alert for the guild's log channel.
 * Never audio: the alert carries names, shares, window, trend and scores.
 */
import { buildAlertReply } from '../../../commands/alert.ts';
import type { AlertReply, Services } from '../../../commands/types.ts';
import { checkHeated, resolveThresholds } from '../../../usecases/moderate.ts';
import type { ChannelMood } from './channelMood.ts';
import { moderationItems, type VoiceScope } from './summary.ts';

export async function voiceAlerts(mood: ChannelMood, scope: VoiceScope, s: Pick<Services, 'settings' | 'moderation'>, now: number): Promise<AlertReply[]> {
  const settings = await s.settings.getChatSettings('discord', scope.guildId);
  // Without a log channel there is nobody to tell: do not spend the cooldown.
  if (!settings.logChannelId) return [];
  const th = resolveThresholds(settings.moderation);
  // The window ends at the later of now and the last utterance's end: utterance times come from
  // the receive stream (start + offset), which can run a little ahead of the wall clock.
  const candidates = moderationItems(mood, now - th.heatedWindowS * 1000, now + 60_000);
  const end = Math.max(now, ...candidates.map((i) => i.at));
  const items = candidates.filter((i) => i.at >= end - th.heatedWindowS * 1000);
  const signals = checkHeated(items, { platform: 'discord', chatId: scope.channelId, guildId: scope.guildId }, end, th);
  const out: AlertReply[] = [];
  for (const signal of signals) {
    if (!(await s.moderation.admit(signal, { cooldownS: th.cooldownS, maxPerHour: th.maxPerHour }))) continue;
    out.push(buildAlertReply(signal, settings, settings.lang ?? 'en', `#${scope.channelName}`));
  }
  return out;
}
