/**
 * A voice channel's utterances through the use cases every voice note goes through: consent
 * (mayAnalyse, per server), recording (recordAnalysis, source voice_channel), moderation
 * (moderate: the server's rules over the channel's recent history, then the gate), forgetting
 * (the forget epoch). The session (session.ts) analyses each utterance with analyseUtterance.
 * Never audio: alerts carry names, shares, window, trend and scores.
 */
import { buildAlertReply } from '../../../commands/alert.ts';
import type { AlertReply } from '../../../commands/types.ts';
import { mayAnalyse } from '../../../usecases/consent.ts';
import { moderate } from '../../../usecases/moderate.ts';
import type { Services } from '../../../usecases/ports.ts';
import { recordAnalysis } from '../../../usecases/record.ts';
import type { VoiceSessionOptions } from './session.ts';
import type { VoiceScope } from './summary.ts';

export interface ChannelUseCaseOptions {
  guildId: string;
  /** The channel listened to now (it changes when the bot is moved). */
  scope(): VoiceScope;
  /** Moderation runs during continuous listening only (not during a one-off /mood). */
  moderating(): boolean;
  /** Posts an admitted alert to the server's log channel. */
  postAlert(alert: AlertReply & { logChannelId: string }): Promise<void>;
}

export function channelUseCases(s: Services, o: ChannelUseCaseOptions): Required<Pick<VoiceSessionOptions, 'mayAnalyse' | 'forgetEpoch' | 'onResult'>> {
  return {
    mayAnalyse: (userId) => mayAnalyse(s.settings, { platform: 'discord', userId, guildId: o.guildId }, 'voice_channel'),
    forgetEpoch: (userId) => s.history.forgetEpoch('discord', userId),
    onResult: async (speaker, record) => {
      const scope = o.scope();
      await recordAnalysis(
        s,
        {
          at: record.at,
          platform: 'discord',
          user: { id: speaker.userId, name: speaker.name },
          chatId: scope.channelId,
          guildId: o.guildId,
          source: 'voice_channel',
          analysis: record,
        },
        speaker.forgetEpoch,
      );
      if (!o.moderating()) return;
      const { settings, signals } = await moderate(s, {
        platform: 'discord',
        chatId: scope.channelId,
        guildId: o.guildId,
        settingsScope: o.guildId,
        memberId: speaker.userId,
        now: s.clock(),
      });
      for (const signal of signals) {
        const alert = buildAlertReply(signal, settings, settings.lang ?? 'en', `#${scope.channelName}`);
        if (alert.logChannelId) await o.postAlert({ ...alert, logChannelId: alert.logChannelId });
      }
    },
  };
}
