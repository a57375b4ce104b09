/** The user's own data and preferences: /forget, /lang, /privacy, /help, /start. */
import { isVoicemoodError, VoicemoodError } from '../errors.ts';
import { LANGS, type Lang } from '../mood/emotions.ts';
import { t } from '../mood/i18n.ts';
import { safely, text } from './common.ts';
import type { CommandContext, Reply, Services } from './types.ts';

export function handleForget(ctx: CommandContext, s: Services): Promise<Reply[]> {
  return safely(ctx, s, async (lang) => {
    const r = await s.history.forgetUser(ctx.platform, ctx.user.id);
    const strings = t(lang);
    if (r.entries + r.chatEntries + r.settings + r.alertSubscriptions === 0) return [text(strings.forgetNothing)];
    return [text(strings.forgetDone(r.entries, r.chatEntries, r.settings))];
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

export function handlePrivacy(ctx: CommandContext, s: Services, arg?: string): Promise<Reply[]> {
  return safely(ctx, s, async (lang) => {
    const strings = t(lang);
    const want = arg?.trim().toLowerCase();
    if (want === 'out' || want === 'off') {
      await s.settings.setUserSettings(ctx.platform, ctx.user.id, { privacy: 'out' });
      return [text(strings.privacyOut)];
    }
    if (want === 'in' || want === 'on') {
      await s.settings.setUserSettings(ctx.platform, ctx.user.id, { privacy: 'in' });
      return [text(strings.privacyIn)];
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
