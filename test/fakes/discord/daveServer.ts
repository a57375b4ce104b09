/**
 * Discord's part of DAVE (end-to-end encrypted voice, MLS) for the fake voice server, offline:
 * `ts-mls` plays the MLS *external sender* (Discord's voice server) and each speaking member is a
 * real `@snazzah/davey` session (the library @discordjs/voice uses), so what the bot receives is
 * what real members' clients would send. Facts and payload layouts: ../shared/docs/discord-voice.md
 * and discord/dave-protocol (protocol.md).
 *
 * - op 25 external sender (binary) after the Session Description; op 26 the bot's key package.
 * - Adds and removes are external proposals (op 27: operation byte 0 = append, then the
 *   variable-length vector of MLSMessages), sent to every group member, the bot included; the
 *   first member commits, and the server announces that commit with a transition id (op 29) to
 *   members and sends the Welcome (op 30) to joiners. Transition id 0 takes effect at once; any
 *   other waits for the bot's op 23 (ready), then the server sends op 22 (execute).
 * - A bot that sends a new key package while in the group (it re-initialised, e.g. after op 31
 *   or a rejoin) is removed and added again with a fresh Welcome.
 * - Media: a member's frame is davey's encryptOpus(opus); `sendRaw(userId, n)` makes that
 *   member's next n frames go without the DAVE layer (what Discord calls passthrough).
 */
import { EventEmitter } from 'node:events';
import davey from '@snazzah/davey';
import {
  encodeExternalSender,
  encodeMlsMessage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  proposeExternal,
  type CiphersuiteImpl,
  type GroupInfo,
  type KeyPackage,
  type Proposal,
} from 'ts-mls';
import { decodeKeyPackage } from 'ts-mls/keyPackage.js';
import type { DaveHooks, FakeVoiceServer, VoiceGatewayConnection } from './voiceServer.ts';

/** DAVE opcodes (protocol.md). */
export const DOP = {
  prepareTransition: 21,
  executeTransition: 22,
  transitionReady: 23,
  prepareEpoch: 24,
  externalSender: 25,
  keyPackage: 26,
  proposals: 27,
  commitWelcome: 28,
  announceCommit: 29,
  welcome: 30,
  invalidCommitWelcome: 31,
} as const;

const CIPHERSUITE = 'MLS_128_DHKEMP256_AES128GCM_SHA256_P256';

/** MLS variable-length integer (RFC 9420 §2.1.2). */
function varint(n: number): Buffer {
  if (n < 0x40) return Buffer.from([n]);
  if (n < 0x4000) {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(0x4000 | n);
    return b;
  }
  const b = Buffer.alloc(4);
  b.writeUInt32BE((0x80000000 | n) >>> 0);
  return b;
}

function withTransition(transitionId: number, body: Uint8Array): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(transitionId);
  return Buffer.concat([head, body]);
}

/** Discord's MLS external sender for one voice channel: its op 25 payload, and signed external proposals as an op 27 vector. */
export class ExternalSender {
  readonly payload: Uint8Array;
  readonly #channelId: string;
  readonly #cs: CiphersuiteImpl;
  readonly #keys: { publicKey: Uint8Array; signKey: Uint8Array };

  private constructor(channelId: string, cs: CiphersuiteImpl, keys: { publicKey: Uint8Array; signKey: Uint8Array }) {
    this.#channelId = channelId;
    this.#cs = cs;
    this.#keys = keys;
    this.payload = encodeExternalSender({
      signaturePublicKey: keys.publicKey,
      credential: { credentialType: 'basic', identity: new TextEncoder().encode('discord') },
    });
  }

  static async create(channelId: string): Promise<ExternalSender> {
    const cs = await getCiphersuiteImpl(getCiphersuiteFromName(CIPHERSUITE));
    return new ExternalSender(channelId, cs, await cs.signature.keygen());
  }

