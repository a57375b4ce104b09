/**
 * A fake Discord for end-to-end tests: REST (node:http) and the gateway (WebSocket, `ws`) on one
 * 127.0.0.1 port, driven by the REAL discord.js client.
 *
 * REST: GET /gateway/bot (points at our own ws://), /users/@me, /applications/@me, /channels/:id,
 * application command PUTs (global and per guild), channel messages POST/PATCH (JSON and multipart
 * with files), interaction callbacks, webhook follow-ups and @original edits, and attachment
 * downloads under /attachments/. Paths are accepted with or without the `/api/v10` prefix.
 * Gateway: HELLO, heartbeat ACK, IDENTIFY → READY + GUILD_CREATE, then whatever tests dispatch.
 * Shard-aware like Discord: several connections may IDENTIFY with `shard: [id, total]`; each gets
 * READY and GUILD_CREATE for its own guilds only ((guild_id >> 22) % total), a guild's events are
 * dispatched only on the shard that owns it, and direct messages on shard 0. GET /gateway/bot
 * answers the recommended shard count (`shards` option, default 1).
 * Every REST call is recorded for assertions; a wrong token gets 401 like the real API.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OPEN, WebSocketServer, type WsServer, type WsSocket } from './ws.ts';

export interface RecordedCall {
  method: string;
  /** Route without the /api/vN prefix, e.g. "/channels/10/messages". */
  path: string;
  query: URLSearchParams;
  /** JSON body, or the payload_json part of a multipart body. */
  body: any;
  files: { field: string; filename: string; contentType: string; bytes: Uint8Array }[];
  seq: number;
}

export interface FakeUser {
  id: string;
  username: string;
  global_name?: string | null;
  bot?: boolean;
}

export interface FakeChannel {
  id: string;
  name: string;
  /** 0 text, 2 voice. */
  type: number;
  /** Discord's overwrite objects (type 0 role, 1 member; allow/deny as bit strings). */
  permission_overwrites?: { id: string; type: 0 | 1; allow: string; deny: string }[];
  /** The bot lacks Read Message History here: like Discord, replies (message_reference) are refused with 403 160002. */
  noHistory?: boolean;
}

export interface FakeGuild {
  id: string;
  name: string;
  ownerId: string;
  channels: FakeChannel[];
  members: FakeUser[];
}

export interface FakeDiscordOptions {
  token: string;
  botUser?: FakeUser;
  applicationId?: string;
  guilds: FakeGuild[];
  /** What GET /gateway/bot recommends (default 1). */
  shards?: number;
}

/** The shard of a guild, as Discord routes its events. */
export function shardOf(guildId: string, totalShards: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(totalShards));
}

/** A gateway connection's life, in order: identified as a shard (READY sent), or closed. */
export interface ShardEvent {
  kind: 'identify' | 'close';
  shard: number;
  total: number;
}

/** Permission bits we use (discord-api-types PermissionFlagsBits). */
export const PERMISSIONS = {
  none: '0',
  member: String((1n << 10n) | (1n << 11n) | (1n << 20n)), // ViewChannel, SendMessages, Connect
  manageGuild: String((1n << 5n) | (1n << 10n) | (1n << 11n) | (1n << 20n)),
} as const;

let snowflake = 1_300_000_000_000_000_000n;
export function nextSnowflake(): string {
  snowflake += 1n;
  return String(snowflake);
}

