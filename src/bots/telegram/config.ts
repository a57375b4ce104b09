/** Telegram settings from the environment (see the README, "Telegram bot"). */
import { numberFromEnv, readSecret, type Env } from '../../util/config.ts';
import { VoicemoodError } from '../../domain/errors.ts';

export interface TelegramBotOptions {
  token: string;
  /** Another Bot API server (a local one, or a test server). Default: https://api.telegram.org */
  apiRoot?: string;
  /** Read getFile's absolute paths from local disk even for a non-loopback apiRoot (TELEGRAM_LOCAL_FILES=1). */
  localFiles?: boolean;
}

export interface TelegramStartOptions extends TelegramBotOptions {
  /** Public HTTPS URL Telegram posts updates to; unset = long polling. */
  webhookUrl?: string;
  /** Checked against X-Telegram-Bot-Api-Secret-Token on every webhook request. */
  webhookSecret?: string;
  /** Port of the webhook server (default 8080). */
  port?: number;
  /** Host the webhook server binds (default 0.0.0.0). */
  host?: string;
}

/** undefined when no token is set (the bot is then not started). */
export function telegramOptionsFromEnv(env: Env): TelegramStartOptions | undefined {
  const token = readSecret(env, 'TELEGRAM_BOT_TOKEN');
  if (!token) return undefined;
  if (!/^\d+:[\w-]+$/.test(token)) {
    throw new VoicemoodError('bad_input', 'TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then letters); copy it again from @BotFather.');
  }
  const webhookSecret = readSecret(env, 'TELEGRAM_WEBHOOK_SECRET');
  if (webhookSecret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(webhookSecret)) {
    throw new VoicemoodError('bad_input', 'TELEGRAM_WEBHOOK_SECRET may only hold 1–256 characters A-Z, a-z, 0-9, _ and -.');
  }
  const webhookUrl = env.TELEGRAM_WEBHOOK_URL?.trim() || undefined;
  if (webhookUrl !== undefined && !URL.canParse(webhookUrl)) throw new VoicemoodError('bad_input', `TELEGRAM_WEBHOOK_URL=${webhookUrl} is not a URL.`);
  const apiRoot = env.TELEGRAM_API_ROOT?.trim() || undefined;
  if (apiRoot !== undefined && !URL.canParse(apiRoot)) throw new VoicemoodError('bad_input', `TELEGRAM_API_ROOT=${apiRoot} is not a URL.`);
  const localFiles = env.TELEGRAM_LOCAL_FILES?.trim() || undefined;
  if (localFiles !== undefined && localFiles !== '0' && localFiles !== '1')
    throw new VoicemoodError('bad_input', `TELEGRAM_LOCAL_FILES=${localFiles} must be 1 (read a local Bot API server's files from disk) or 0.`);
  return {
    token,
    ...(apiRoot ? { apiRoot } : {}),
    ...(localFiles === '1' ? { localFiles: true } : {}),
    ...(webhookUrl ? { webhookUrl, port: numberFromEnv(env, 'PORT', 8080, { min: 1, max: 65535 }) } : {}),
    ...(webhookSecret ? { webhookSecret } : {}),
  };
}
