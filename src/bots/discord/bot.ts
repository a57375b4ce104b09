/**
 * The Discord adapter: events and interactions in, src/commands out, replies rendered as embeds,
 * buttons and files. Thin on purpose — decisions live in src/commands and src/mood; what is here
 * is Discord's shape of things (deferring, ephemeral errors, buttons, voice channels).
 */
import {
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageFlags,
  Partials,
  RESTJSONErrorCodes,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Guild,
  type Interaction,
  type Message,
  type SendableChannels,
} from 'discord.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { handleForget, handleMe, handleMood, handlePrivacy, handleSettings, handleVoice } from '../../commands/index.ts';
import { errorReply, resolveLang } from '../../commands/common.ts';
import type { CardReply, CommandContext, Reply } from '../../commands/types.ts';
import type { Services } from '../../usecases/ports.ts';
import { VoicemoodError } from '../../domain/errors.ts';
import type { Lang } from '../../domain/emotions.ts';
import { t } from '../../render/i18n.ts';
import { downloadAttachment, isAudioAttachment, type AttachmentLike } from './attachments.ts';
import { MOOD_DEFAULT_LISTEN_S, MOOD_DEFAULT_WINDOW_MIN, MOOD_MAX_LISTEN_S } from './commandDefs.ts';
import { contextFromInteraction, contextFromMessage, isGuildAdmin } from './context.ts';
import { BUTTON, forChannel, forInteraction, renderAlert, renderCard, renderCardWithTimeline, renderSummary, renderText, type DiscordPayload } from './render.ts';
import { fitEmbeds } from './embedLimits.ts';
import { postToGuildChannel } from './guildChannel.ts';
import { ds } from './strings.ts';
import { BusyCounter, InFlight } from '../../state/inFlight.ts';
import { MemoryTimelineStore } from '../../state/timelines.ts';
import { VoiceListeners, type Connector } from './voice/listeners.ts';
import { voiceSummaryReply } from './voice/summary.ts';
import type { VoiceSessionOptions } from './voice/session.ts';

/** What a "busy" reply suggests waiting, in seconds. */
export const BUSY_RETRY_S = 10;