export class FakeDiscord {
  readonly token: string;
  readonly botUser: FakeUser;
  readonly applicationId: string;
  readonly guilds: FakeGuild[];
  readonly calls: RecordedCall[] = [];
  unauthorized = 0;
  identified = false;
  /** Recommended shard count answered by GET /gateway/bot. */
  recommendedShards: number;
  /** Identifies (READY sent) and closes of shard connections, in order. */
  readonly shardEvents: ShardEvent[] = [];
  /** Paths of the attachment downloads served, in order. */
  readonly attachmentGets: string[] = [];
  /** CDN downloads that carried an Authorization header (a leaked token: the CDN URL is signed and needs none). */
  cdnAuthorized = 0;
  /** Every message the bot wrote (create, edit, interaction response, follow-up) and its allowed_mentions. */
  readonly messageWrites: { path: string; allowedMentions: any }[] = [];
  /** Message bodies refused as Discord would (400 Invalid Form Body), with the reasons. */
  readonly invalidBodies: { path: string; problems: string[] }[] = [];
  /** Interaction ids already answered: a second callback is refused (40060) like on Discord. */
  readonly #answered = new Set<string>();
  /** The bot's op 4 (voice state update) payloads, in order. */
  readonly voiceStateRequests: { guild_id: string; channel_id: string | null; self_mute: boolean; self_deaf: boolean }[] = [];
  /** Answers the bot's op 4 (a fake voice server attaches here: VOICE_STATE_UPDATE + VOICE_SERVER_UPDATE). */
  onVoiceStateRequest: ((d: FakeDiscord['voiceStateRequests'][number]) => void) | undefined;
  /** REST failures to inject: the next call matching `method` and `path` gets `status` (then the rule is used up). */
  readonly failures: { method: string; path: RegExp; status: number; message: string; code: number }[] = [];

  #server: Server | undefined;
  #wss: WsServer | undefined;
  #port = 0;
  #seq = 0;
  #sockets = new Set<WsSocket>();
  /** The shard each identified connection is. */
  #shardOfSocket = new Map<WsSocket, [number, number]>();
  /** Shards whose IDENTIFYs wait (no READY) until released: see holdIdentify(). */
  #held = new Map<number, { identified: () => void; waiting: (() => void)[] }>();
  #shardListeners = new Set<() => void>();
  #attachments = new Map<string, { bytes: Uint8Array; contentType: string }>();
  #callListeners = new Set<() => void>();
  #identifyListeners = new Set<() => void>();

