/**
 * A fake Discord voice server for the REAL @discordjs/voice client (written from Discord's voice
 * documentation and the facts in ../shared/docs/discord-voice.md; no code of the library's):
 *
 * - It answers the bot's op 4 on the fake main gateway (FakeDiscord) with VOICE_STATE_UPDATE (the
 *   bot's own state, with a session id) and VOICE_SERVER_UPDATE (token, endpoint `127.0.0.1:port`).
 * - Voice gateway v8 over TLS (a throwaway certificate for 127.0.0.1, see testCertificate.ts):
 *   Hello, Identify → Ready, Select Protocol → Session Description (`aead_aes256_gcm_rtpsize`),
 *   Resume → Resumed, Heartbeat → Heartbeat ACK, Speaking (op 5), Clients Connect (op 11) and
 *   Client Disconnect (op 13); every server message carries a sequence number.
 * - UDP on 127.0.0.1: IP discovery, and members' Opus packets as RTP with Discord's header
 *   extension, AES-256-GCM over the extension body and payload with the RTP header as AAD, the
 *   16-byte tag and a 4-byte big-endian counter (the IV is that counter and 8 zero bytes).
 * - Faults on demand: close the voice socket with any code (4015 crash → the client resumes; 4006
 *   → it must rejoin; 4014 with the bot's state cleared on the main gateway = kicked), and move the
 *   bot to another endpoint with a new VOICE_SERVER_UPDATE.
 * - DAVE hooks (`dave`): binary opcodes, the protocol version offered, and the per-member frame
 *   transform that adds the end-to-end layer (see daveServer.ts).
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { FakeDiscord } from './server.ts';
import { testCertificate } from './testCertificate.ts';
import { OPEN, WebSocketServer, type WsServer, type WsSocket } from './ws.ts';

/** Voice gateway opcodes (Discord's documentation, v8). */
export const VOP = {
  identify: 0,
  selectProtocol: 1,
  ready: 2,
  heartbeat: 3,
  sessionDescription: 4,
  speaking: 5,
  heartbeatAck: 6,
  resume: 7,
  hello: 8,
  resumed: 9,
  clientsConnect: 11,
  clientDisconnect: 13,
} as const;

const MODE = 'aead_aes256_gcm_rtpsize';
/** One-byte RTP header extension (0xBEDE) with a single element (audio level), as Discord sends. */
const EXTENSION_BODY = Buffer.from([0x10, 0x7f, 0x00, 0x00]);

/** What a DAVE-speaking server plugs in (daveServer.ts). */
export interface DaveHooks {
  /** The dave_protocol_version of the Session Description. */
  readonly protocolVersion: number;
  /** Called after the Session Description went out on a fresh (not resumed) connection. */
  onSessionReady(conn: VoiceGatewayConnection): void;
  /** A binary message from the client (opcode, payload). */
  onBinary(conn: VoiceGatewayConnection, op: number, payload: Buffer): void;
  /** A JSON message with an opcode the base server does not know (e.g. 23 transition ready, 31 invalid commit). */
  onJson(conn: VoiceGatewayConnection, op: number, d: any): void;
  /** The frame a member sends for an Opus packet (the DAVE layer added, or not). */
  frame(userId: string, opus: Uint8Array): Uint8Array;
}

/** One voice gateway connection of the bot (a fresh one after a resume or rejoin). */
export class VoiceGatewayConnection {
  readonly socket: WsSocket;
  readonly #server: FakeVoiceServer;
  /** Members whose SSRC was announced (op 5) on this connection. */
  readonly announced = new Set<string>();
  session: BotVoiceSession | undefined;
  resumed = false;

  constructor(server: FakeVoiceServer, socket: WsSocket) {
    this.#server = server;
    this.socket = socket;
  }

