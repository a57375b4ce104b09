/** What every command shares: the language to answer in, the settings scope, error sentences. */
import { isVoicemoodError, toVoicemoodError, type ErrorCode } from '../domain/errors.ts';
import type { Lang } from '../domain/emotions.ts';
import { t } from '../render/i18n.ts';
import type { CommandContext, ErrorReply, Reply } from './types.ts';
import type { Services } from '../usecases/ports.ts';

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

/** Codes whose English message talks about the user's own input and may be shown as it is. */
const USER_CAUSED: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'bad_input',
  'too_large',
  'too_long',
  'too_short',
  'silent',
  'undecodable',
  'timeout',
  'forbidden',
  'not_found',
  'busy',
  'rate_limited',
]);

/** Whether a failure is the user's (bad file, limits) rather than the operator's (model, bugs). */
export function isUserCaused(e: unknown): boolean {
  return isVoicemoodError(e) && USER_CAUSED.has(e.code);
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
  else if (err.details.userFacing === true)
    text = err.message; // already in the user's language
  else if (lang === 'en' && USER_CAUSED.has(err.code)) text = err.message;
  else text = s.errors[err.code]; // operator-side failures: never show paths or internals
  return { kind: 'error', code: err.code, text, ...(retry !== undefined ? { retryAfterS: retry } : {}) };
}

/** Runs a command body; any throw becomes an error reply (and a log line for unexpected ones). */
export async function safely(ctx: CommandContext, s: Services, body: (lang: Lang) => Promise<Reply[]>): Promise<Reply[]> {
  let lang = ctx.lang;
  try {
    lang = await resolveLang(ctx, s);
    return await body(lang);
  } catch (e) {
    if (!isUserCaused(e)) s.logger.error({ err: e, platform: ctx.platform }, 'command failed');
    return [errorReply(e, lang)];
  }
}

export function text(textValue: string, monospace = false): Reply {
  return monospace ? { kind: 'text', text: textValue, monospace: true } : { kind: 'text', text: textValue };
}
