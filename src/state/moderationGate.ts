/**
 * The in-memory moderation gate (one process): cooldown per member, rate limit per chat,
 * Acknowledge / Snooze. The shared one is src/state/redisModerationGate.ts.
 */
import type { ModerationSignal } from '../domain/mood.ts';
import { DEFAULT_MODERATION, type GateLimits } from '../domain/moderation.ts';

/**
 * In-memory gate (one process). Bounded: state older than a day is swept, and at most
 * `maxSignals` signals are remembered for Acknowledge/Snooze.
 */
export class InMemoryModerationGate {
  private readonly clock: () => number;
  private readonly defaults: GateLimits;
  private readonly maxSignals: number;
  private readonly lastByMember = new Map<string, number>();
  private readonly sentByChat = new Map<string, number[]>();
  private readonly snoozedUntil = new Map<string, number>();
  private readonly signals = new Map<string, ModerationSignal>();

  constructor(options: { clock?: () => number; limits?: Partial<GateLimits>; maxSignals?: number } = {}) {
    this.clock = options.clock ?? Date.now;
    this.defaults = {
      cooldownS: options.limits?.cooldownS ?? DEFAULT_MODERATION.cooldownS,
      maxPerHour: options.limits?.maxPerHour ?? DEFAULT_MODERATION.maxPerHour,
    };
    this.maxSignals = options.maxSignals ?? 1000;
  }

  admit(sig: ModerationSignal, limits: Partial<GateLimits> = {}): boolean {
    const now = this.clock();
    const { cooldownS, maxPerHour } = { ...this.defaults, ...limits };
    const chat = chatKey(sig);
    if ((this.snoozedUntil.get(chat) ?? 0) > now) return false;
    // A group signal is held back only when every member in it was alerted recently.
    const fresh = sig.members.filter((m) => now - (this.lastByMember.get(`${chat}:${m.userId}`) ?? -Infinity) >= cooldownS * 1000);
    if (fresh.length === 0) return false;
    const sent = (this.sentByChat.get(chat) ?? []).filter((t) => now - t < 3_600_000);
    if (sent.length >= maxPerHour) return false;
    sent.push(now);
    this.sentByChat.set(chat, sent);
    for (const m of sig.members) this.lastByMember.set(`${chat}:${m.userId}`, now);
    this.signals.set(sig.id, sig);
    this.sweep(now);
    return true;
  }

  find(signalId: string): ModerationSignal | undefined {
    return this.signals.get(signalId);
  }

  acknowledge(signalId: string, _byUserId: string): boolean {
    const sig = this.signals.get(signalId);
    if (!sig) return false;
    const now = this.clock();
    for (const m of sig.members) this.lastByMember.set(`${chatKey(sig)}:${m.userId}`, now);
    this.signals.delete(signalId);
    return true;
  }

  snooze(signalId: string, seconds: number): boolean {
    const sig = this.signals.get(signalId);
    if (!sig || !(seconds > 0)) return false;
    this.snoozedUntil.set(chatKey(sig), this.clock() + seconds * 1000);
    return true;
  }

  private sweep(now: number): void {
    const day = 86_400_000;
    for (const [k, t] of this.lastByMember) if (now - t > day) this.lastByMember.delete(k);
    for (const [k, ts] of this.sentByChat) if (ts.every((t) => now - t > 3_600_000)) this.sentByChat.delete(k);
    for (const [k, t] of this.snoozedUntil) if (t < now) this.snoozedUntil.delete(k);
    while (this.signals.size > this.maxSignals) this.signals.delete(this.signals.keys().next().value!);
  }
}

function chatKey(sig: Pick<ModerationSignal, 'platform' | 'chatId' | 'guildId'>): string {
  return `${sig.platform}:${sig.guildId ?? ''}:${sig.chatId}`;
}