  constructor(options: FakeDiscordOptions) {
    this.token = options.token;
    this.botUser = options.botUser ?? { id: '900000000000000001', username: 'voicemood', bot: true };
    this.applicationId = options.applicationId ?? '900000000000000002';
    this.guilds = options.guilds;
    this.recommendedShards = options.shards ?? 1;
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) send(res, 500, { message: `fake server error: ${String(e)}`, code: 0 });
      });
    });
    this.#wss = new WebSocketServer({ server: this.#server });
    this.#wss.on('connection', (socket) => this.#onSocket(socket));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  /** The value for DISCORD_API_BASE (discord.js appends /v10). */
  get apiBase(): string {
    return `http://127.0.0.1:${this.#port}/api`;
  }

  /** The value for VOICEMOOD_DISCORD_CDN_HOSTS: attachments are served from this host:port. */
  get cdnHosts(): string {
    return `127.0.0.1:${this.#port}`;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.terminate();
    await new Promise<void>((resolve) => this.#wss?.close(() => resolve()) ?? resolve());
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }

  /** Serves bytes at a CDN-like URL and returns the attachment object Discord would send. */
  addAttachment(filename: string, bytes: Uint8Array, contentType: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const id = nextSnowflake();
    const path = `/attachments/${id}/${encodeURIComponent(filename)}`;
    this.#attachments.set(path, { bytes, contentType });
    const url = `${this.origin}${path}`;
    return { id, filename, size: bytes.length, url, proxy_url: url, content_type: contentType, ...extra };
  }

  /**
   * Sends a gateway DISPATCH to every identified connection whose shard owns the event's guild
   * (`guild_id`, or `id` for GUILD_CREATE/UPDATE/DELETE); events without a guild go to shard 0.
   */
  dispatch(t: string, d: unknown): void {
    const payload = JSON.stringify({ op: 0, t, s: ++this.#seq, d });
    const data = (d ?? {}) as { guild_id?: string; id?: string };
    const guildId = /^GUILD_(CREATE|UPDATE|DELETE)$/.test(t) ? data.id : data.guild_id;
    for (const s of this.#sockets) {
      const shard = this.#shardOfSocket.get(s);
      if (s.readyState !== OPEN || !shard) continue;
      const owner = guildId ? shardOf(guildId, shard[1]) : 0;
      if (owner === shard[0]) s.send(payload);
    }
  }

  /** Resolves when a client has identified (READY and GUILD_CREATE were sent). */
  async waitForIdentify(): Promise<void> {
    if (this.identified) return;
    await new Promise<void>((resolve) => this.#identifyListeners.add(resolve));
  }

  /** Resolves once shardEvents holds an event matching `match` (past or future). */
  async waitForShardEvent(match: (e: ShardEvent, index: number) => boolean, timeoutMs = 60_000): Promise<number> {
    return await new Promise<number>((resolve, reject) => {
      const check = (): boolean => {
        const i = this.shardEvents.findIndex(match);
        if (i < 0) return false;
        this.#shardListeners.delete(listener);
        clearTimeout(timer);
        resolve(i);
        return true;
      };
      const listener = (): void => void check();
      const timer = setTimeout(() => {
        this.#shardListeners.delete(listener);
        reject(new Error(`no matching shard event within ${timeoutMs} ms; events: ${JSON.stringify(this.shardEvents)}`));
      }, timeoutMs);
      this.#shardListeners.add(listener);
      check();
    });
  }

  /**
   * Holds the IDENTIFYs of `shard`: no READY until `release()`. `identified` resolves when the first
   * has arrived. A client that gives up waiting (discord.js: after 15 s) and identifies again is
   * held too, so the shard is surely not ready before release.
   */
  holdIdentify(shard: number): { identified: Promise<void>; release: () => void } {
    let identified!: () => void;
    const arrived = new Promise<void>((resolve) => (identified = resolve));
    const hold = { identified, waiting: [] as (() => void)[] };
    this.#held.set(shard, hold);
    return {
      identified: arrived,
      release: () => {
        if (this.#held.get(shard) === hold) this.#held.delete(shard);
        for (const ready of hold.waiting.splice(0)) ready();
      },
    };
  }

  #shardEvent(e: ShardEvent): void {
    this.shardEvents.push(e);
    for (const l of [...this.#shardListeners]) l();
  }

  /** Resolves with the first recorded call (past or future) that matches. */
  async waitForCall(match: (c: RecordedCall) => boolean, timeoutMs = 20_000): Promise<RecordedCall> {
    return await new Promise<RecordedCall>((resolve, reject) => {
      const check = (): boolean => {
        const hit = this.calls.find(match);
        if (!hit) return false;
        this.#callListeners.delete(listener);
        clearTimeout(timer);
        resolve(hit);
        return true;
      };
      const listener = (): void => void check();
      const timer = setTimeout(() => {
        this.#callListeners.delete(listener);
        reject(new Error(`no matching REST call within ${timeoutMs} ms; calls: ${this.calls.map((c) => `${c.method} ${c.path}`).join(', ')}`));
      }, timeoutMs);
      this.#callListeners.add(listener);
      check();
    });
  }

  // ---- payload builders --------------------------------------------------------------------

  user(id: string): FakeUser {
    if (id === this.botUser.id) return this.botUser;
    for (const g of this.guilds) for (const m of g.members) if (m.id === id) return m;
    throw new Error(`unknown fake user ${id}`);
  }

  /** A MESSAGE_CREATE payload in a guild text channel. */
  message(guildId: string, channelId: string, authorId: string, fields: Record<string, unknown>): Record<string, unknown> {
    return {
      ...baseMessage(channelId, guildId, this.user(authorId)),
      member: { roles: [], joined_at: new Date(0).toISOString(), deaf: false, mute: false, flags: 0 },
      ...fields,
    };
  }

  /** An INTERACTION_CREATE payload (type 2 = slash command, 3 = component). */
  interaction(
    guildId: string,
    channelId: string,
    userId: string,
    type: 2 | 3,
    data: Record<string, unknown>,
    options: { permissions?: string; message?: Record<string, unknown>; locale?: string } = {},
  ): Record<string, unknown> & { id: string; token: string } {
    const channel = this.guilds.find((g) => g.id === guildId)?.channels.find((c) => c.id === channelId);
    return {
      id: nextSnowflake(),
      application_id: this.applicationId,
      type,
      data,
      guild_id: guildId,
      channel_id: channelId,
      channel: { id: channelId, type: channel?.type ?? 0, name: channel?.name ?? 'general', guild_id: guildId },
      member: {
        user: userPayload(this.user(userId)),
        roles: [],
        permissions: options.permissions ?? PERMISSIONS.member,
        joined_at: new Date(0).toISOString(),
        deaf: false,
        mute: false,
        flags: 0,
      },
      token: `itoken-${nextSnowflake()}`,
      version: 1,
      app_permissions: PERMISSIONS.manageGuild,
      locale: options.locale ?? 'en-US',
      guild_locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': guildId },
      context: 0,
      ...(options.message ? { message: options.message } : {}),
    };
  }

  // ---- gateway ------------------------------------------------------------------------------

  #onSocket(socket: WsSocket): void {
    this.#sockets.add(socket);
    const gone = (): void => {
      this.#sockets.delete(socket);
      const shard = this.#shardOfSocket.get(socket);
      if (!shard) return;
      this.#shardOfSocket.delete(socket);
      this.#shardEvent({ kind: 'close', shard: shard[0], total: shard[1] });
    };
    socket.on('close', gone);
    socket.on('error', gone);
    socket.on('message', (raw) => {
      const msg = JSON.parse(raw.toString('utf8')) as { op: number; d: any };
      if (msg.op === 1) socket.send(JSON.stringify({ op: 11, d: null }));
      else if (msg.op === 2) this.#identify(socket, msg.d);
      else if (msg.op === 4) {
        this.voiceStateRequests.push(msg.d);
        this.onVoiceStateRequest?.(msg.d);
      }
    });
    socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null }));
  }

  #identify(socket: WsSocket, d: { token: string; shard?: [number, number] }): void {
    if (d.token !== this.token) {
      socket.close(4004, 'Authentication failed.');
      return;
    }
    const [id, total] = Array.isArray(d.shard) ? d.shard : [0, 1];
    if (!Number.isInteger(id) || !Number.isInteger(total) || total < 1 || id < 0 || id >= total) {
      socket.close(4010, 'Invalid shard.');
      return;
    }
    const hold = this.#held.get(id);
    if (hold) {
      hold.waiting.push(() => this.#ready(socket, id, total));
      hold.identified();
      return;
    }
    this.#ready(socket, id, total);
  }

  #ready(socket: WsSocket, id: number, total: number): void {
    if (socket.readyState !== OPEN) return;
    const send = (t: string, data: unknown): void => socket.send(JSON.stringify({ op: 0, t, s: ++this.#seq, d: data }));
    const mine = this.guilds.filter((g) => shardOf(g.id, total) === id);
    send('READY', {
      v: 10,
      user: userPayload(this.botUser),
      guilds: mine.map((g) => ({ id: g.id, unavailable: true })),
      session_id: `fake-session-${id}`,
      resume_gateway_url: `ws://127.0.0.1:${this.#port}`,
      shard: [id, total],
      application: { id: this.applicationId, flags: 0 },
    });
    for (const g of mine) send('GUILD_CREATE', this.#guildPayload(g));
    this.#shardOfSocket.set(socket, [id, total]);
    this.#shardEvent({ kind: 'identify', shard: id, total });
    this.identified = true;
    for (const l of this.#identifyListeners) l();
    this.#identifyListeners.clear();
  }

  #guildPayload(g: FakeGuild): Record<string, unknown> {
    return {
      id: g.id,
      name: g.name,
      icon: null,
      owner_id: g.ownerId,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      features: [],
      mfa_level: 0,
      system_channel_id: null,
      premium_tier: 0,
      preferred_locale: 'en-US',
      nsfw_level: 0,
      large: false,
      member_count: g.members.length + 1,
      unavailable: false,
      joined_at: new Date(0).toISOString(),
      roles: [
        { id: g.id, name: '@everyone', color: 0, hoist: false, position: 0, permissions: PERMISSIONS.member, managed: false, mentionable: false, flags: 0 },
      ],
      emojis: [],
      stickers: [],
      channels: g.channels.map((c, i) => ({
        id: c.id,
        name: c.name,
        type: c.type,
        position: i,
        guild_id: g.id,
        permission_overwrites: c.permission_overwrites ?? [],
        ...(c.type === 2 ? { bitrate: 64000, user_limit: 0 } : {}),
      })),
      threads: [],
      members: [this.botUser, ...g.members].map((u) => ({
        user: userPayload(u),
        roles: [],
        joined_at: new Date(0).toISOString(),
        deaf: false,
        mute: false,
        flags: 0,
      })),
      voice_states: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  // ---- REST ---------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = decodeURIComponent(url.pathname).replace(/^\/api(\/v\d+)?/, '');

    const attachment = this.#attachments.get(url.pathname);
    if (req.method === 'GET' && attachment) {
      if (req.headers.authorization) {
        this.cdnAuthorized++;
        send(res, 403, { message: 'fake CDN: a signed attachment URL takes no Authorization header', code: 0 });
        return;
      }
      this.attachmentGets.push(url.pathname);
      res.writeHead(200, { 'content-type': attachment.contentType, 'content-length': attachment.bytes.length });
      res.end(attachment.bytes);
      return;
    }

    const raw = await readBody(req);
    const interactionRoute = /^\/(interactions|webhooks)\//.test(path);
    if (!interactionRoute && req.headers.authorization !== `Bot ${this.token}`) {
      this.unauthorized++;
      send(res, 401, { message: '401: Unauthorized', code: 0 });
      return;
    }
    const { body, files } = await parseBody(req.headers['content-type'] ?? '', raw);
    this.calls.push({ method: req.method ?? 'GET', path, query: url.searchParams, body, files, seq: this.calls.length });
    for (const l of [...this.#callListeners]) l();

    const method = req.method ?? 'GET';
    const failure = this.failures.findIndex((f) => f.method === method && f.path.test(path));
    if (failure >= 0) {
      const [f] = this.failures.splice(failure, 1);
      send(res, f.status, { message: f.message, code: f.code });
      return;
    }
    const sendsMessage = (method === 'POST' || method === 'PATCH') && /^\/(channels\/\d+\/messages|webhooks\/|interactions\/)/.test(path);
    if (sendsMessage) {
      const payload = path.startsWith('/interactions/') ? body?.data : body;
      // Deferrals carry no message (type 5: flags only, type 6: nothing); everything else does.
      if (payload && (payload.content !== undefined || payload.embeds !== undefined || payload.components !== undefined || files.length > 0)) {
        this.messageWrites.push({ path, allowedMentions: payload.allowed_mentions });
      }
    }
    const problems = sendsMessage ? messageProblems(path.startsWith('/interactions/') ? body?.data : body) : [];
    if (problems.length > 0) {
      this.invalidBodies.push({ path, problems });
      send(res, 400, { message: 'Invalid Form Body', code: 50035, errors: problems });
      return;
    }
    let m: RegExpMatchArray | null;
    if (method === 'GET' && path === '/gateway/bot') {
      send(res, 200, {
        url: `ws://127.0.0.1:${this.#port}`,
        shards: this.recommendedShards,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
      });
    } else if (method === 'GET' && path === '/users/@me') {
      send(res, 200, userPayload(this.botUser));
    } else if (method === 'GET' && path === '/applications/@me') {
      send(res, 200, {
        id: this.applicationId,
        name: 'voicemood',
        flags: 0,
        bot_public: false,
        bot_require_code_grant: false,
        description: '',
        icon: null,
        owner: userPayload(this.botUser),
      });
    } else if (method === 'PUT' && (m = path.match(/^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/))) {
      const commands = (Array.isArray(body) ? body : []) as Record<string, unknown>[];
      send(
        res,
        200,
        commands.map((c) => ({ id: nextSnowflake(), application_id: m![1], version: '1', type: 1, ...(m![2] ? { guild_id: m![2] } : {}), ...c })),
      );
    } else if (method === 'GET' && (m = path.match(/^\/channels\/(\d+)$/))) {
      const found = this.#channel(m[1]);
      if (found)
        send(res, 200, {
          id: found.channel.id,
          name: found.channel.name,
          type: found.channel.type,
          guild_id: found.guild.id,
          position: 0,
          permission_overwrites: [],
        });
      else send(res, 404, { message: 'Unknown Channel', code: 10003 });
    } else if (method === 'POST' && (m = path.match(/^\/channels\/(\d+)\/messages$/))) {
      if (body?.message_reference && this.#channel(m[1])?.channel.noHistory) {
        send(res, 403, { message: 'Cannot reply without permission to read message history', code: 160002 });
        return;
      }
      send(res, 200, this.#messageObject(m[1], body, files));
    } else if (method === 'PATCH' && (m = path.match(/^\/channels\/(\d+)\/messages\/(\d+)$/))) {
      send(res, 200, { ...this.#messageObject(m[1], body, files), id: m[2] });
    } else if (method === 'POST' && (m = path.match(/^\/interactions\/(\d+)\/([^/]+)\/callback$/))) {
      if (this.#answered.has(m[1])) {
        send(res, 400, { message: 'Interaction has already been acknowledged.', code: 40060 });
        return;
      }
      this.#answered.add(m[1]);
      if (url.searchParams.get('with_response') === 'true') {
        send(res, 200, {
          interaction: {
            id: m[1],
            type: 2,
            activity_instance_id: null,
            response_message_id: null,
            response_message_loading: false,
            response_message_ephemeral: false,
          },
          resource: { type: body?.type ?? 4 },
        });
      } else {
        res.writeHead(204).end();
      }
    } else if ((method === 'PATCH' || method === 'GET') && (m = path.match(/^\/webhooks\/(\d+)\/([^/]+)\/messages\/(@original|\d+)$/))) {
      send(res, 200, { ...this.#messageObject('0', body ?? {}, files), id: m[3] === '@original' ? '1' : m[3], webhook_id: m[1] });
    } else if (method === 'POST' && (m = path.match(/^\/webhooks\/(\d+)\/([^/]+)$/))) {
      send(res, 200, { ...this.#messageObject('0', body, files), webhook_id: m[1] });
    } else {
      send(res, 404, { message: `fake Discord: no route ${method} ${path}`, code: 0 });
    }
  }

  /** Message writes that could ping someone: allowed_mentions missing or with a non-empty parse. */
  mentionLeaks(): { path: string; allowedMentions: any }[] {
    return this.messageWrites.filter((w) => !(Array.isArray(w.allowedMentions?.parse) && w.allowedMentions.parse.length === 0));
  }

  #channel(id: string): { guild: FakeGuild; channel: FakeChannel } | undefined {
    for (const guild of this.guilds) for (const channel of guild.channels) if (channel.id === id) return { guild, channel };
    return undefined;
  }

  #messageObject(channelId: string, body: any, files: RecordedCall['files']): Record<string, unknown> {
    const guildId = this.#channel(channelId)?.guild.id;
    return {
      ...baseMessage(channelId, guildId, this.botUser),
      content: body?.content ?? '',
      attachments: files.map((f) => ({
        id: nextSnowflake(),
        filename: f.filename,
        size: f.bytes.length,
        url: `${this.origin}/attachments/sent/${f.filename}`,
        proxy_url: `${this.origin}/attachments/sent/${f.filename}`,
        content_type: f.contentType,
      })),
      embeds: body?.embeds ?? [],
      components: body?.components ?? [],
      flags: body?.flags ?? 0,
    };
  }
}

function userPayload(u: FakeUser): Record<string, unknown> {
  return { id: u.id, username: u.username, global_name: u.global_name ?? null, discriminator: '0', avatar: null, bot: u.bot ?? false, public_flags: 0 };
}

/**
 * What Discord refuses in a message body (content and embed limits), written out here on its
 * own rather than borrowed from the bot, so that a mistake in the bot's fitting shows.
 */
function messageProblems(body: any): string[] {
  const problems: string[] = [];
  if (!body || typeof body !== 'object') return problems;
  if (typeof body.content === 'string' && body.content.length > 2000) problems.push(`content ${body.content.length} > 2000`);
  const embeds: any[] = Array.isArray(body.embeds) ? body.embeds : [];
  if (embeds.length > 10) problems.push(`${embeds.length} embeds > 10`);
  let total = 0;
  embeds.forEach((e, i) => {
    const len = (x: unknown) => (typeof x === 'string' ? x.length : 0);
    const check = (what: string, n: number, max: number) => n > max && problems.push(`embeds[${i}].${what} ${n} > ${max}`);
    check('title', len(e.title), 256);
    check('description', len(e.description), 4096);
    check('footer.text', len(e.footer?.text), 2048);
    check('author.name', len(e.author?.name), 256);
    const fields: any[] = Array.isArray(e.fields) ? e.fields : [];
    check('fields', fields.length, 25);
    fields.forEach((f, j) => {
      check(`fields[${j}].name`, len(f.name), 256);
      check(`fields[${j}].value`, len(f.value), 1024);
      if (!len(f.name) || !len(f.value)) problems.push(`embeds[${i}].fields[${j}] empty`);
      total += len(f.name) + len(f.value);
    });
    total += len(e.title) + len(e.description) + len(e.footer?.text) + len(e.author?.name);
  });
  if (total > 6000) problems.push(`embeds total ${total} > 6000`);
  return problems;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** JSON, or multipart/form-data (payload_json plus files[n]) parsed with the WHATWG FormData parser. */
async function parseBody(contentType: string, raw: Buffer): Promise<{ body: any; files: RecordedCall['files'] }> {
  if (raw.length === 0) return { body: undefined, files: [] };
  if (contentType.startsWith('application/json')) return { body: JSON.parse(raw.toString('utf8')), files: [] };
  if (contentType.startsWith('multipart/form-data')) {
    const form = await new Request('http://fake.invalid/', { method: 'POST', headers: { 'content-type': contentType }, body: raw }).formData();
    let body: any;
    const files: RecordedCall['files'] = [];
    for (const [field, value] of form) {
      if (typeof value === 'string') {
        if (field === 'payload_json') body = JSON.parse(value);
      } else {
        files.push({ field, filename: value.name, contentType: value.type, bytes: new Uint8Array(await value.arrayBuffer()) });
      }
    }
    return { body, files };
  }
  return { body: raw.toString('utf8'), files: [] };
}

/** The fields every message object carries; callers set content, attachments, embeds and the rest. */
function baseMessage(channelId: string, guildId: string | undefined, author: Parameters<typeof userPayload>[0]): Record<string, unknown> {
  return {
    id: nextSnowflake(),
    type: 0,
    channel_id: channelId,
    ...(guildId ? { guild_id: guildId } : {}),
    author: userPayload(author),
    content: '',
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
    flags: 0,
    components: [],
  };
}
