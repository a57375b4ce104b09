/**
 * Whose voice may be analysed: the one consent rule of voice notes and voice-channel utterances.
 *
 * A person's own "out" (everywhere on the platform, or in this Discord server) always wins; it
 * survives /forget (src/history/privacy.ts: optOutMarker). A voice note or file is analysed unless
 * its owner opted out. A voice-channel utterance needs more, because nobody sent it on purpose:
 * the server's consent mode decides — opt_in (default) = only members who said "in" in THIS
 * server, opt_out = everyone who did not say "out". Consent is per server: an "in" given in another
 * server, or a global "in" stored before consent was per server, does not count here.
 */
import type { EntrySource, SettingsStore } from '../domain/history.ts';
import type { Platform } from '../domain/platform.ts';
import { consentsInGuild, isOptedOut } from '../history/privacy.ts';

/** The person whose voice it is, and where (guildId: the Discord server, absent elsewhere). */
export interface VoiceOwner {
  platform: Platform;
  userId: string;
  guildId?: string;
}

export async function mayAnalyse(settings: SettingsStore, owner: VoiceOwner, source: EntrySource): Promise<boolean> {
  if (source === 'voice_note') return !isOptedOut(await settings.getUserSettings(owner.platform, owner.userId), owner.guildId);
  const guildId = owner.guildId;
  if (guildId === undefined) return false; // a voice channel always belongs to a server
  const [user, guild] = await Promise.all([settings.getUserSettings(owner.platform, owner.userId), settings.getChatSettings(owner.platform, guildId)]);
  if (isOptedOut(user, guildId)) return false;
  return guild.consentMode === 'opt_out' || consentsInGuild(user, guildId);
}
