/**
 * Voice connections and their listening sessions, one per guild (Discord allows one voice
 * connection per guild and bot). Handles what the voice gateway does to us: reconnects (resume
 * and re-subscribe), being moved (follow the new channel), being kicked or the channel vanishing
 * (stop and say so). Every start is announced in the voice channel's text chat.
 */
import {
  VoiceConnectionDisconnectReason,
  VoiceConnectionStatus,
  entersState,
  joinVoiceChannel,
  type CreateVoiceConnectionOptions,
  type JoinVoiceChannelOptions,
  type VoiceConnection,
  type VoiceConnectionState,
} from '@discordjs/voice';
import { Events, type Client, type Guild, type VoiceState } from 'discord.js';
import type { Services } from '../../../usecases/ports.ts';
import type { Lang } from '../../../domain/emotions.ts';
import type { Logger } from '../../../util/log.ts';
import { forChannel, renderAlert, type DiscordPayload } from '../render.ts';
import { postToGuildChannel } from '../guildChannel.ts';
import { ds } from '../strings.ts';
import { channelUseCases } from './channelUseCases.ts';
import { DaveGuard } from './daveGuard.ts';
import { VoiceSession, type ReceiverLike, type VoiceSessionOptions } from './session.ts';
import type { VoiceScope } from './summary.ts';

export type ListenMode = 'continuous' | 'once';

export interface Listening {
  session: VoiceSession;
  connection: VoiceConnection | undefined;
  mode: ListenMode;
  scope: VoiceScope;
  /** Where /listen or /mood was asked: announcements fall back to it. */
  textChannelId: string;
  lang: Lang;
}

/** How a voice connection is made; tests replace it to run without a voice gateway. */
export type Connector = (guild: Guild, channelId: string, options: { logger: Logger }) => Promise<{ connection?: VoiceConnection; receiver: ReceiverLike }>;

/**
 * Options of joinVoiceChannel. @discordjs/voice 0.19 defaults to selfDeaf: true — a deafened
 * bot is sent NO audio — so it is turned off; muted because we never speak. DAVE (end-to-end
 * encryption) is on by default there and stays on (Discord requires it for voice). `debug` must
 * be asked for: without it the connection emits no 'debug' events at all.
 */
export function voiceJoinOptions(
  guild: Pick<Guild, 'id' | 'voiceAdapterCreator'>,
  channelId: string,
  debug: boolean,
): JoinVoiceChannelOptions & CreateVoiceConnectionOptions {
  return {
    guildId: guild.id,
    channelId,
    adapterCreator: guild.voiceAdapterCreator,
    selfDeaf: false,
    selfMute: true,
    debug,
    // Consecutive DAVE decryption failures (around key transitions) before the session tries
    // to recover; a little above the default of 36 so that short bursts are just dropped.
    decryptionFailureTolerance: 48,
  };
}

export const defaultConnector: Connector = async (guild, channelId, { logger }) => {
  const connection = joinVoiceChannel(voiceJoinOptions(guild, channelId, logger.isLevelEnabled('debug')));
  // Listeners before the first await: an 'error' emitted while joining with no listener would
  // throw out of the EventEmitter and take the process down.
  connection.on('debug', (m: string) => logger.debug({ guildId: guild.id, voice: m }, 'voice debug'));
  connection.on('error', (e: Error) => logger.warn({ err: e, guildId: guild.id }, 'voice connection error'));
  try {
    await entersState(connection, VoiceConnectionStatus.Ready, 20_000);
  } catch (e) {
    connection.destroy();
    throw e;
  }
  return { connection, receiver: connection.receiver };
};

export interface VoiceListenersOptions {
  client: Client;
  services: Services;
  connector?: Connector;
  /** How long a disconnected connection may take to start reconnecting before we call it a kick (default 5 s). */
  reconnectGraceMs?: number;
  session?: Partial<Pick<VoiceSessionOptions, 'limits' | 'vad' | 'silenceMs' | 'createDecoder'>>;
}

export class VoiceListeners {
  readonly #o: VoiceListenersOptions;
  readonly #byGuild = new Map<string, Listening>();

