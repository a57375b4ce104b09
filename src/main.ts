/**
 * `npm start`: starts every bot whose token is set (Telegram: TELEGRAM_BOT_TOKEN, Discord:
 * DISCORD_TOKEN, or their _FILE variants) and the web app (page, REST API, /healthz, /metrics on
 * PORT; VOICEMOOD_WEB=off turns it off) on one shared set of services (engine, history, limits),
 * says on stderr what started and why the rest did not, and shuts down cleanly on SIGINT/SIGTERM:
 * stop taking requests and updates, finish the analyses in flight, flush history, exit 0.
 * With no token set, the web app alone runs; with tokens set, bots that cannot start still stop
 * the process (a configuration to fix), even if the web app could run.
 */
import { readSecret, type Env } from './config.ts';
import { isVoicemoodError } from './errors.ts';
import { createServices, type AppServices } from './services.ts';
import { createLogger, redact, type Logger } from './util/log.ts';
import type { Services } from './commands/types.ts';
import { telegramOptionsFromEnv } from './bots/telegram/config.ts';
import { numberFromEnv } from './config.ts';
import type { WebServer } from './web/server.ts';

/** What a started bot gives back. */
export interface StartedBot {
  stop(): Promise<void>;
  /** Resolves with a reason if the bot stops taking updates on its own. */
  failed?: Promise<string>;
}

/** A bot that can start (its token is set), or the reason it cannot. */
export type BotPlan = { name: string; start: (services: Services) => Promise<{ bot: StartedBot; how: string }> } | { name: string; reason: string };

/** Decides, from the environment only, which bots can start. Pure apart from reading *_FILE secrets. */
export function planBots(env: Env): BotPlan[] {
  return [planTelegram(env), planDiscord(env)];
}

function planTelegram(env: Env): BotPlan {
  const name = 'Telegram';
  let options;
  try {
    options = telegramOptionsFromEnv(env);
  } catch (e) {
    return { name, reason: messageOf(e) };
  }
  if (!options) return { name, reason: 'TELEGRAM_BOT_TOKEN is not set' };
  const opts = options;
  return {
    name,
    async start(services) {
      const { startTelegramBot } = await import('./bots/telegram/index.ts');
      const bot = await startTelegramBot(services, opts);
      return { bot, how: `@${bot.username}, ${bot.mode}` };
    },
  };
}

function planDiscord(env: Env): BotPlan {
  const name = 'Discord';
  let token: string | undefined;
  try {
    token = readSecret(env, 'DISCORD_TOKEN');
  } catch (e) {
    return { name, reason: messageOf(e) };
  }
  if (!token) return { name, reason: 'DISCORD_TOKEN is not set' };
  const discordToken = token;
  return {
    name,
    async start(services) {
      const { startDiscordBot } = await import('./bots/discord/index.ts');
      const bot = await startDiscordBot(services, { token: discordToken, env });
      return { bot, how: `${bot.username}, gateway connected` };
    },
  };
}

/** Whether and where the web app runs under `npm start`, or why it does not. */
export type WebPlan = { host: string; port: number } | { reason: string };

export function planWeb(env: Env): WebPlan {
  const flag = env.VOICEMOOD_WEB?.trim().toLowerCase();
  if (flag === 'off' || flag === '0' || flag === 'false') return { reason: 'VOICEMOOD_WEB is off' };
  let port: number;
  try {
    port = env.VOICEMOOD_WEB_PORT?.trim() ? numberFromEnv(env, 'VOICEMOOD_WEB_PORT', 8080, { min: 0, max: 65535 }) : numberFromEnv(env, 'PORT', 8080, { min: 0, max: 65535 });
  } catch (e) {
    return { reason: messageOf(e) };
  }
  let webhookPort: number | undefined;
  try {
    webhookPort = telegramOptionsFromEnv(env)?.port;
  } catch {
    webhookPort = undefined; // the Telegram plan says what is wrong with its settings
  }
  if (webhookPort === port) return { reason: `port ${port} is the Telegram webhook's; set VOICEMOOD_WEB_PORT to serve the web app on another port` };
  return { host: env.VOICEMOOD_WEB_HOST?.trim() || '127.0.0.1', port };
}

function messageOf(e: unknown): string {
  return redact(isVoicemoodError(e) ? e.message : e instanceof Error ? e.message : String(e));
}

export interface MainOptions {
  env?: Env;
  /** Exit the process when done (default true); tests of main() in-process pass false. */
  exit?: boolean;
  logger?: Logger;
}

