/**
 * Who may be analysed in a voice channel. A member's own "out" always wins; otherwise the
 * server's consent mode decides: opt_in (default) = only members who said "in", opt_out = everyone
 * who did not say "out". Asked before a member is subscribed, so a "no" means their packets are
 * never received, decoded or kept.
 */
import type { SettingsStore } from '../../../history/types.ts';

export async function mayAnalyseVoice(settings: SettingsStore, guildId: string, userId: string): Promise<boolean> {
  const [user, guild] = await Promise.all([settings.getUserSettings('discord', userId), settings.getChatSettings('discord', guildId)]);
  if (user.privacy === 'out') return false;
  return guild.consentMode === 'opt_out' || user.privacy === 'in';
}
