/**
 * Moderation signals: pure rules over recent analyses (the clock is a parameter), plus the gate
 * that decides whether a signal may be sent (cooldown per member, rate limit per chat,
 * Acknowledge / Snooze).
 *
 * Defaults (a chat/guild may override each with /settings):
 *   Telegram rule  repeated_negative: the same member sends ≥ 3 notes whose top emotion is angry or
 *                  disgusted within 10 min.
 *   Discord rules  heated_speaker: a speaker's anger+disgust share (talk-time weighted mean of the
 *                  angry+disgusted scores) ≥ 0.5 over the last 2 min, with ≥ 20 s of speech;
 *                  heated_group: ≥ 2 speakers heated at once → one signal for the group.
 *   Gate           no repeat for the same (chat, member) within 10 min; ≤ 6 signals per chat per
 *                  hour; Snooze silences a chat; Acknowledge restarts the member's cooldown.
 */
import { randomUUID } from 'node:crypto';
import type { Emotion, EmotionScores } from '../domain/emotions.ts';
import type { ModerationThresholds, Platform } from '../domain/history.ts';
import type { ModerationGate } from '../commands/types.ts';
import type { ModerationSignal, Trend } from '../domain/mood.ts';
import { weightedShares } from './summarise.ts';

export const DEFAULT_MODERATION: Readonly<ModerationThresholds> = Object.freeze({
  repeatCount: 3,
  repeatWindowS: 600,
  heatedShare: 0.5,
  heatedWindowS: 120,
  heatedMinSpeechS: 20,
  groupSpeakers: 2,
  cooldownS: 600,
  maxPerHour: 6,
});

/** Bounds a chat may choose within (checked by /settings). */
export const MODERATION_BOUNDS: Readonly<Record<keyof ModerationThresholds, { min: number; max: number; integer: boolean }>> = {
  repeatCount: { min: 1, max: 100, integer: true },
  repeatWindowS: { min: 10, max: 86_400, integer: true },
  heatedShare: { min: 0.05, max: 1, integer: false },
  heatedWindowS: { min: 10, max: 3600, integer: true },
  heatedMinSpeechS: { min: 1, max: 3600, integer: true },
  groupSpeakers: { min: 2, max: 100, integer: true },
  cooldownS: { min: 0, max: 86_400, integer: true },
  maxPerHour: { min: 1, max: 1000, integer: true },
};

export function resolveThresholds(overrides: Partial<ModerationThresholds> = {}): ModerationThresholds {
  const out = { ...DEFAULT_MODERATION };
  for (const k of Object.keys(DEFAULT_MODERATION) as (keyof ModerationThresholds)[]) {
    const v = overrides[k];
    const b = MODERATION_BOUNDS[k];
    if (typeof v === 'number' && Number.isFinite(v) && v >= b.min && v <= b.max) out[k] = v;
  }
  return out;
}

const NEGATIVE: readonly Emotion[] = ['angry', 'disgusted'];
const negativeOf = (s: EmotionScores) => (s.angry ?? 0) + (s.disgusted ?? 0);

/** One analysed note or utterance, as the rules see it. `at` = when it ended (ms epoch). */
export interface ModerationItem {
  userId: string;
  name: string;
  at: number;
  durationS: number;
  emotion: Emotion;
  scores: EmotionScores;
}

export interface ModerationScope {
  platform: Platform;
  chatId: string;
  guildId?: string;
}

function trendOf(items: readonly ModerationItem[], fromMs: number, toMs: number): Trend {
  const mid = (fromMs + toMs) / 2;
  const first = items.filter((i) => i.at < mid);
  const second = items.filter((i) => i.at >= mid);
  if (first.length === 0 || second.length === 0) return second.length > 0 ? 'rising' : 'steady';
  const d = negativeOf(weightedShares(second)) - negativeOf(weightedShares(first));
  return d > 0.1 ? 'rising' : d < -0.1 ? 'falling' : 'steady';
}

/**
 * Telegram rule: has `member` sent ≥ repeatCount angry/disgusted notes within the window ending
 * now? `items` may contain anything (other members, older notes): the rule filters.
 */
