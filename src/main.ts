/**
 * `npm start`: starts every bot whose token is set (Telegram: TELEGRAM_BOT_TOKEN, Discord:
 * DISCORD_TOKEN, or their _FILE variants) and the web app (page, REST API, /healthz, /metrics on
 * PORT; VOICEMOOD_WEB=off turns it off) on one shared set of services (engine, history, limits),
 * with one HTTP server on PORT for whichever of the web app and the Telegram webhook are on, and
 * always for /healthz and /metrics (with both off: those two only, on 127.0.0.1 unless
 * VOICEMOOD_WEB_HOST; a taken port is then a warning while bots run; cluster processes bind none),
 * says on stderr what started and why the rest did not, and shuts down cleanly on SIGINT/SIGTERM:
 * stop taking requests and updates, finish the analyses in flight, flush history, exit 0.
 * With no token set, the web app alone runs; with tokens set, bots that cannot start still stop
 * the process (a configuration to fix), even if the web app could run.
 *
 * With VOICEMOOD_DISCORD_CLUSTERS > 1 this process is the Discord cluster manager: it forks one
 * process per cluster, each running this file again for its shards only (Discord only, with its
 * own services); Telegram stays here. SIGHUP restarts the clusters one at a time.
 */
import { fileURLToPath } from 'node:url';
import { readSecret, type Env } from './util/config.ts';
import { isVoicemoodError } from './domain/errors.ts';
import { createServices, type AppServices } from './services.ts';
import { createLogger, redact, type Logger } from './util/log.ts';
import type { Services } from './usecases/ports.ts';
import { telegramOptionsFromEnv } from './bots/telegram/config.ts';
import { numberFromEnv } from './util/config.ts';
import type { PreparedWebServer, WebServer } from './web/server.ts';
import type { SharedWebhookServer } from './bots/telegram/webhook.ts';
import { createMetrics } from './util/metrics.ts';
import { clusterChildInfo, discordClusterConfig, sharedHistoryProblem, usesClusters, type ClusterChildInfo } from './bots/discord/clusterConfig.ts';

/** What a started bot gives back. */
export interface StartedBot {
  stop(): Promise<void>;
  /** Resolves with a reason if the bot stops taking updates on its own. */
  failed?: Promise<string>;
  /** Restarts its processes one at a time (Discord clusters; SIGHUP). */
  rollingRestart?(): Promise<void>;
}

type Started = Promise<{ bot: StartedBot; how: string }>;

/**
 * A bot that can start (its token is set), or the reason it cannot. `startAlone`: the bot runs in
 * processes of its own with their own services (Discord clusters), so this one needs none for it.
 */
export type BotPlan =
  | { name: string; start: (services: Services, server?: SharedWebhookServer) => Started }
  | { name: string; startAlone: (io: { say: (line: string) => void; logger: Logger }) => Started }
  | { name: string; reason: string };

/**
 * Decides, from the environment only, which bots can start. Pure apart from reading *_FILE secrets.
 * A Discord cluster process (forked by the cluster manager) runs Discord only, for its shards.
 */
export function planBots(env: Env, cluster: ClusterChildInfo | undefined = clusterChildInfo(env)): BotPlan[] {
  if (cluster) return [planDiscord(env, cluster)];
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
    async start(services, server) {
      const { startTelegramBot } = await import('./bots/telegram/index.ts');
      const bot = await startTelegramBot(services, { ...opts, ...(server && opts.webhookUrl ? { server } : {}) });
      return { bot, how: `@${bot.username}, ${bot.mode}` };
    },
  };
}

