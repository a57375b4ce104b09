/** /settings and /alerts: per chat (Telegram) or per guild (Discord), admins only. */
import { t } from '../render/i18n.ts';
import { MODERATION_BOUNDS, resolveThresholds } from '../domain/moderation.ts';
import type { ChatSettings, ModerationThresholds } from '../domain/history.ts';
import { requireAdmin } from './account.ts';
import { safely, settingsScope, text } from './common.ts';
import type { CommandContext, Reply } from './types.ts';
import type { Services } from '../usecases/ports.ts';

/** /settings names → moderation threshold fields. */
const THRESHOLD_NAMES: Readonly<Record<string, keyof ModerationThresholds>> = {
  repeat_count: 'repeatCount',
  repeat_window: 'repeatWindowS',
  heated_share: 'heatedShare',
  heated_window: 'heatedWindowS',
  heated_min_speech: 'heatedMinSpeechS',
  group_speakers: 'groupSpeakers',
  cooldown: 'cooldownS',
  max_per_hour: 'maxPerHour',
};

/** The settings that are not moderation thresholds, parsed one by one in parseSetting. */
const GENERAL_SETTING_NAMES = ['reply', 'lang', 'consent', 'logchannel'] as const;

/** Every `/settings <name>`, in the order /settings shows them (the Discord choices come from here). */
export const SETTING_NAMES: readonly string[] = [...GENERAL_SETTING_NAMES, ...Object.keys(THRESHOLD_NAMES)];

/** Parses one `/settings <name> <value>`; undefined when the name or value is not valid. */
export function parseSetting(name: string, value: string, current: ChatSettings): Partial<ChatSettings> | undefined {
  const v = value.trim();
  switch (name) {
    case 'reply':
      return v === 'auto' || v === 'on_demand' ? { replyMode: v } : undefined;
    case 'lang':
      return v === 'en' || v === 'zh' ? { lang: v } : undefined;
    case 'consent':
      return v === 'opt_in' || v === 'opt_out' ? { consentMode: v } : undefined;
    case 'logchannel':
      if (v === 'off') return { logChannelId: undefined };
      return /^[0-9]{5,25}$/.test(v) || /^<#([0-9]{5,25})>$/.test(v) ? { logChannelId: v.replace(/[<#>]/g, '') } : undefined;
  }
  const field = THRESHOLD_NAMES[name];
  if (!field) return undefined;
  const n = Number(v);
  const b = MODERATION_BOUNDS[field];
  if (!Number.isFinite(n) || n < b.min || n > b.max || (b.integer && !Number.isInteger(n))) return undefined;
  return { moderation: { ...current.moderation, [field]: n } };
}

export function renderSettings(settings: ChatSettings): string {
  const th = resolveThresholds(settings.moderation);
  const lines = [
    `reply        ${settings.replyMode}`,
    `lang         ${settings.lang ?? '-'}`,
    `consent      ${settings.consentMode}`,
    `logchannel   ${settings.logChannelId ?? 'off'}`,
    `alerts to    ${settings.alertAdmins.length}`,
  ];
  for (const [name, field] of Object.entries(THRESHOLD_NAMES)) lines.push(`${name.padEnd(18)} ${th[field]}`);
  return lines.join('\n');
}

export function handleSettings(ctx: CommandContext, s: Services, args: string[] = []): Promise<Reply[]> {
  return safely(ctx, s, async (lang) => {
    const strings = t(lang);
    if (ctx.chat.kind !== 'group') return [text(strings.settingsPrivate)];
    await requireAdmin(ctx, lang);
    const scope = settingsScope(ctx);
    const current = await s.settings.getChatSettings(ctx.platform, scope);
    const [rawName, ...rest] = args;
    if (!rawName) return [text(`${strings.settingsShow}\n\n${renderSettings(current)}\n\n${strings.settingsUsage}`, true)];
    const name = rawName.toLowerCase();
    const value = rest.join(' ');
    const patch = parseSetting(name, value, current);
    if (!patch) return [{ kind: 'error', code: 'bad_input', text: strings.settingsBad(name) }];
    // Alerts must never go into another server: the log channel has to be one of this server's.
    if (patch.logChannelId && ctx.channelInServer && !(await ctx.channelInServer(patch.logChannelId))) {
      return [{ kind: 'error', code: 'bad_input', text: strings.settingsLogChannelForeign }];
    }
    const next = await s.settings.setChatSettings(ctx.platform, scope, patch);
    const newLang = name === 'lang' && next.lang ? next.lang : lang;
    return [text(t(newLang).settingsSaved(name, value.trim() || '-'))];
  });
}

export function handleAlerts(ctx: CommandContext, s: Services, arg?: string): Promise<Reply[]> {
  return safely(ctx, s, async (lang) => {
    const strings = t(lang);
    if (ctx.chat.kind !== 'group') return [text(strings.settingsPrivate)];
    const want = arg?.trim().toLowerCase();
    if (want !== 'on' && want !== 'off') return [text(strings.alertsUsage)];
    await requireAdmin(ctx, lang);
    // Alerts go to the admin privately: an anonymous admin has no account to write to.
    if (want === 'on' && ctx.user.anonymous) return [text(strings.alertsAnonymous)];
    const scope = settingsScope(ctx);
    const current = await s.settings.getChatSettings(ctx.platform, scope);
    const others = current.alertAdmins.filter((id) => id !== ctx.user.id);
    await s.settings.setChatSettings(ctx.platform, scope, { alertAdmins: want === 'on' ? [...others, ctx.user.id] : others });
    return [text(want === 'on' ? strings.alertsOn : strings.alertsOff)];
  });
}
