/**
 * The Discord adapter: client setup and wiring. Events and interactions in, src/commands out:
 * voice messages (voiceMessages.ts), slash commands (commands/, one file each, generated from the
 * command registry), buttons (buttons/, routed by customId prefix), replies rendered as embeds,
 * buttons and files (deliver.ts, render.ts). Voice channels: voice/.
 */
import { Client, Events, GatewayIntentBits, Partials, type Interaction } from 'discord.js';
import type { Services } from '../../usecases/ports.ts';
import { ButtonRouter } from './buttons/index.ts';
import { CommandRouter } from './commands/index.ts';
import { NO_MENTIONS } from './deliver.ts';
import type { DiscordHost } from './host.ts';
import { InFlight } from '../../state/inFlight.ts';
import { MemoryTimelineStore } from '../../state/timelines.ts';
import type { CardReply } from '../../commands/types.ts';
import { VoiceMessages } from './voiceMessages.ts';
import { VoiceListeners, type Connector } from './voice/listeners.ts';
import type { VoiceSessionOptions } from './voice/session.ts';

export { NO_MENTIONS } from './deliver.ts';
export { BUSY_RETRY_S } from './voiceMessages.ts';

export interface DiscordBotOptions {
  token: string;
  /** REST base (DISCORD_API_BASE), e.g. a proxy or a test server; discord.js appends /v10. */
  apiBase?: string;
  /** Analyse voice messages posted in servers (needs the Message Content intent; default true). */
  voiceMessages?: boolean;
  /** Tests: voice connections without a voice gateway, and session knobs. */
  connector?: Connector;
  /** See VoiceListenersOptions.reconnectGraceMs. */
  reconnectGraceMs?: number;
  session?: Partial<Pick<VoiceSessionOptions, 'limits' | 'vad' | 'silenceMs' | 'createDecoder'>>;
  /** Voice messages analysed at once before "busy" (default: the engine's queue capacity). */
  maxAnalyses?: number;
  /** Tests: how long /mood listens is capped by this (ms per requested second; default 1000). */
  msPerListenSecond?: number;
  /** Hosts attachments may be downloaded from (VOICEMOOD_DISCORD_CDN_HOSTS; default Discord's CDN). */
  cdnHosts?: readonly string[];
  /** Gateway shards this client runs ('auto': Discord's recommended count, all here) and the bot's total; default [0] of 1. */
  shards?: number[] | 'auto';
  shardCount?: number;
}

export class DiscordBot {
  readonly client: Client;
  readonly listeners: VoiceListeners;
  readonly #inFlight: InFlight;
  #stopping = false;
  /** Aborted by stop(): ends waits (a /mood listening period) that would otherwise hold shutdown. */
  readonly #stopped = new AbortController();
  readonly #voiceMessages: VoiceMessages;
  readonly #commands: CommandRouter;
  readonly #buttons: ButtonRouter;

  constructor(services: Services, options: DiscordBotOptions) {
    // A card keeps its history entry's id as key (short: custom ids are at most 100 characters).
    const timelines = new MemoryTimelineStore<CardReply>({
      capacity: 500,
      epochOf: (userId) => services.history.forgetEpoch('discord', userId),
      keyOf: (card) => (card.entryId && card.entryId.length <= 64 ? card.entryId : undefined),
    });
    this.#inFlight = new InFlight((e) => services.logger.error({ err: e }, 'discord handler failed'));
    const intents = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages];
    // Attachments of server messages are empty without Message Content; only needed for voice messages.
    if (options.voiceMessages !== false) intents.push(GatewayIntentBits.MessageContent);
    // No message of ours pings anyone: names in cards, alerts and summaries (a display name
    // "@everyone", a role mention) stay text. Payloads that set allowedMentions keep parse: [].
    const sharding = { shards: options.shards ?? [0], shardCount: options.shardCount ?? 1 };
    this.client = new Client({
      intents,
      partials: [Partials.Channel],
      allowedMentions: NO_MENTIONS,
      ...sharding,
      ...(options.apiBase ? { rest: { api: options.apiBase } } : {}),
    });
    this.listeners = new VoiceListeners({
      client: this.client,
      services,
      ...(options.connector ? { connector: options.connector } : {}),
      ...(options.reconnectGraceMs ? { reconnectGraceMs: options.reconnectGraceMs } : {}),
      ...(options.session ? { session: options.session } : {}),
    });
    const isStopping = (): boolean => this.#stopping;
    const host: DiscordHost = {
      client: this.client,
      services,
      options,
      listeners: this.listeners,
      timelines,
      get stopping() {
        return isStopping();
      },
      stopSignal: this.#stopped.signal,
      analyse: (ctx, a, trigger) => this.#voiceMessages.analyse(ctx, a, trigger),
    };
    this.#voiceMessages = new VoiceMessages(host);
    this.#commands = new CommandRouter(host);
    this.#buttons = new ButtonRouter(host);
    this.client.on(Events.MessageCreate, (m) => this.#inFlight.track(this.#voiceMessages.onMessage(m)));
    this.client.on(Events.InteractionCreate, (i) => this.#inFlight.track(this.#onInteraction(i)));
    this.client.on(Events.Error, (e) => services.logger.warn({ err: e }, 'discord client error'));
  }

  /** Stops taking events, lets what is in flight finish, leaves voice channels, disconnects. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#stopped.abort();
    this.client.removeAllListeners(Events.MessageCreate);
    this.client.removeAllListeners(Events.InteractionCreate);
    await this.listeners.stopAll();
    await this.#inFlight.drain();
    await this.client.destroy();
  }

  async #onInteraction(i: Interaction): Promise<void> {
    if (this.#stopping) return;
    if (i.isChatInputCommand()) await this.#commands.run(i);
    else if (i.isButton()) await this.#buttons.run(i);
  }
}