function planDiscord(env: Env, cluster?: ClusterChildInfo): BotPlan {
  const name = 'Discord';
  let token: string | undefined;
  let config;
  try {
    token = readSecret(env, 'DISCORD_TOKEN');
    config = discordClusterConfig(env);
  } catch (e) {
    return { name, reason: messageOf(e) };
  }
  if (!token) return { name, reason: 'DISCORD_TOKEN is not set' };
  const discordToken = token;
  if (cluster) {
    return {
      name,
      async start(services) {
        const { startDiscordBot } = await import('./bots/discord/index.ts');
        const { announceClusterReady } = await import('./bots/discord/cluster.ts');
        // Cluster 0 registers the slash commands for everyone.
        const bot = await startDiscordBot(services, {
          token: discordToken,
          env,
          shards: cluster.shardList,
          shardCount: cluster.totalShards,
          registerCommands: cluster.id === 0,
        });
        announceClusterReady(bot.bot.client);
        return { bot, how: `${bot.username}, cluster ${cluster.id} of ${cluster.count}, shards ${cluster.shardList.join(', ')} of ${cluster.totalShards}` };
      },
    };
  }
  if (usesClusters(config)) {
    let problem: string | undefined;
    try {
      problem = sharedHistoryProblem(env, config.clusters);
    } catch (e) {
      problem = messageOf(e);
    }
    if (problem) return { name, reason: problem };
    const clusterConfig = config;
    return {
      name,
      async startAlone({ say, logger }) {
        if (!env.VOICEMOOD_QUEUE_URL?.trim()) {
          say(
            `Discord: each of the ${clusterConfig.clusters} clusters opens its own engine (the model in memory ${clusterConfig.clusters} times, VOICEMOOD_ENGINE_THREADS threads each); set VOICEMOOD_QUEUE_URL to share inference workers instead.`,
          );
        }
        const { startDiscordClusters } = await import('./bots/discord/cluster.ts');
        const clusters = await startDiscordClusters({ token: discordToken, env, config: clusterConfig, file: fileURLToPath(import.meta.url), say, logger });
        const bot: StartedBot = { stop: () => clusters.stop(), failed: clusters.failed, rollingRestart: () => clusters.rollingRestart() };
        return { bot, how: `${clusters.how}, ${clusters.totalShards} shards in all; SIGHUP to pid ${process.pid} restarts them one at a time` };
      },
    };
  }
  const shards = config.shardsPerCluster;
  return {
    name,
    async start(services) {
      const { startDiscordBot } = await import('./bots/discord/index.ts');
      const sharding = shards === 'auto' ? { shards: 'auto' as const } : { shards: Array.from({ length: shards }, (_, i) => i), shardCount: shards };
      const bot = await startDiscordBot(services, { token: discordToken, env, ...sharding });
      return { bot, how: `${bot.username}, gateway connected` };
    },
  };
}

/**
 * Whether and where the process's HTTP server runs under `npm start`, and what it serves: `web`,
 * the page and the API (off with VOICEMOOD_WEB=off); `webhook`, the Telegram webhook's route
 * (webhook mode, when the web app's port is PORT); /healthz and /metrics always. With
 * VOICEMOOD_WEB_PORT set to another port, the Telegram webhook keeps a server of its own on PORT.
 */
export type WebPlan = { host: string; port: number; web: boolean; webhook: boolean; why?: string } | { reason: string };