  constructor(options: VoiceListenersOptions) {
    this.#o = options;
    options.client.on(Events.VoiceStateUpdate, (before, after) => this.#onVoiceState(before, after));
  }

  get(guildId: string): Listening | undefined {
    return this.#byGuild.get(guildId);
  }

  all(): Listening[] {
    return [...this.#byGuild.values()];
  }

  async start(guild: Guild, channelId: string, options: { mode: ListenMode; textChannelId: string; lang: Lang; seconds?: number }): Promise<Listening> {
    const existing = this.#byGuild.get(guild.id);
    if (existing) await this.stop(guild.id, 'replaced');
    const s = this.#o.services;
    const channelName = guild.channels.cache.get(channelId)?.name ?? channelId;
    const scope: VoiceScope = { guildId: guild.id, channelId, channelName };
    const { connection, receiver } = await (this.#o.connector ?? defaultConnector)(guild, channelId, { logger: s.logger });
    // DAVE receive that survives passthrough frames and the library's transition-0 failure.
    const guard = connection ? DaveGuard.watch(connection, { logger: s.logger, clock: () => Date.now(), guildId: guild.id }) : undefined;
    // eslint-disable-next-line prefer-const -- the session callbacks below capture it before it is assigned
    let listening: Listening;
    const session = new VoiceSession({
      guildId: guild.id,
      channelId,
      engine: s.engine,
      clock: s.clock,
      logger: s.logger,
      ...(s.metrics ? { metrics: s.metrics } : {}),
      ...(s.requestTimeoutMs !== undefined ? { analysisTimeoutMs: s.requestTimeoutMs } : {}),
      ...this.#o.session,
      // Consent, history, moderation and /forget: the use cases a voice note goes through too.
      ...channelUseCases(s, {
        guildId: guild.id,
        scope: () => listening.scope,
        moderating: () => listening.mode === 'continuous',
        postAlert: async (alert) => void (await postToGuildChannel(this.#o.client, guild.id, alert.logChannelId, renderAlert(alert), s.logger)),
      }),
      onStreamError: (userId, e) => guard?.onReceiveError(userId, e) ?? false,
      displayName: (userId) => {
        const m = guild.members.cache.get(userId);
        return m?.displayName ?? this.#o.client.users.cache.get(userId)?.username ?? userId;
      },
      onSpeakerCapped: (userId) => {
        const name = guild.members.cache.get(userId)?.displayName ?? userId;
        void this.#announce(listening, ds(listening.lang).speakerCap(name, session.mood.limits.maxSpeakers));
      },
    });
    listening = { session, connection, mode: options.mode, scope, textChannelId: options.textChannelId, lang: options.lang };
    this.#byGuild.set(guild.id, listening);
    // Members already in the channel are admitted now, not at their next pause in speech.
    session.attach(receiver, this.#membersIn(guild, channelId));
    if (connection) this.#watch(listening, connection);
    const consentMode = (await s.settings.getChatSettings('discord', guild.id)).consentMode;
    await this.#announce(listening, ds(options.lang).listeningStarted(`<#${channelId}>`, consentMode, options.seconds));
    return listening;
  }

  /** Stops listening in a guild; the session's state is returned for a last summary. */
  async stop(guildId: string, why: 'requested' | 'done' | 'kicked' | 'replaced' | 'shutdown'): Promise<Listening | undefined> {
    const l = this.#byGuild.get(guildId);
    if (!l) return undefined;
    this.#byGuild.delete(guildId);
    await l.session.stop();
    this.#o.services.logger.info({ guildId, channelId: l.scope.channelId, why, ...l.session.stats }, 'stopped listening in a voice channel');
    if (l.connection && l.connection.state.status !== VoiceConnectionStatus.Destroyed) l.connection.destroy();
    const where = `<#${l.scope.channelId}>`;
    if (why === 'kicked') await this.#announce(l, ds(l.lang).listeningKicked(where));
    else if (why === 'requested' || why === 'done') await this.#announce(l, ds(l.lang).listeningStopped(where));
    return l;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#byGuild.keys()].map((g) => this.stop(g, 'shutdown')));
  }

  /** A member opted out or asked to be forgotten: drop them from the live sessions (of one server, or all) at once. */
  forgetUser(userId: string, guildId?: string): void {
    for (const l of this.#byGuild.values()) if (guildId === undefined || l.scope.guildId === guildId) l.session.forgetSpeaker(userId);
  }

  #watch(l: Listening, connection: VoiceConnection): void {
    connection.on('stateChange', (oldState: VoiceConnectionState, newState: VoiceConnectionState) => {
      if (this.#byGuild.get(l.scope.guildId) !== l) return;
      if (newState.status === VoiceConnectionStatus.Disconnected) {
        // Close code 4014 (Discord: disconnected — kicked, or the channel deleted) with the bot's
        // voice state already cleared on the main gateway: gone for good, stop now.
        const closeCode = newState.reason === VoiceConnectionDisconnectReason.WebSocketClose ? newState.closeCode : undefined;
        const guild = this.#o.client.guilds.cache.get(l.scope.guildId);
        if (closeCode === 4014 && !guild?.members.me?.voice.channelId) {
          void this.stop(l.scope.guildId, 'kicked');
          return;
        }
        // Moved to another channel or a network hiccup: it reconnects by itself within seconds
        // (4006 session no longer valid: @discordjs/voice rejoins; 4015 server crashed: it resumes).
        // Kicked (or the channel deleted): it does not, and we stop.
        const grace = this.#o.reconnectGraceMs ?? 5_000;
        Promise.race([
          entersState(connection, VoiceConnectionStatus.Signalling, grace),
          entersState(connection, VoiceConnectionStatus.Connecting, grace),
        ]).catch(() => {
          void this.stop(l.scope.guildId, 'kicked');
        });
      } else if (newState.status === VoiceConnectionStatus.Ready && oldState.status !== VoiceConnectionStatus.Ready) {
        // After a reconnect the receiver is fresh: follow a move and subscribe again.
        const channelId = connection.joinConfig.channelId;
        if (channelId && channelId !== l.scope.channelId) {
          const moved = this.#o.client.channels.cache.get(channelId);
          l.scope = { ...l.scope, channelId, channelName: moved && 'name' in moved && moved.name ? moved.name : channelId };
          l.session.channelId = channelId;
        }
        // A resume keeps the receiver (and the live streams); a rejoin or a new voice server
        // (VOICE_SERVER_UPDATE) builds new networking: members present are admitted again.
        const guild = this.#o.client.guilds.cache.get(l.scope.guildId);
        l.session.attach(connection.receiver, guild ? this.#membersIn(guild, l.scope.channelId) : []);
      } else if (newState.status === VoiceConnectionStatus.Destroyed) {
        void this.stop(l.scope.guildId, 'kicked');
      }
    });
  }

  /** Members (not bots) in a voice channel, from the gateway's voice states. */
  #membersIn(guild: Guild, channelId: string): string[] {
    const me = this.#o.client.user?.id;
    return [...guild.voiceStates.cache.values()].filter((v) => v.channelId === channelId && v.id !== me && !v.member?.user.bot).map((v) => v.id);
  }

  /** A moderator server-deafens (we hear nothing) or server-mutes the bot: said in the channel. */
  #onVoiceState(before: VoiceState, after: VoiceState): void {
    if (after.id !== this.#o.client.user?.id) return;
    const l = this.#byGuild.get(after.guild.id);
    if (!l) return;
    const where = `<#${l.scope.channelId}>`;
    const s = ds(l.lang);
    if (Boolean(after.serverDeaf) !== Boolean(before.serverDeaf)) {
      this.#o.services.logger.warn({ guildId: after.guild.id, serverDeaf: after.serverDeaf }, 'the bot was server-deafened or undeafened in a voice channel');
      void this.#announce(l, after.serverDeaf ? s.serverDeafened(where) : s.serverUndeafened(where));
    }
    if (Boolean(after.serverMute) !== Boolean(before.serverMute) && after.serverMute) void this.#announce(l, s.serverMuted(where));
  }

  async #announce(l: Listening, content: string): Promise<void> {
    // The voice channel's own text chat first (where the listeners are), else where we were asked.
    if (!(await this.#post(l.scope.channelId, { content }))) await this.#post(l.textChannelId, { content });
  }

  async #post(channelId: string, payload: DiscordPayload): Promise<boolean> {
    try {
      const channel = await this.#o.client.channels.fetch(channelId);
      if (!channel || !channel.isSendable()) return false;
      await channel.send(forChannel(payload));
      return true;
    } catch (e) {
      this.#o.services.logger.warn({ err: e, channelId }, 'could not post to a Discord channel');
      return false;
    }
  }
}
