/**
 * A stand-in for @discordjs/voice's VoiceReceiver: the same `speaking` events and
 * `subscribe(userId)` → object-mode stream of Opus packets, fed by tests instead of a voice
 * gateway. Records every subscription so tests can prove who was (never) subscribed.
 */
import { EventEmitter } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import type { ReceiverLike } from '../../../src/bots/discord/voice/session.ts';

export class FakeVoiceReceiver implements ReceiverLike {
  readonly speaking = new EventEmitter();
  readonly subscriptions = new Map<string, PassThrough>();
  readonly subscribeCalls: string[] = [];
  readonly #waiters = new Map<string, (() => void)[]>();

  subscribe(userId: string): Readable {
    this.subscribeCalls.push(userId);
    const stream = new PassThrough({ objectMode: true });
    this.subscriptions.set(userId, stream);
    stream.once('close', () => {
      if (this.subscriptions.get(userId) === stream) this.subscriptions.delete(userId);
    });
    for (const w of this.#waiters.get(userId) ?? []) w();
    this.#waiters.delete(userId);
    return stream;
  }

  /** Emits 'speaking start' for a member, as the receiver does on their first packet. */
  startSpeaking(userId: string): void {
    this.speaking.emit('start', userId);
  }

  /** Resolves once the session has subscribed to this member. */
  async subscribed(userId: string): Promise<PassThrough> {
    if (!this.subscriptions.has(userId)) await new Promise<void>((resolve) => this.#waiters.set(userId, [...(this.#waiters.get(userId) ?? []), resolve]));
    return this.subscriptions.get(userId)!;
  }

  /** Pushes a packet into a member's stream when subscribed; false (dropped) otherwise, like the real receiver. */
  packet(userId: string, packet: Uint8Array): boolean {
    const stream = this.subscriptions.get(userId);
    if (!stream) return false;
    stream.write(Buffer.from(packet));
    return true;
  }

  /** Ends a member's stream (what AfterSilence does). */
  end(userId: string): void {
    this.subscriptions.get(userId)?.end();
  }
}