export function checkRepeatedNegative(items: readonly ModerationItem[], memberId: string, scope: ModerationScope, now: number, th: ModerationThresholds = DEFAULT_MODERATION): ModerationSignal | undefined {
  const fromMs = now - th.repeatWindowS * 1000;
  const mine = items.filter((i) => i.userId === memberId && i.at >= fromMs && i.at <= now);
  const negative = mine.filter((i) => NEGATIVE.includes(i.emotion));
  if (negative.length < th.repeatCount) return undefined;
  const scores = weightedShares(negative);
  const talkS = mine.reduce((s, i) => s + i.durationS, 0);
  return signal('repeated_negative', scope, now, th.repeatWindowS, {
    members: [{ userId: memberId, name: mine[mine.length - 1]!.name, count: negative.length, negativeShare: negativeOf(weightedShares(mine)), talkS }],
    count: negative.length,
    scores,
    negativeShare: negativeOf(weightedShares(mine)),
    trend: trendOf(mine, fromMs, now),
  });
}

/**
 * Discord rules over the rolling window ending now: each speaker with ≥ heatedMinSpeechS of
 * speech and anger+disgust share ≥ heatedShare is heated; ≥ groupSpeakers heated at once → one
 * heated_group signal, otherwise one heated_speaker signal per heated speaker.
 */
export function checkHeated(items: readonly ModerationItem[], scope: ModerationScope, now: number, th: ModerationThresholds = DEFAULT_MODERATION): ModerationSignal[] {
  const fromMs = now - th.heatedWindowS * 1000;
  const recent = items.filter((i) => i.at >= fromMs && i.at <= now);
  const bySpeaker = new Map<string, ModerationItem[]>();
  for (const i of recent) bySpeaker.set(i.userId, [...(bySpeaker.get(i.userId) ?? []), i]);
  const heated: { userId: string; name: string; list: ModerationItem[]; share: number; talkS: number }[] = [];
  for (const [userId, list] of bySpeaker) {
    const talkS = list.reduce((s, i) => s + i.durationS, 0);
    const share = negativeOf(weightedShares(list));
    if (talkS >= th.heatedMinSpeechS && share >= th.heatedShare) heated.push({ userId, name: list[list.length - 1]!.name, list, share, talkS });
  }
  heated.sort((a, b) => b.share - a.share);
  const member = (h: (typeof heated)[number]) => ({ userId: h.userId, name: h.name, count: h.list.length, negativeShare: h.share, talkS: h.talkS });
  if (heated.length >= th.groupSpeakers) {
    const all = heated.flatMap((h) => h.list);
    const scores = weightedShares(all);
    return [signal('heated_group', scope, now, th.heatedWindowS, { members: heated.map(member), count: all.length, scores, negativeShare: negativeOf(scores), trend: trendOf(all, fromMs, now) })];
  }
  return heated.map((h) => signal('heated_speaker', scope, now, th.heatedWindowS, { members: [member(h)], count: h.list.length, scores: weightedShares(h.list), negativeShare: h.share, trend: trendOf(h.list, fromMs, now) }));
}

function signal(kind: ModerationSignal['kind'], scope: ModerationScope, at: number, windowS: number, rest: Pick<ModerationSignal, 'members' | 'count' | 'scores' | 'negativeShare' | 'trend'>): ModerationSignal {
  return {
    id: randomUUID().slice(0, 18),
    kind,
    platform: scope.platform,
    chatId: scope.chatId,
    ...(scope.guildId !== undefined ? { guildId: scope.guildId } : {}),
    windowS,
    at,
    ...rest,
  };
}

export interface GateLimits {
  cooldownS: number;
  maxPerHour: number;
}

/**
 * In-memory gate (one process). Bounded: state older than a day is swept, and at most
 * `maxSignals` signals are remembered for Acknowledge/Snooze.
 */
export class InMemoryModerationGate implements ModerationGate {
  private readonly clock: () => number;
  private readonly defaults: GateLimits;
  private readonly maxSignals: number;
  private readonly lastByMember = new Map<string, number>();
  private readonly sentByChat = new Map<string, number[]>();
  private readonly snoozedUntil = new Map<string, number>();
  private readonly signals = new Map<string, ModerationSignal>();

  constructor(options: { clock?: () => number; limits?: Partial<GateLimits>; maxSignals?: number } = {}) {
    this.clock = options.clock ?? Date.now;
    this.defaults = { cooldownS: options.limits?.cooldownS ?? DEFAULT_MODERATION.cooldownS, maxPerHour: options.limits?.maxPerHour ?? DEFAULT_MODERATION.maxPerHour };
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