  json(op: number, d: unknown): void {
    if (this.socket.readyState !== OPEN) return;
    this.socket.send(JSON.stringify({ op, d, seq: this.#server.nextSeq() }));
  }

  binary(op: number, payload: Uint8Array): void {
    if (this.socket.readyState !== OPEN) return;
    const head = Buffer.alloc(3);
    head.writeUInt16BE(this.#server.nextSeq(), 0);
    head.writeUInt8(op, 2);
    this.socket.send(Buffer.concat([head, payload]));
  }
}

/** What the server knows about the bot's voice session (from op 4 to disconnect). */
export interface BotVoiceSession {
  guildId: string;
  channelId: string;
  userId: string;
  sessionId: string;
  token: string;
  ssrc: number;
  secretKey?: Buffer;
  /** Where the bot's UDP socket is (from IP discovery). */
  client?: { address: string; port: number };
}

interface MemberStream {
  ssrc: number;
  sequence: number;
  timestamp: number;
  counter: number;
}

export interface FakeVoiceServerEvents {
  identify: [BotVoiceSession];
  sessionDescription: [VoiceGatewayConnection];
  resumed: [VoiceGatewayConnection];
  heartbeat: [];
  closed: [number];
}

export class FakeVoiceServer extends EventEmitter<FakeVoiceServerEvents> {
  /** Every message the client sent (JSON: op and d; binary: op and byte length), for assertions. */
  readonly received: { op: number; d?: any; bytes?: number }[] = [];
  /** Closes the server saw from the client side or caused, with their codes. */
  readonly closes: number[] = [];
  heartbeats = 0;
  identifies = 0;
  resumes = 0;
  dave: DaveHooks | undefined;

  #https: Server | undefined;
  #wss: WsServer | undefined;
  #udp: UdpSocket | undefined;
  #port = 0;
  #udpPort = 0;
  #seq = 0;
  #nextSsrc = 1000;
  #gateway: FakeDiscord | undefined;
  #session: BotVoiceSession | undefined;
  #conn: VoiceGatewayConnection | undefined;
  /** Members in the bot's voice channel, for op 11 (and DAVE's recognised user ids). */
  readonly present = new Set<string>();
  readonly #members = new Map<string, MemberStream>();
  #heartbeatIntervalMs: number;

  constructor(options: { heartbeatIntervalMs?: number } = {}) {
    super();
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1_000;
  }

  async start(): Promise<this> {
    const { key, cert } = await testCertificate();
    this.#https = createServer({ key, cert });
    this.#wss = new WebSocketServer({ server: this.#https });
    this.#wss.on('connection', (socket) => this.#onSocket(socket));
    await new Promise<void>((resolve) => this.#https!.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#https.address() as AddressInfo).port;
    this.#udp = createSocket('udp4');
    this.#udp.on('message', (msg, rinfo) => this.#onUdp(msg, rinfo));
    await new Promise<void>((resolve) => this.#udp!.bind(0, '127.0.0.1', resolve));
    this.#udpPort = this.#udp.address().port;
    return this;
  }

  /** `host:port`, as VOICE_SERVER_UPDATE carries it. */
  get endpoint(): string {
    return `127.0.0.1:${this.#port}`;
  }

  get session(): BotVoiceSession | undefined {
    return this.#session;
  }

  get connection(): VoiceGatewayConnection | undefined {
    return this.#conn;
  }

  nextSeq(): number {
    this.#seq = (this.#seq + 1) & 0xffff;
    return this.#seq;
  }

  /** Answers the bot's op 4 on this main gateway (join: state + server update; leave: state with no channel). */
  attach(gateway: FakeDiscord): this {
    this.#gateway = gateway;
    gateway.onVoiceStateRequest = (d) => {
      const base = {
        guild_id: d.guild_id,
        user_id: gateway.botUser.id,
        deaf: false,
        mute: false,
        self_deaf: d.self_deaf,
        self_mute: d.self_mute,
        self_video: false,
        suppress: false,
        request_to_speak_timestamp: null,
      };
      if (!d.channel_id) {
        this.#session = undefined;
        gateway.dispatch('VOICE_STATE_UPDATE', { ...base, channel_id: null, session_id: 'gone' });
        return;
      }
      // Discord gives a new voice session and token on every join request.
      this.#session = {
        guildId: d.guild_id,
        channelId: d.channel_id,
        userId: gateway.botUser.id,
        sessionId: randomBytes(8).toString('hex'),
        token: randomBytes(8).toString('hex'),
        ssrc: this.#nextSsrc++,
      };
      gateway.dispatch('VOICE_STATE_UPDATE', { ...base, channel_id: d.channel_id, session_id: this.#session.sessionId });
      gateway.dispatch('VOICE_SERVER_UPDATE', { token: this.#session.token, guild_id: d.guild_id, endpoint: this.endpoint });
    };
    return this;
  }

  /**
   * Moves the bot's voice session to another voice server (Discord's voice server changed): a new
   * VOICE_SERVER_UPDATE with that server's endpoint; the client must connect there.
   */
  handOver(to: FakeVoiceServer): void {
    const s = this.#session;
    if (!s || !this.#gateway) throw new Error('no voice session to hand over');
    to.adopt(this.#gateway, s, [...this.present]);
    this.#session = undefined;
    this.#gateway.dispatch('VOICE_SERVER_UPDATE', { token: s.token, guild_id: s.guildId, endpoint: to.endpoint });
  }

  /**
   * A moderator moves the bot to another voice channel: the main gateway sends its new voice state
   * (same session) and a VOICE_SERVER_UPDATE with a new token; the client connects again.
   */
  move(channelId: string): void {
    const s = this.#session;
    if (!s || !this.#gateway) throw new Error('no voice session to move');
    s.channelId = channelId;
    s.token = randomBytes(8).toString('hex');
    delete s.secretKey;
    delete s.client;
    this.#gateway.dispatch('VOICE_STATE_UPDATE', {
      guild_id: s.guildId,
      channel_id: channelId,
      user_id: s.userId,
      session_id: s.sessionId,
      deaf: false,
      mute: false,
      self_deaf: false,
      self_mute: true,
      self_video: false,
      suppress: false,
      request_to_speak_timestamp: null,
    });
    this.#gateway.dispatch('VOICE_SERVER_UPDATE', { token: s.token, guild_id: s.guildId, endpoint: this.endpoint });
  }

  /** Takes over a session handed over by another fake server. */
  adopt(gateway: FakeDiscord, session: BotVoiceSession, present: string[]): void {
    this.attach(gateway);
    this.#session = { ...session, ssrc: this.#nextSsrc++ };
    delete this.#session.secretKey;
    delete this.#session.client;
    for (const id of present) this.present.add(id);
  }

  /** Closes the bot's voice socket with a close code (4015 crash, 4006 session invalid, 4014 disconnected…). */
  closeVoice(code: number): void {
    this.#conn?.socket.close(code, 'fake voice server');
  }

  /**
   * Kicked by a moderator (or the channel deleted): the main gateway says the bot is in no channel,
   * and the voice socket closes with 4014.
   */
  kick(): void {
    const s = this.#session;
    if (!s || !this.#gateway) throw new Error('no voice session to kick');
    this.#session = undefined;
    this.#gateway.dispatch('VOICE_STATE_UPDATE', {
      guild_id: s.guildId,
      channel_id: null,
      user_id: s.userId,
      session_id: s.sessionId,
      deaf: false,
      mute: false,
      self_deaf: false,
      self_mute: true,
      self_video: false,
      suppress: false,
      request_to_speak_timestamp: null,
    });
    this.closeVoice(4014);
  }

  /** A member is in the channel (op 11 to the bot when it is connected). */
  memberJoined(userId: string): void {
    this.present.add(userId);
    this.#conn?.json(VOP.clientsConnect, { user_ids: [userId] });
  }

  /** A member left the channel (op 13). */
  memberLeft(userId: string): void {
    this.present.delete(userId);
    this.#conn?.json(VOP.clientDisconnect, { user_id: userId });
  }

  /** The SSRC a member sends with. */
  ssrcOf(userId: string): number {
    let m = this.#members.get(userId);
    if (!m) {
      m = { ssrc: this.#nextSsrc++, sequence: 0, timestamp: 0, counter: 0 };
      this.#members.set(userId, m);
    }
    return m.ssrc;
  }

  /**
   * A member talks: op 5 (once per connection) maps their SSRC, then each Opus packet goes out
   * as an encrypted RTP packet (20 ms of timestamp apart). Packets are paced by the event loop,
   * not by the clock (a few per turn), so the receiver in the same process keeps up on a loaded
   * machine; `frames` maps an Opus packet to the frame sent (the DAVE layer, or none).
   */
  async speak(tracks: Record<string, Uint8Array[]>, options: { frame?: (userId: string, opus: Uint8Array, index: number) => Uint8Array } = {}): Promise<void> {
    const users = Object.keys(tracks);
    const longest = Math.max(0, ...users.map((u) => tracks[u].length));
    for (let k = 0; k < longest; k++) {
      for (const userId of users) {
        const opus = tracks[userId][k];
        if (!opus) continue;
        const frame = options.frame ? options.frame(userId, opus, k) : (this.dave?.frame(userId, opus) ?? opus);
        this.sendFrame(userId, frame);
      }
      if (k % 4 === 3) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // Let the last datagrams be read before the caller goes on.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Sends one media frame of a member to the bot (announcing the member's SSRC first on this connection). */
  sendFrame(userId: string, frame: Uint8Array): boolean {
    const s = this.#session;
    const conn = this.#conn;
    if (!s?.secretKey || !s.client || !conn || conn.session !== s) return false;
    const ssrc = this.ssrcOf(userId);
    const m = this.#members.get(userId)!;
    if (!conn.announced.has(userId)) {
      conn.announced.add(userId);
      conn.json(VOP.speaking, { user_id: userId, ssrc, speaking: 1 });
    }
    m.sequence = (m.sequence + 1) & 0xffff;
    m.timestamp = (m.timestamp + 960) >>> 0;
    m.counter = (m.counter + 1) >>> 0;
    const header = Buffer.alloc(16);
    header[0] = 0x90; // version 2, extension bit
    header[1] = 0x78; // payload type 120 (Opus)
    header.writeUInt16BE(m.sequence, 2);
    header.writeUInt32BE(m.timestamp, 4);
    header.writeUInt32BE(ssrc, 8);
    header.writeUInt16BE(0xbede, 12);
    header.writeUInt16BE(EXTENSION_BODY.length / 4, 14);
    const nonce = Buffer.alloc(12);
    nonce.writeUInt32BE(m.counter, 0);
    const cipher = createCipheriv('aes-256-gcm', s.secretKey, nonce);
    cipher.setAAD(header);
    const body = Buffer.concat([cipher.update(EXTENSION_BODY), cipher.update(frame), cipher.final()]);
    const packet = Buffer.concat([header, body, cipher.getAuthTag(), nonce.subarray(0, 4)]);
    this.#udp!.send(packet, s.client.port, s.client.address);
    return true;
  }

  async close(): Promise<void> {
    if (this.#gateway?.onVoiceStateRequest) this.#gateway.onVoiceStateRequest = undefined;
    for (const c of this.#wss?.clients ?? []) c.terminate();
    await new Promise<void>((resolve) => this.#wss?.close(() => resolve()) ?? resolve());
    this.#https?.closeAllConnections();
    await new Promise<void>((resolve) => this.#https?.close(() => resolve()) ?? resolve());
    await new Promise<void>((resolve) => (this.#udp ? this.#udp.close(() => resolve()) : resolve()));
  }

  // ---- voice gateway ------------------------------------------------------------------------

  #onSocket(socket: WsSocket): void {
    const conn = new VoiceGatewayConnection(this, socket);
    socket.on('error', () => undefined);
    socket.on('close', (code) => {
      this.closes.push(code);
      if (this.#conn === conn) this.#conn = undefined;
      this.emit('closed', code);
    });
    socket.on('message', (raw, isBinary) => {
      if (isBinary) {
        const op = raw.readUInt8(0);
        this.received.push({ op, bytes: raw.length - 1 });
        this.dave?.onBinary(conn, op, raw.subarray(1));
        return;
      }
      const msg = JSON.parse(raw.toString('utf8')) as { op: number; d: any };
      this.received.push(msg);
      this.#onJson(conn, msg.op, msg.d);
    });
    conn.json(VOP.hello, { heartbeat_interval: this.#heartbeatIntervalMs });
  }

  #onJson(conn: VoiceGatewayConnection, op: number, d: any): void {
    const s = this.#session;
    switch (op) {
      case VOP.identify: {
        this.identifies++;
        if (!s || d.token !== s.token || d.session_id !== s.sessionId || d.server_id !== s.guildId || d.user_id !== s.userId) {
          conn.socket.close(4004, 'Authentication failed.');
          return;
        }
        conn.session = s;
        this.#conn = conn;
        this.emit('identify', s);
        conn.json(VOP.ready, {
          ssrc: s.ssrc,
          ip: '127.0.0.1',
          port: this.#udpPort,
          modes: [MODE, 'aead_xchacha20_poly1305_rtpsize'],
          heartbeat_interval: this.#heartbeatIntervalMs,
        });
        return;
      }
      case VOP.selectProtocol: {
        if (!s || conn.session !== s || d?.protocol !== 'udp' || d.data?.mode !== MODE) {
          conn.socket.close(4016, 'Unknown encryption mode.');
          return;
        }
        s.client = { address: d.data.address, port: d.data.port };
        s.secretKey = randomBytes(32);
        conn.json(VOP.sessionDescription, { mode: MODE, secret_key: [...s.secretKey], dave_protocol_version: this.dave?.protocolVersion ?? 0 });
        if (this.present.size > 0) conn.json(VOP.clientsConnect, { user_ids: [...this.present] });
        this.emit('sessionDescription', conn);
        this.dave?.onSessionReady(conn);
        return;
      }
      case VOP.resume: {
        this.resumes++;
        if (!s || !s.secretKey || d.token !== s.token || d.session_id !== s.sessionId || d.server_id !== s.guildId) {
          conn.socket.close(4006, 'Session no longer valid.');
          return;
        }
        conn.session = s;
        conn.resumed = true;
        this.#conn = conn;
        conn.json(VOP.resumed, null);
        this.emit('resumed', conn);
        return;
      }
      case VOP.heartbeat:
        this.heartbeats++;
        conn.json(VOP.heartbeatAck, { t: d?.t });
        this.emit('heartbeat');
        return;
      case VOP.speaking:
        return; // the bot's own speaking state: it never speaks
      default:
        this.dave?.onJson(conn, op, d);
    }
  }

  // ---- UDP ----------------------------------------------------------------------------------

  #onUdp(msg: Buffer, rinfo: { address: string; port: number }): void {
    // IP discovery: type 1, length 70, SSRC, 64 bytes of address, 2 of port.
    if (msg.length === 74 && msg.readUInt16BE(0) === 1 && msg.readUInt16BE(2) === 70) {
      const reply = Buffer.alloc(74);
      reply.writeUInt16BE(2, 0);
      reply.writeUInt16BE(70, 2);
      reply.writeUInt32BE(msg.readUInt32BE(4), 4);
      reply.write(rinfo.address, 8, 'utf8');
      reply.writeUInt16BE(rinfo.port, 72);
      this.#udp!.send(reply, rinfo.port, rinfo.address);
    }
    // Anything else is the client's keep-alive (8 bytes) or its own audio (it is muted): ignored.
  }
}

/** The next event of this kind from the fake voice server, as a promise; rejects after `timeoutMs`. */
export function next<K extends keyof FakeVoiceServerEvents>(server: FakeVoiceServer, event: K, timeoutMs = 20_000): Promise<FakeVoiceServerEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fake voice server: no '${String(event)}' within ${timeoutMs} ms`)), timeoutMs);
    server.once(event, ((...args: FakeVoiceServerEvents[K]) => {
      clearTimeout(timer);
      resolve(args);
    }) as never);
  });
}