/** allowedMentions of every message the bot writes. */
export const NO_MENTIONS = { parse: [] as never[] };

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
  readonly #s: Services;
  readonly #o: DiscordBotOptions;
  readonly #timelines: MemoryTimelineStore<CardReply>;
  readonly #inFlight: InFlight;
  #stopping = false;
  /** Aborted by stop(): ends waits (a /mood listening period) that would otherwise hold shutdown. */
  readonly #stopped = new AbortController();
  /** Voice messages being downloaded or analysed now. */
  readonly #analysing: BusyCounter;

  constructor(services: Services, options: DiscordBotOptions) {
    this.#s = services;
    this.#o = options;
    // A card keeps its history entry's id as key (short: custom ids are at most 100 characters).
    this.#timelines = new MemoryTimelineStore({ capacity: 500, epochOf: (userId) => services.history.forgetEpoch('discord', userId), keyOf: (card) => (card.entryId && card.entryId.length <= 64 ? card.entryId : undefined) });
    this.#inFlight = new InFlight((e) => services.logger.error({ err: e }, 'discord handler failed'));
    this.#analysing = new BusyCounter(() => options.maxAnalyses ?? services.engine.load().capacity);
    const intents = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages];
    // Attachments of server messages are empty without Message Content; only needed for voice messages.
    if (options.voiceMessages !== false) intents.push(GatewayIntentBits.MessageContent);
    // No message of ours pings anyone: names in cards, alerts and summaries (a display name
    // "@everyone", a role mention) stay text. Payloads that set allowedMentions keep parse: [].
    const sharding = { shards: options.shards ?? [0], shardCount: options.shardCount ?? 1 };
    this.client = new Client({ intents, partials: [Partials.Channel], allowedMentions: NO_MENTIONS, ...sharding, ...(options.apiBase ? { rest: { api: options.apiBase } } : {}) });
    this.listeners = new VoiceListeners({ client: this.client, services, ...(options.connector ? { connector: options.connector } : {}), ...(options.reconnectGraceMs ? { reconnectGraceMs: options.reconnectGraceMs } : {}), ...(options.session ? { session: options.session } : {}) });
    this.client.on(Events.MessageCreate, (m) => this.#inFlight.track(this.#onMessage(m)));
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

  // ---- voice messages ---------------------------------------------------------------------------

  async #onMessage(m: Message): Promise<void> {
    if (this.#stopping || m.author.bot || m.system) return;
    const audio = m.attachments.find((a) => isAudioAttachment(a));
    if (!audio) return;
    // Voice messages (MessageFlags.IsVoiceMessage) and plain audio files are treated alike.
    const ctx = contextFromMessage(m, this.#s);
    const { replies, owner } = await this.#analyse(ctx, audio, 'auto');
    const channel = m.channel.isSendable() ? m.channel : undefined;
    const reply = async (p: DiscordPayload): Promise<unknown> => {
      try {
        return await m.reply({ ...forChannel(p), allowedMentions: { ...NO_MENTIONS, repliedUser: false } });
      } catch (e) {
        // A reply needs Read Message History as well as Send Messages; without it, post plainly.
        if (channel && e instanceof DiscordAPIError && e.code === RESTJSONErrorCodes.CannotReplyWithoutPermissionToReadMessageHistory) return channel.send(forChannel(p));
        throw e;
      }
    };
    for (const r of replies) await this.#deliver(r, reply, channel, owner);
  }

  /**
   * Analyses one attachment of the sender's. `owner` carries their forget epoch from before the
   * analysis: a /forget that came meanwhile empties the replies, and keeps the timeline out.
   */
  async #analyse(ctx: CommandContext, a: AttachmentLike, trigger: 'auto' | 'request'): Promise<{ replies: Reply[]; owner: { userId: string; epoch: number } }> {
    const owner = { userId: ctx.user.id, epoch: this.#s.history.forgetEpoch('discord', ctx.user.id) };
    // Bounded like the engine's queue: past it, a polite "busy" before downloading anything, so
    // that a flood across many channels cannot pile up downloads and decoded audio in memory.
    if (!this.#analysing.enter()) {
      this.#s.metrics?.analysis('discord', 'busy');
      return { replies: [errorReply(new VoicemoodError('busy', 'Too many voice messages are waiting.', { retryAfterS: BUSY_RETRY_S }), await resolveLang(ctx, this.#s))], owner };
    }
    try {
      const replies = await this.#analyseNow(ctx, a, trigger);
      return { replies: this.#s.history.forgetEpoch('discord', owner.userId) === owner.epoch ? replies : [], owner };
    } finally {
      this.#analysing.leave();
    }
  }

  #analyseNow(ctx: CommandContext, a: AttachmentLike, trigger: 'auto' | 'request'): Promise<Reply[]> {
    // handleVoice downloads only after its consent and rate-limit checks, under its deadline.
    const download = (signal: AbortSignal): Promise<Uint8Array> => downloadAttachment(a, { signal, ...(this.#o.cdnHosts ? { allowedHosts: this.#o.cdnHosts } : {}) });
    return handleVoice(ctx, this.#s, { download, filename: a.name, ...(a.contentType ? { mimeType: a.contentType } : {}), trigger });
  }

  /**
   * Sends one structured reply: the first through `primary` (reply/edit), alerts to the log
   * channel, and further texts to the channel.
   */
  async #deliver(r: Reply, primary: (p: DiscordPayload) => Promise<unknown>, channel?: SendableChannels, owner?: { userId: string; epoch: number }): Promise<void> {
    switch (r.kind) {
      case 'card': {
        const key = r.timeline && r.timeline.windows.length > 0 ? this.#timelines.put(r, owner) : undefined;
        await primary(renderCard(r, key));
        return;
      }
      case 'summary':
        await primary(renderSummary(r));
        return;
      case 'alert':
        if (r.logChannelId) await postToGuildChannel(this.client, r.signal.guildId, r.logChannelId, renderAlert(r), this.#s.logger);
        return;
      case 'text':
      case 'error':
        if (channel && r.kind === 'text') await channel.send(forChannel(renderText(r)));
        else await primary(renderText(r));
        return;
      case 'file':
        // Only through `primary` of an ephemeral interaction (/me export): never into a channel.
        await primary({ content: r.caption, files: [{ attachment: Buffer.from(r.bytes), name: r.filename }], ephemeral: true });
        return;
    }
  }

  // ---- interactions -----------------------------------------------------------------------------

  async #onInteraction(i: Interaction): Promise<void> {
    if (this.#stopping) return;
    if (i.isChatInputCommand()) await this.#onCommand(i);
    else if (i.isButton()) await this.#onButton(i);
  }

  async #onCommand(i: ChatInputCommandInteraction): Promise<void> {
    const ctx = contextFromInteraction(i, this.#s);
    // The language is a store read: it runs while the deferred commands acknowledge, so that a
    // slow store cannot eat the 3 s Discord gives for the first answer. Awaited where needed.
    const langP = resolveLang(ctx, this.#s);
    langP.catch(() => undefined);
    let lang: Lang = ctx.lang;
    try {
      switch (i.commandName) {
        case 'analyze': {
          await i.deferReply();
          lang = await langP;
          const a = i.options.getAttachment('audio', true);
          const { replies, owner } = isAudioAttachment(a) ? await this.#analyse(ctx, a, 'request') : { replies: [errorReply(new VoicemoodError('bad_input', ds(lang).noVoiceAttachment), lang)], owner: undefined };
          await this.#replyAll(i, replies, owner);
          return;
        }
        case 'me':
          // Ephemeral: an export (/me export:true) is seen by the caller only, in a server too.
          await i.deferReply({ flags: MessageFlags.Ephemeral });
          await this.#replyAll(i, await handleMe(ctx, this.#s, { export: i.options.getBoolean('export') ?? false, privateReply: true }));
          return;
        case 'forget': {
          await i.deferReply({ flags: MessageFlags.Ephemeral });
          this.listeners.forgetUser(ctx.user.id);
          const replies = await handleForget(ctx, this.#s);
          // In memory too; an analysis still running is dropped by the forget epoch (#analyse and
          // the voice sessions). Sessions again: an utterance may have landed before the epoch moved.
          this.listeners.forgetUser(ctx.user.id);
          this.#timelines.forgetUser(ctx.user.id);
          await this.#replyAll(i, replies);
          return;
        }
        case 'privacy': {
          // Deferred before the store is touched: Discord drops an interaction not answered in 3 s.
          await i.deferReply({ flags: MessageFlags.Ephemeral });
          const choice = i.options.getString('choice') ?? undefined;
          const replies = await handlePrivacy(ctx, this.#s, choice);
          // In a server the choice is that server's; in a DM it is for every server.
          if (choice === 'out') this.listeners.forgetUser(ctx.user.id, i.guildId ?? undefined);
          await i.editReply(forChannel(this.#textPayload(replies)));
          return;
        }
        case 'settings': {
          await i.deferReply({ flags: MessageFlags.Ephemeral });
          const name = i.options.getString('name');
          const value = i.options.getChannel('channel')?.id ?? i.options.getString('value');
          const args = name ? [name, ...(value ? [value] : [])] : [];
          await i.editReply(forChannel(this.#textPayload(await handleSettings(ctx, this.#s, args))));
          return;
        }
        case 'listen':
          await this.#onListen(i, ctx, (lang = await langP));
          return;
        case 'mood':
          await this.#onMood(i, ctx, (lang = await langP));
          return;
        default:
          lang = await langP;
          await i.reply(forInteraction(renderText(errorReply(new VoicemoodError('not_found', 'I do not know that command.'), lang))));
      }
    } catch (e) {
      this.#s.logger.warn({ err: e, command: i.commandName }, 'discord command failed');
      const fallback = lang;
      lang = await langP.catch(() => fallback);
      const p = forInteraction(renderText(errorReply(e, lang)));
      const { flags: _flags, ...edit } = p;
      if (i.deferred || i.replied) await i.editReply(edit).catch(() => undefined);
      else await i.reply(p).catch(() => undefined);
    }
  }

  /** Replies of a command after deferReply: the first edits the deferred answer, the rest follow. */
  async #replyAll(i: ChatInputCommandInteraction, replies: Reply[], owner?: { userId: string; epoch: number }): Promise<void> {
    let first = true;
    for (const r of replies) {
      await this.#deliver(
        r,
        async (p) => {
          if (first) {
            first = false;
            const { flags: _flags, ...rest } = forInteraction(p);
            return i.editReply(rest);
          }
          return i.followUp(forInteraction(p));
        },
        undefined,
        owner,
      );
    }
    if (first) await i.editReply({ content: '✅' });
  }

  /** Text replies joined into one message (for commands that answer in words only). */
  #textPayload(replies: Reply[]): DiscordPayload {
    const texts = replies.filter((r): r is Reply & { kind: 'text' | 'error' } => r.kind === 'text' || r.kind === 'error');
    if (texts.length === 0) return { content: '✅' };
    return { content: texts.map((r) => renderText(r).content).join('\n\n') };
  }

  #voiceChannelOf(i: ChatInputCommandInteraction): { guild: Guild; channelId: string; joinable: boolean } | undefined {
    const guild = i.guild;
    const channelId = guild?.voiceStates.cache.get(i.user.id)?.channelId;
    if (!guild || !channelId) return undefined;
    // Without View Channel + Connect (or in a full channel) Discord ignores the join silently and
    // we would only find out at the 20 s Ready deadline: say so at once instead.
    const channel = guild.channels.cache.get(channelId);
    return { guild, channelId, joinable: channel && 'joinable' in channel ? channel.joinable : true };
  }

  async #onListen(i: ChatInputCommandInteraction, ctx: CommandContext, lang: Lang): Promise<void> {
    const strings = ds(lang);
    if (!i.inGuild()) return void (await i.reply(forInteraction({ content: strings.guildOnly, ephemeral: true })));
    if (!(await ctx.isAdmin())) return void (await i.reply(forInteraction({ content: t(lang).settingsAdminOnly, ephemeral: true })));
    if (i.options.getSubcommand() === 'stop') {
      const stopped = await this.listeners.stop(i.guildId, 'requested');
      await i.reply(forInteraction({ content: stopped ? strings.listeningStopped(`<#${stopped.scope.channelId}>`) : strings.notListening, ephemeral: true }));
      return;
    }
    const where = this.#voiceChannelOf(i);
    if (!where) return void (await i.reply(forInteraction({ content: strings.notInVoice, ephemeral: true })));
    if (!where.joinable) return void (await i.reply(forInteraction({ content: strings.listenFailed, ephemeral: true })));
    const current = this.listeners.get(where.guild.id);
    if (current?.scope.channelId === where.channelId && current.mode === 'continuous') {
      return void (await i.reply(forInteraction({ content: strings.alreadyListening(`<#${where.channelId}>`), ephemeral: true })));
    }
    await i.deferReply({ flags: MessageFlags.Ephemeral });
    try {
      await this.listeners.start(where.guild, where.channelId, { mode: 'continuous', textChannelId: i.channelId, lang });
      await i.editReply({ content: strings.listenStarted(`<#${where.channelId}>`) });
    } catch (e) {
      this.#s.logger.warn({ err: e }, 'joining a voice channel failed');
      await i.editReply({ content: strings.listenFailed });
    }
  }

  async #onMood(i: ChatInputCommandInteraction, ctx: CommandContext, lang: Lang): Promise<void> {
    const strings = ds(lang);
    const where = this.#voiceChannelOf(i);
    if (!where) {
      // Not in voice: the mood of this channel's voice messages, from history.
      await i.deferReply();
      const minutes = i.options.getInteger('window');
      await this.#replyAll(i, await handleMood(ctx, this.#s, minutes ? { windowMs: minutes * 60_000 } : {}));
      return;
    }
    const current = this.listeners.get(where.guild.id);
    if (current && current.scope.channelId === where.channelId) {
      await i.deferReply();
      const windowMs = (i.options.getInteger('window') ?? MOOD_DEFAULT_WINDOW_MIN) * 60_000;
      await current.session.idle();
      const now = this.#s.clock();
      await this.#replyAll(i, [await voiceSummaryReply(current.session.mood, current.scope, now - windowMs, now, lang)]);
      return;
    }
    if (current) {
      // Busy in another channel of this server (one voice connection per server).
      await i.reply(forInteraction({ content: strings.alreadyListening(`<#${current.scope.channelId}>`), ephemeral: true }));
      return;
    }
    if (!where.joinable) return void (await i.reply(forInteraction({ content: strings.listenFailed, ephemeral: true })));
    const seconds = Math.min(MOOD_MAX_LISTEN_S, i.options.getInteger('duration') ?? MOOD_DEFAULT_LISTEN_S);
    await i.deferReply();
    let listening;
    try {
      listening = await this.listeners.start(where.guild, where.channelId, { mode: 'once', textChannelId: i.channelId, lang, seconds });
    } catch (e) {
      this.#s.logger.warn({ err: e }, 'joining a voice channel failed');
      await i.editReply({ content: strings.listenFailed });
      return;
    }
    await i.editReply({ content: strings.moodListening(seconds) });
    const from = this.#s.clock();
    // Up to MOOD_MAX_LISTEN_S: shutdown must not wait that long (process managers kill after ~10 s).
    await sleep(seconds * (this.#o.msPerListenSecond ?? 1000), undefined, { signal: this.#stopped.signal }).catch(() => undefined);
    if (this.#stopping || this.listeners.get(where.guild.id) !== listening) return; // stopped or replaced meanwhile
    await this.listeners.stop(where.guild.id, 'done');
    const summary = await voiceSummaryReply(listening.session.mood, listening.scope, from, this.#s.clock(), lang);
    await i.followUp(forInteraction(renderSummary(summary)));
  }

  async #onButton(i: ButtonInteraction): Promise<void> {
    const ctx = contextFromInteraction(i, this.#s);
    const id = i.customId;
    if (id.startsWith(BUTTON.timeline)) {
      const kept = this.#timelines.get(id.slice(BUTTON.timeline.length));
      if (!kept?.timeline) {
        const lang = await resolveLang(ctx, this.#s).catch(() => ctx.lang);
        return void (await i.reply(forInteraction({ content: ds(lang).timelineGone, ephemeral: true })));
      }
      // Drawing the chart takes a moment: acknowledge first (3 s rule), then edit the message.
      await i.deferUpdate();
      await i.editReply(forChannel(await renderCardWithTimeline(kept, kept.timeline, kept.card.lang)));
      return;
    }
    // A store that fails must not leave the click unanswered: the server's language falls back.
    const lang = await resolveLang(ctx, this.#s).catch(() => ctx.lang);
    const strings = ds(lang);
    if (id.startsWith(BUTTON.ack) || id.startsWith(BUTTON.snooze)) {
      if (!isGuildAdmin(i.memberPermissions)) return void (await i.reply(forInteraction({ content: t(lang).settingsAdminOnly, ephemeral: true })));
      const ack = id.startsWith(BUTTON.ack);
      const signalId = id.slice((ack ? BUTTON.ack : BUTTON.snooze).length);
      // Only from the server the alert is about: an admin elsewhere cannot silence or close it.
      const signal = await this.#s.moderation.find?.(signalId);
      if (signal && (signal.platform !== 'discord' || signal.guildId !== (i.guildId ?? undefined))) {
        this.#s.logger.warn({ guildId: i.guildId, signalGuildId: signal.guildId }, 'moderation button pressed outside its server');
        return void (await i.reply(forInteraction({ content: strings.alertGone, ephemeral: true })));
      }
      const ok = await (ack ? this.#s.moderation.acknowledge(signalId, i.user.id) : this.#s.moderation.snooze(signalId, 3600));
      if (!ok) return void (await i.reply(forInteraction({ content: strings.alertGone, ephemeral: true })));
      const note = ack ? strings.acknowledged(ctx.user.name) : strings.snoozed(ctx.user.name);
      const embeds = i.message.embeds.map((e) => ({ ...e.toJSON(), footer: { text: note } }));
      await i.update({ embeds: fitEmbeds(embeds), components: [] });
    }
  }
}