  /** The variable-length vector of MLSMessages (op 27 without its operation byte) proposing these changes at `epoch`. */
  async proposals(epoch: bigint, proposals: Proposal[]): Promise<Buffer> {
    const groupId = Buffer.alloc(8);
    groupId.writeBigUInt64BE(BigInt(this.#channelId));
    // Tree and transcript hashes stay empty: an external sender's signature does not cover them.
    const groupInfo: GroupInfo = {
      groupContext: {
        version: 'mls10',
        cipherSuite: CIPHERSUITE,
        groupId,
        epoch,
        treeHash: new Uint8Array(),
        confirmedTranscriptHash: new Uint8Array(),
        extensions: [{ extensionType: 'external_senders', extensionData: this.payload }],
      },
      extensions: [],
      confirmationTag: new Uint8Array(),
      signer: 0,
      signature: new Uint8Array(),
    };
    const messages: Buffer[] = [];
    for (const p of proposals)
      messages.push(Buffer.from(encodeMlsMessage(await proposeExternal(groupInfo, p, this.#keys.publicKey, this.#keys.signKey, this.#cs))));
    const body = Buffer.concat(messages);
    return Buffer.concat([varint(body.length), body]);
  }
}

/** A key package as ts-mls reads it (davey's getSerializedKeyPackage is a raw KeyPackage). */
export function keyPackageOf(serialized: Uint8Array): KeyPackage {
  return decodeKeyPackage(serialized, 0)![0];
}

/** A transition id (uint16 BE) followed by an MLS commit or welcome: ops 29 and 30. */
export { withTransition };

export class FakeDave extends EventEmitter<{ welcome: [number]; commit: [number] }> implements DaveHooks {
  readonly protocolVersion = 1;
  /** The speaking members' own DAVE sessions (davey), in the group. */
  readonly members = new Map<string, InstanceType<typeof davey.DAVESession>>();
  /** What the bot sent: key packages (op 26), commits (op 28), invalid commit/welcome (op 31) and ready (op 23) transition ids. */
  readonly fromBot = { keyPackages: 0, commits: 0, invalid: [] as number[], ready: [] as number[] };
  /** Transition ids announced to the bot (op 29 commit or op 30 welcome), in order. */
  readonly transitions: { op: number; transitionId: number }[] = [];
  /** Transition id of the Welcome that adds the bot the first time (the case: 0). */
  firstWelcomeTransitionId = 0;

  readonly #server: FakeVoiceServer;
  readonly #channelId: string;
  readonly #botId: string;
  readonly #sender: ExternalSender;
  readonly #externalSender: Uint8Array;
  /** The group's leaves, as MLS fills them (leftmost blank first); null = blank. */
  readonly #leaves: (string | null)[] = [];
  readonly #raw = new Map<string, number>();
  readonly #corrupt = new Map<string, number>();
  readonly #awaitingReady = new Map<number, () => void>();
  #nextTransition = 1;
  #chain: Promise<void> = Promise.resolve();
  #errors: unknown[] = [];

  private constructor(server: FakeVoiceServer, channelId: string, botId: string, sender: ExternalSender) {
    super();
    this.#server = server;
    this.#channelId = channelId;
    this.#botId = botId;
    this.#sender = sender;
    this.#externalSender = sender.payload;
  }

  /** DAVE on a fake voice server, for the bot's voice channel. */
  static async attach(server: FakeVoiceServer, channelId: string, botId: string): Promise<FakeDave> {
    const dave = new FakeDave(server, channelId, botId, await ExternalSender.create(channelId));
    server.dave = dave;
    return dave;
  }

  get botInGroup(): boolean {
    return this.#leaves.includes(this.#botId);
  }

  /** Resolves when every MLS operation queued so far is done (rejects with the first error). */
  async settled(): Promise<void> {
    await this.#chain;
    if (this.#errors.length > 0) throw this.#errors[0];
  }

  /** A member joins the channel and the DAVE group (a commit with a new transition id if the bot is there). */
  addMember(userId: string): Promise<void> {
    return this.#queue(async () => {
      const session = new davey.DAVESession(1, userId, this.#channelId);
      session.setExternalSender(Buffer.from(this.#externalSender));
      const keyPackage = session.getSerializedKeyPackage();
      this.#server.memberJoined(userId);
      if (this.members.size === 0) {
        // The first member's own pending group (epoch 0) is the group.
        this.members.set(userId, session);
        this.#leaves.length = 0;
        this.#leaves.push(userId);
        return;
      }
      await this.#commit([{ proposalType: 'add', add: { keyPackage: keyPackageOf(keyPackage) } }], [{ userId, session }]);
    });
  }

  /** A member leaves: external Remove, committed, and op 13 to the bot. */
  removeMember(userId: string): Promise<void> {
    return this.#queue(async () => {
      const leaf = this.#leaves.indexOf(userId);
      if (leaf < 0) throw new Error(`${userId} is not in the DAVE group`);
      this.members.delete(userId);
      await this.#commit([{ proposalType: 'remove', remove: { removed: leaf } }], []);
      this.#server.memberLeft(userId);
    });
  }

  /** The member's next `frames` frames go without the DAVE layer (passthrough). */
  sendRaw(userId: string, frames: number): void {
    this.#raw.set(userId, frames);
  }

  /** The member's next `frames` DAVE frames arrive damaged (a flipped ciphertext byte): they cannot be decrypted. */
  sendCorrupt(userId: string, frames: number): void {
    this.#corrupt.set(userId, frames);
  }

  frame(userId: string, opus: Uint8Array): Uint8Array {
    const raw = this.#raw.get(userId) ?? 0;
    const session = this.members.get(userId);
    if (raw > 0) {
      this.#raw.set(userId, raw - 1);
      return opus;
    }
    if (!session?.ready) return opus;
    const frame = session.encryptOpus(Buffer.from(opus));
    const corrupt = this.#corrupt.get(userId) ?? 0;
    if (corrupt > 0) {
      this.#corrupt.set(userId, corrupt - 1);
      frame[0] = frame[0] ^ 0xff;
    }
    return frame;
  }

  onSessionReady(conn: VoiceGatewayConnection): void {
    conn.binary(DOP.externalSender, this.#externalSender);
  }

  onBinary(conn: VoiceGatewayConnection, op: number, payload: Buffer): void {
    if (op === DOP.keyPackage) {
      this.fromBot.keyPackages++;
      const keyPackage = keyPackageOf(payload);
      void this.#queue(async () => {
        if (this.members.size === 0) return; // nobody to share keys with yet
        const proposals: Proposal[] = [];
        const leaf = this.#leaves.indexOf(this.#botId);
        // A bot already in the group re-initialised: its old leaf goes, the new one comes.
        if (leaf >= 0) proposals.push({ proposalType: 'remove', remove: { removed: leaf } });
        proposals.push({ proposalType: 'add', add: { keyPackage } });
        const transitionId = leaf < 0 && this.transitions.length === 0 ? this.firstWelcomeTransitionId : this.#nextTransition++;
        await this.#commit(proposals, [{ userId: this.#botId, conn }], transitionId);
      });
    } else if (op === DOP.commitWelcome) {
      this.fromBot.commits++; // the bot's own commit: the first member's is the one used
    }
  }

  onJson(conn: VoiceGatewayConnection, op: number, d: any): void {
    if (op === DOP.transitionReady) {
      this.fromBot.ready.push(d.transition_id);
      this.#awaitingReady.get(d.transition_id)?.();
      this.#awaitingReady.delete(d.transition_id);
      conn.json(DOP.executeTransition, { transition_id: d.transition_id });
    } else if (op === DOP.invalidCommitWelcome) {
      this.fromBot.invalid.push(d.transition_id);
    }
  }

  /** Resolves when the bot said it is ready for this transition (op 23); rejects after `timeoutMs`. */
  botReady(transitionId: number, timeoutMs = 20_000): Promise<void> {
    if (this.fromBot.ready.includes(transitionId)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the bot did not get ready for transition ${transitionId} within ${timeoutMs} ms`)), timeoutMs);
      this.#awaitingReady.set(transitionId, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The transition id of the next Welcome sent to the bot, or of the next commit announced to it; rejects after `timeoutMs`. */
  nextTransition(kind: 'welcome' | 'commit', timeoutMs = 20_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off(kind, on);
        reject(new Error(`no ${kind} sent to the bot within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (id: number): void => {
        clearTimeout(timer);
        resolve(id);
      };
      this.once(kind, on);
    });
  }

  #queue(fn: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(fn);
    this.#chain = run.catch((e: unknown) => void this.#errors.push(e));
    return run;
  }

  /**
   * External proposals to every member (the bot included when in the group), the first member's
   * commit announced to all (op 29 to the bot), Welcome to the joiners (op 30 to the bot).
   */
  async #commit(
    proposals: Proposal[],
    joiners: { userId: string; session?: InstanceType<typeof davey.DAVESession>; conn?: VoiceGatewayConnection }[],
    transitionId = this.#nextTransition++,
  ): Promise<void> {
    const [committerId, committer] = [...this.members.entries()][0];
    const vector = await this.#sender.proposals(committer.epoch ?? 0n, proposals);
    const recognised = [...this.#server.present, this.#botId, ...joiners.map((j) => j.userId)];
    let result: { commit?: Buffer; welcome?: Buffer } | undefined;
    for (const [userId, session] of this.members) {
      const r = session.processProposals(0, vector, recognised);
      if (userId === committerId) result = r;
    }
    const conn = this.#server.connection;
    // The bot gets the proposals and the commit when it is a member that stays one; a bot being
    // re-added (it re-initialised) only gets the Welcome.
    const botWasIn = this.botInGroup && !joiners.some((j) => j.userId === this.#botId);
    if (botWasIn) conn?.binary(DOP.proposals, Buffer.concat([Buffer.from([0]), vector]));
    if (!result?.commit) throw new Error('the committing member produced no commit');
    for (const session of this.members.values()) session.processCommit(result.commit);
    // The tree, as MLS changes it: removes first, then adds into the leftmost blank leaves.
    for (const p of proposals) if (p.proposalType === 'remove') this.#leaves[p.remove.removed] = null;
    for (const j of joiners) {
      const blank = this.#leaves.indexOf(null);
      if (blank >= 0) this.#leaves[blank] = j.userId;
      else this.#leaves.push(j.userId);
    }
    if (botWasIn && conn) {
      this.transitions.push({ op: DOP.announceCommit, transitionId });
      conn.binary(DOP.announceCommit, withTransition(transitionId, result.commit));
      this.emit('commit', transitionId);
    }
    for (const j of joiners) {
      if (!result.welcome) throw new Error('a member was added without a Welcome');
      if (j.session) {
        j.session.processWelcome(result.welcome);
        this.members.set(j.userId, j.session);
      } else if (j.conn) {
        this.transitions.push({ op: DOP.welcome, transitionId });
        j.conn.binary(DOP.welcome, withTransition(transitionId, result.welcome));
        this.emit('welcome', transitionId);
      }
    }
  }
}
