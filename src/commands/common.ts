/** What every command shares: the language to answer in, the settings scope, error sentences. */
import { isVoicemoodError, toVoicemoodError } from '../errors.ts';
import type { Lang } from '../mood/emotions.ts';
import { t } from '../mood/i18n.ts';
import type { CommandContext, ErrorReply, Reply, Services } from './types.ts';

/** Settings live per guild on Discord (one server, many channels) and per chat on Telegram. */
export function settingsScope(ctx: Pick<CommandContext, 'chat'>): string {
  return ctx.chat.guildId ?? ctx.chat.id;
}

/** The user's /lang, else the chat's language setting, else what the platform reports. */
export async function resolveLang(ctx: CommandContext, s: Services): Promise<Lang> {
  const user = await s.settings.getUserSettings(ctx.platform, ctx.user.id);
  if (user.lang) return user.lang;
  if (ctx.chat.kind === 'group') {
    const chat = await s.settings.getChatSettings(ctx.platform, settingsScope(ctx));
    if (chat.lang) return chat.lang;
  }
  return ctx.lang;
}

/**
 * Any failure → a sentence in the user's language. English keeps the error's own sentence (it is
 * written for users and often more precise, e.g. which format was detected); Chinese uses the
 * translated sentence of the code.
 */
export function errorReply(e: unknown, lang: Lang): ErrorReply {
  const err = toVoicemoodError(e);
  const s = t(lang);
  const retry = err.retryAfterS !== undefined ? Math.max(1, Math.ceil(err.retryAfterS)) : undefined;
  let text: string;
  if (err.code === 'busy') text = s.busy(retry ?? 5);
  else if (err.code === 'rate_limited') text = s.rateLimited(retry ?? 5);
  else if (err.details.userFacing === true) text = err.message; // already in the user's language
  else if (err.code === 'internal') text = s.errors.internal; // never show internals
  else text = lang === 'en' ? err.message : s.errors[err.code];
  return { kind: 'error', code: err.code, text, ...(retry !== undefined ? { retryAfterS: retry } : {}) };
}

/** Runs a command body; any throw becomes an error reply (and a log line for unexpected ones). */
export async function safely(ctx: CommandContext, s: Services, body: (lang: Lang) => Promise<Reply[]>): Promise<Reply[]> {
  let lang = ctx.lang;
  try {
    lang = await resolveLang(ctx, s);
    return await body(lang);
  } catch (e) {
    if (!isVoicemoodError(e) || e.code === 'internal') s.logger.error({ err: e, platform: ctx.platform }, 'command failed');
    return [errorReply(e, lang)];
  }
}

export function text(textValue: string, monospace = false): Reply {
  return monospace ? { kind: 'text', text: textValue, monospace: true } : { kind: 'text', text: textValue };
}
