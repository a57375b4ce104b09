/**
 * Who may be analysed in a voice channel. A member's own "out" (everywhere, or in this server)
 * always wins; otherwise the server's consent mode decides: opt_in (default) = only members who
 * said "in" in THIS server, opt_out = everyone who did not say "out". Consent is per server: a
 * "/privacy in" given in another server, or a global "in" stored before consent was per server,
 * does not count here (src/history/privacy.ts). Asked before a member is subscribed, so a "no"
 * means their packets are never received, decoded or kept.
 */
import { consentsInGuild, isOptedOut } from '../../../history/privacy.ts';
import type { SettingsStore } from '../../../domain/history.ts';

export async function mayAnalyseVoice(settings: SettingsStore, guildId: string, userId: string): Promise<boolean> {
  const [user, guild] = await Promise.all([settings.getUserSettings('discord', userId), settings.getChatSettings('discord', guildId)]);
  if (isOptedOut(user, guildId)) return false;
  return guild.consentMode === 'opt_out' || consentsInGuild(user, guildId);
}
