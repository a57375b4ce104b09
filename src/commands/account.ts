/** The user's own data and preferences: /forget, /lang, /privacy, /help, /start. */
import { isVoicemoodError, VoicemoodError } from '../domain/errors.ts';
import { LANGS, type Lang } from '../domain/emotions.ts';
import { t } from '../render/i18n.ts';
import { forget } from '../usecases/forget.ts';
import { safely, text } from './common.ts';
import type { CommandContext, Reply } from './types.ts';
import type { Services } from '../usecases/ports.ts';

export function handleForget(ctx: CommandContext, s: Services): Promise<Reply[]> {
  return safely(ctx, s, async (lang) => {
    const r = await forget(s.history, ctx.platform, ctx.user.id);
    const strings = t(lang);
    const kept = r.keptOptOut ? ` ${strings.forgetKeptOptOut}` : '';
    if (r.entries + r.chatEntries + r.settings + r.alertSubscriptions === 0) return [text(strings.forgetNothing + kept)];
    return [text(strings.forgetDone(r.entries, r.chatEntries, r.settings) + kept)];
  });
}

export function handleLang(ctx: CommandContext, s: Services, arg?: string): Promise<Reply[]> {
  return safely(ctx, s, async (lang) => {
    const want = arg?.trim().toLowerCase();
    if (!want || !LANGS.includes(want as Lang)) return [text(t(lang).langUsage)];
    await s.settings.setUserSettings(ctx.platform, ctx.user.id, { lang: want as Lang });
    return [text(t(want as Lang).langSet)];
  });
}

/**
 * /privacy. On Discord in a server the choice is for that server only (and the reply names it); in
 * a private chat (and on Telegram) it is global. Rules: src/history/privacy.ts.
 */
export function handlePrivacy(ctx: CommandContext, s: Services, arg?: string): Promise<Reply[]> {
  return safely(ctx, s, async (lang) => {
    const strings = t(lang);
    const want = arg?.trim().toLowerCase();
    const guildId = ctx.chat.guildId;
    if (guildId !== undefined) {
      const server = ctx.chat.guildName ?? guildId;
      if (want === 'out' || want === 'off' || want === 'in' || want === 'on') {
        const choice = want === 'out' || want === 'off' ? 'out' : 'in';
        const next = await s.settings.setUserSettings(ctx.platform, ctx.user.id, { privacyByGuild: { [guildId]: choice } });
        if (choice === 'out') return [text(strings.privacyOutGuild(server))];
        return [text(strings.privacyInGuild(server) + (next.privacy === 'out' ? `\n${strings.privacyGlobalOutNote}` : ''))];
      }
      const current = await s.settings.getUserSettings(ctx.platform, ctx.user.id);
      const state = current.privacy === 'out' ? 'out' : (current.privacyByGuild?.[guildId] ?? 'default');
      return [text(strings.privacyStatusGuild(server, strings.privacyGuildStates[state]))];
    }
    if (want === 'out' || want === 'off') {
      await s.settings.setUserSettings(ctx.platform, ctx.user.id, { privacy: 'out' });
      return [text(strings.privacyOut)];
    }
    if (want === 'in' || want === 'on') {
      await s.settings.setUserSettings(ctx.platform, ctx.user.id, { privacy: 'in' });
      // On Discord a private "in" only lifts the global opt-out: listening needs each server's own "in".
      return [text(ctx.platform === 'discord' ? strings.privacyInDm : strings.privacyIn)];
    }
    const current = (await s.settings.getUserSettings(ctx.platform, ctx.user.id)).privacy;
    return [text(strings.privacyStatus(strings.privacyStates[current ?? 'default']))];
  });
}

export function handleHelp(ctx: CommandContext, s: Services): Promise<Reply[]> {
  return safely(ctx, s, async (lang) => [text(t(lang).help)]);
}

export function handleStart(ctx: CommandContext, s: Services): Promise<Reply[]> {
  return safely(ctx, s, async (lang) => [text(t(lang).start), text(t(lang).privacyNotice.replace('{days}', String(s.history.retentionDays)))]);
}

/** Refuses with the admin-only sentence unless the user administers the chat/guild. */
export async function requireAdmin(ctx: CommandContext, lang: Lang): Promise<void> {
  let admin = false;
  try {
    admin = await ctx.isAdmin();
  } catch (e) {
    if (!isVoicemoodError(e)) admin = false;
  }
  if (!admin) throw new VoicemoodError('forbidden', t(lang).settingsAdminOnly, { details: { userFacing: true } });
}