export function planWeb(env: Env): WebPlan {
  const flag = env.VOICEMOOD_WEB?.trim().toLowerCase();
  const off = flag === 'off' || flag === '0' || flag === 'false';
  let webhookPort: number | undefined;
  try {
    const telegram = telegramOptionsFromEnv(env);
    webhookPort = telegram?.webhookUrl ? telegram.port : undefined;
  } catch {
    webhookPort = undefined; // the Telegram plan says what is wrong with its settings
  }
  // Telegram must reach the webhook: it listens beyond loopback unless VOICEMOOD_WEB_HOST says otherwise.
  const host = (webhook: boolean): string => env.VOICEMOOD_WEB_HOST?.trim() || (webhook ? '0.0.0.0' : '127.0.0.1');
  if (off)
    return webhookPort === undefined
      ? { reason: 'VOICEMOOD_WEB is off' }
      : { host: host(true), port: webhookPort, web: false, webhook: true, why: 'VOICEMOOD_WEB is off' };
  let port: number;
  try {
    port = env.VOICEMOOD_WEB_PORT?.trim()
      ? numberFromEnv(env, 'VOICEMOOD_WEB_PORT', 8080, { min: 0, max: 65535 })
      : numberFromEnv(env, 'PORT', 8080, { min: 0, max: 65535 });
  } catch (e) {
    return { reason: messageOf(e) };
  }
  const webhook = webhookPort === port;
  // The webhook's port faces the internet: the page and API go there only behind API keys (or on
  // a host the operator chose), never open to anyone by default.
  const keys = Boolean(env.VOICEMOOD_API_KEYS?.trim() || env.VOICEMOOD_API_KEYS_FILE?.trim());
  if (webhook && !keys && !env.VOICEMOOD_WEB_HOST?.trim()) {
    return {
      host: host(true),
      port,
      web: false,
      webhook: true,
      why: "the Telegram webhook's port is public and VOICEMOOD_API_KEYS is not set (set it, or VOICEMOOD_WEB_PORT for a loopback page)",
    };
  }
  return { host: host(webhook), port, web: true, webhook };
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

async function run(env: Env, rootLogger: Logger): Promise<number> {
  const cluster = clusterChildInfo(env);
  const logger = cluster ? rootLogger.child({ cluster: cluster.id }) : rootLogger;
  const prefix = cluster ? `voicemood[cluster ${cluster.id}]` : 'voicemood';
  const say = (line: string): void => {
    process.stderr.write(`${prefix}: ${redact(line)}\n`);
  };
  const plans = planBots(env, cluster);
  for (const p of plans) if ('reason' in p) say(`${p.name}: not started, ${p.reason}`);
  const startable = plans.filter((p) => !('reason' in p));
  // A Discord cluster process runs its shards only; the web app is the manager's.
  const webPlan: WebPlan = cluster ? { reason: 'a Discord cluster process' } : planWeb(env);
  if ('reason' in webPlan && !cluster) say(`web: not started, ${webPlan.reason}`);
  if (!('reason' in webPlan) && !webPlan.web)
    say(`web: not started, ${webPlan.why ?? 'VOICEMOOD_WEB is off'} (port ${webPlan.port} serves the Telegram webhook, /healthz and /metrics)`);
  const webApp = !('reason' in webPlan) && webPlan.web;
  // Every process but a cluster one serves /healthz and /metrics on PORT: with the web app and the
  // webhook off, a server with those two routes only, on loopback unless VOICEMOOD_WEB_HOST says otherwise.
  let opsPlan: { host: string; port: number } | undefined;
  if ('reason' in webPlan && !cluster) {
    try {
      opsPlan = { host: env.VOICEMOOD_WEB_HOST?.trim() || '127.0.0.1', port: numberFromEnv(env, 'PORT', 8080, { min: 0, max: 65535 }) };
    } catch (e) {
      say(`warning: /healthz and /metrics are not served, ${messageOf(e)}`);
    }
  }
  const metrics = createMetrics();
  // A token that is set but refused (malformed, unreadable file) is a configuration to fix: stop.
  const tokenSet = ['TELEGRAM_BOT_TOKEN', 'TELEGRAM_BOT_TOKEN_FILE', 'DISCORD_TOKEN', 'DISCORD_TOKEN_FILE'].some((name) => Boolean(env[name]?.trim()));
  if (startable.length === 0 && (!webApp || tokenSet)) {
    say('no bot can start. Set TELEGRAM_BOT_TOKEN and/or DISCORD_TOKEN (or TELEGRAM_BOT_TOKEN_FILE / DISCORD_TOKEN_FILE) and try again.');
    return 2;
  }
  if (startable.length === 0) say('no bot token set: serving the web app only.');

  let startedUp = false;
  // A signal during start-up is honoured once start-up is over.
  let stopRequested: (signal: string) => void = () => {};
  let pendingSignal: string | undefined;
  const stopSignal = new Promise<string>((resolve) => (stopRequested = resolve));
  const onSignal = (signal: string): void => {
    if (pendingSignal) {
      say(`${signal} again: exiting without waiting.`);
      process.exit(130);
    }
    pendingSignal = signal;
    stopRequested(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (cluster) {
    // A cluster stops when its manager goes away, and leaves rolling restarts to the manager.
    process.on('disconnect', () => {
      if (startedUp) return onSignal('the cluster manager went away');
      say('the cluster manager went away during start-up; exiting.');
      process.exit(1);
    });
    process.on('SIGHUP', () => say(`SIGHUP ignored: send it to the cluster manager (pid ${process.ppid}) to restart the clusters one at a time.`));
  }

  // Services (engine, history) only when a bot or the web app runs in this process: a cluster
  // manager with Discord alone and no web app loads no model.
  let services: AppServices | undefined;
  if (startable.some((p) => 'start' in p) || !('reason' in webPlan)) {
    try {
      services = await createServices(env, logger, metrics);
    } catch (e) {
      say(`cannot start: ${messageOf(e)}`);
      logger.error({ err: e }, 'services failed to start');
      return 1;
    }
    say(`model: ${services.engine.model.id}`);
  }

  const running: { name: string; bot: StartedBot }[] = [];
  if (startable.some((p) => 'startAlone' in p)) {
    // Installed before the bots start, so that a SIGHUP never takes the default action (exit).
    process.on('SIGHUP', () => {
      const restartable = running.filter((r) => r.bot.rollingRestart !== undefined);
      if (restartable.length === 0) return say('SIGHUP during start-up: ignored.');
      say('SIGHUP: restarting the Discord clusters one at a time.');
      for (const r of restartable) void r.bot.rollingRestart!();
    });
  }
  // The HTTP server is built first, so that the Telegram webhook's route can join it before it
  // listens (Telegram posts as soon as setWebhook is called); it listens once the bots are up.
  let server: PreparedWebServer | undefined;
  const health = (): Record<string, unknown> => {
    const engine = services?.engine as { connected?: () => boolean; stats?: () => { depth: number } } | undefined;
    return {
      bots: running.map((r) => r.name),
      web: webApp,
      ...(engine?.connected && engine.stats ? { queue: { connected: engine.connected(), depth: engine.stats().depth } } : {}),
    };
  };
  const listenPlan = !('reason' in webPlan) ? webPlan : opsPlan && { ...opsPlan, web: false, webhook: false };
  if (listenPlan && (services || !listenPlan.web) && !pendingSignal) {
    try {
      const { prepareWebServer } = await import('./web/server.ts');
      server = prepareWebServer({
        engine: services?.engine,
        logger,
        env,
        host: listenPlan.host,
        port: listenPlan.port,
        api: listenPlan.web,
        say,
        metrics,
        health,
      });
    } catch (e) {
      say(`web: not started (${messageOf(e)})`);
      logger.error({ err: e }, 'web app failed to start');
    }
  }
  const shared = server && !('reason' in webPlan) && webPlan.webhook ? server : undefined;
  const webhookServer: SharedWebhookServer | undefined = shared && { app: shared.app, listen: async () => (await shared.listen()).port };
  for (const p of startable) {
    if ('reason' in p || pendingSignal) continue;
    try {
      const { bot, how } = 'start' in p ? await p.start(services!, webhookServer) : await p.startAlone({ say, logger });
      running.push({ name: p.name, bot });
      say(`${p.name}: started (${how})`);
    } catch (e) {
      say(`${p.name}: not started, ${messageOf(e)}`);
      logger.error({ err: e, bot: p.name }, 'bot failed to start');
    }
  }
  if (startable.length > 0 && running.length === 0 && !pendingSignal) {
    startedUp = true;
    say('no bot could start; exiting.');
    await server?.app.close().catch(() => {});
    await services?.close();
    return 1;
  }

  let web: WebServer | undefined;
  if (server && !pendingSignal) {
    try {
      web = await server.listen(); // already listening when the Telegram webhook joined it
      say(
        webApp
          ? `web: started (${web.url})`
          : listenPlan?.webhook
            ? `serving the Telegram webhook, /healthz and /metrics on ${web.url}`
            : `serving /healthz and /metrics on ${web.url}`,
      );
    } catch (e) {
      server = undefined; // listen() closed it
      if (webApp || listenPlan?.webhook) {
        say(`web: not started (${messageOf(e)})`);
        logger.error({ err: e }, 'web app failed to start');
      } else {
        // The bots run on: only the operator's view is missing.
        say(`warning: /healthz and /metrics are not served (${messageOf(e)})`);
        logger.warn({ err: e }, 'the /healthz and /metrics server failed to start');
      }
      if (running.length === 0) {
        startedUp = true;
        await services?.close();
        return 1;
      }
    }
  }
  startedUp = true;

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
  say(
    crashed
      ? 'every bot stopped on its own: shutting down — finishing analyses in flight, flushing history.'
      : `${signal}: stopping — no new updates or requests, finishing analyses in flight, flushing history.`,
  );
  let code = crashed ? 1 : 0;
  // Closing the server stops the web requests and the Telegram webhook's posts alike; the bots'
  // stop() then waits for the analyses in flight.
  if (web) {
    try {
      await web.close();
      say(webApp ? 'web: stopped' : listenPlan?.webhook ? 'the Telegram webhook server: stopped' : '/healthz and /metrics: stopped');
    } catch (e) {
      code = 1;
      say(`web: stopping failed, ${messageOf(e)}`);
    }
  } else {
    await server?.app.close().catch(() => {}); // listening already if a signal came during start-up
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
    await services?.close();
  } catch (e) {
    code = 1;
    say(`closing the services failed: ${messageOf(e)}`);
  }
  say('bye.');
  return code;
}

if (import.meta.main) await main();
