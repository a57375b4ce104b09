/**
 * A person's privacy choices, read from their UserSettings (pure; no I/O).
 *
 * Rules: a global 'out' (/privacy out in a private chat, or on Telegram anywhere) stops every
 * analysis of that person on that platform. On Discord, /privacy in|out in a server applies to
 * that server only (privacyByGuild): a server's 'out' stops everything there, and listening in a
 * server's voice channels (consent mode opt_in) needs that server's 'in'. A global 'in' stored
 * before consent became per server is NOT consent on any server (the person must say so again
 * in each server). Opt-outs survive /forget (optOutMarker).
 */
import type { UserSettings } from '../domain/history.ts';

/** Whether the person refused analysis here (`guildId`: the Discord server; absent elsewhere). */
export function isOptedOut(settings: UserSettings, guildId?: string): boolean {
  if (settings.privacy === 'out') return true;
  return guildId !== undefined && settings.privacyByGuild?.[guildId] === 'out';
}

/** Whether the person explicitly consented to being analysed in this Discord server. */
export function consentsInGuild(settings: UserSettings, guildId: string): boolean {
  return !isOptedOut(settings, guildId) && settings.privacyByGuild?.[guildId] === 'in';
}

/** What forgetUser keeps of a person's settings: only their opt-outs (so /forget never switches analysis back on). */
export function optOutMarker(settings: UserSettings | undefined): UserSettings | undefined {
  if (!settings) return undefined;
  const marker: UserSettings = {};
  if (settings.privacy === 'out') marker.privacy = 'out';
  const outs = Object.entries(settings.privacyByGuild ?? {}).filter(([, v]) => v === 'out');
  if (outs.length > 0) marker.privacyByGuild = Object.fromEntries(outs);
  return Object.keys(marker).length > 0 ? marker : undefined;
}