/** Runs until SIGINT/SIGTERM. Returns the exit code (and exits with it unless `exit: false`). */
export async function main(options: MainOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const code = await run(env, options.logger ?? createLogger());
  process.exitCode = code;
  if (options.exit !== false) process.exit(code);
  return code;
}

async function run(env: Env, logger: Logger): Promise<number> {
  const say = (line: string): void => {
    process.stderr.write(`voicemood: ${redact(line)}\n`);
  };
  const plans = planBots(env);
  for (const p of plans) if ('reason' in p) say(`${p.name}: not started, ${p.reason}`);
  const startable = plans.filter((p) => 'start' in p);
  const webPlan = planWeb(env);
  if ('reason' in webPlan) say(`web: not started, ${webPlan.reason}`);
  // A token that is set but refused (malformed, unreadable file) is a configuration to fix: stop.
  const tokenSet = ['TELEGRAM_BOT_TOKEN', 'TELEGRAM_BOT_TOKEN_FILE', 'DISCORD_TOKEN', 'DISCORD_TOKEN_FILE'].some((name) => Boolean(env[name]?.trim()));
  if (startable.length === 0 && ('reason' in webPlan || tokenSet)) {
    say('no bot can start. Set TELEGRAM_BOT_TOKEN and/or DISCORD_TOKEN (or TELEGRAM_BOT_TOKEN_FILE / DISCORD_TOKEN_FILE) and try again.');
    return 2;
  }
  if (startable.length === 0) say('no bot token set: serving the web app only.');

  // A signal during start-up is honoured once start-up is over.
  let stopRequested: (signal: string) => void = () => {};
  let pendingSignal: string | undefined;
  const stopSignal = new Promise<string>((resolve) => (stopRequested = resolve));
  const onSignal = (signal: NodeJS.Signals): void => {
    if (pendingSignal) {
      say(`${signal} again: exiting without waiting.`);
      process.exit(130);
    }
    pendingSignal = signal;
    stopRequested(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let services: AppServices;
  try {
    services = await createServices(env, logger);
  } catch (e) {
    say(`cannot start: ${messageOf(e)}`);
    logger.error({ err: e }, 'services failed to start');
    return 1;
  }
  say(`model: ${services.engine.model.id}`);

  const running: { name: string; bot: StartedBot }[] = [];
  for (const p of startable) {
    if (!('start' in p) || pendingSignal) continue;
    try {
      const { bot, how } = await p.start(services);
      running.push({ name: p.name, bot });
      say(`${p.name}: started (${how})`);
    } catch (e) {
      say(`${p.name}: not started, ${messageOf(e)}`);
      logger.error({ err: e, bot: p.name }, 'bot failed to start');
    }
  }
  if (startable.length > 0 && running.length === 0 && !pendingSignal) {
    say('no bot could start; exiting.');
    await services.close();
    return 1;
  }

  let web: WebServer | undefined;
  if (!('reason' in webPlan) && !pendingSignal) {
    try {
      const { startWebServer } = await import('./web/server.ts');
      web = await startWebServer({ engine: services.engine, logger, env, host: webPlan.host, port: webPlan.port, say });
      say(`web: started (${web.url})`);
    } catch (e) {
      say(`web: not started (${messageOf(e)})`);
      logger.error({ err: e }, 'web app failed to start');
      if (running.length === 0) {
        await services.close();
        return 1;
      }
    }
  }

  // Run until a signal, or until every bot has died on its own (a supervisor should restart us).
  let alive = running.length;
  const allDead = new Promise<string>((resolve) => {
    for (const r of running) {
      void r.bot.failed?.then((reason) => {
        say(`${r.name}: stopped taking updates: ${reason}`);
        if (--alive === 0) resolve('every bot stopped');
      });
    }
  });
  const signal = await Promise.race([stopSignal, allDead]);
  const crashed = signal === 'every bot stopped';
  say(crashed ? 'every bot stopped on its own: shutting down — finishing analyses in flight, flushing history.' : `${signal}: stopping — no new updates or requests, finishing analyses in flight, flushing history.`);
  let code = crashed ? 1 : 0;
  if (web) {
    try {
      await web.close();
      say('web: stopped');
    } catch (e) {
      code = 1;
      say(`web: stopping failed, ${messageOf(e)}`);
    }
  }
  for (const r of running) {
    try {
      await r.bot.stop();
      say(`${r.name}: stopped`);
    } catch (e) {
      code = 1;
      say(`${r.name}: stopping failed, ${messageOf(e)}`);
    }
  }
  try {
    await services.close();
  } catch (e) {
    code = 1;
    say(`closing the services failed: ${messageOf(e)}`);
  }
  say('bye.');
  return code;
}

if (import.meta.main) await main();
