/**
 * Moderation rules: pure functions over recent analyses (the clock is a parameter) that say when
 * a member or a group sounds heated. Thresholds and their defaults: src/domain/moderation.ts; the
 * gates that decide whether a signal may be sent now (cooldown, per-chat cap, Acknowledge /
 * Snooze): src/state/moderationGate.ts and src/state/redisModerationGate.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Emotion, EmotionScores } from '../domain/emotions.ts';
import type { ChatSettings, HistoryEntry, ModerationThresholds } from '../domain/history.ts';
import type { Platform } from '../domain/platform.ts';
import { DEFAULT_MODERATION, resolveThresholds } from '../domain/moderation.ts';
import type { ModerationSignal, Trend } from '../domain/mood.ts';
import { isOptedOut } from '../history/privacy.ts';
import type { Services } from './ports.ts';
import { weightedShares } from './summarise.ts';

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
 * repeated_negative: has `member` sent ≥ repeatCount angry/disgusted notes or utterances within
 * the window ending now? `items` may contain anything (other members, older notes): the rule filters.
 */
export function checkRepeatedNegative(
  items: readonly ModerationItem[],
  memberId: string,
  scope: ModerationScope,
  now: number,
  th: ModerationThresholds = DEFAULT_MODERATION,
): ModerationSignal | undefined {
  const fromMs = now - th.repeatWindowS * 1000;
  const mine = items.filter((i) => i.userId === memberId && i.at >= fromMs && i.at <= now);
  const negative = mine.filter((i) => NEGATIVE.includes(i.emotion));
  if (negative.length < th.repeatCount) return undefined;
  const scores = weightedShares(negative);
  const talkS = mine.reduce((s, i) => s + i.durationS, 0);
  return signal('repeated_negative', scope, now, th.repeatWindowS, {
    members: [{ userId: memberId, name: mine[mine.length - 1].name, count: negative.length, negativeShare: negativeOf(weightedShares(mine)), talkS }],
    count: negative.length,
    scores,
    negativeShare: negativeOf(weightedShares(mine)),
    trend: trendOf(mine, fromMs, now),
  });
}

/**
 * heated_speaker / heated_group over the rolling window ending now: each speaker with ≥ heatedMinSpeechS of
 * speech and anger+disgust share ≥ heatedShare is heated; ≥ groupSpeakers heated at once → one
 * heated_group signal, otherwise one heated_speaker signal per heated speaker.
 */
export function checkHeated(
  items: readonly ModerationItem[],
  scope: ModerationScope,
  now: number,
  th: ModerationThresholds = DEFAULT_MODERATION,
): ModerationSignal[] {
  const fromMs = now - th.heatedWindowS * 1000;
  const recent = items.filter((i) => i.at >= fromMs && i.at <= now);
  const bySpeaker = new Map<string, ModerationItem[]>();
  for (const i of recent) bySpeaker.set(i.userId, [...(bySpeaker.get(i.userId) ?? []), i]);
  const heated: { userId: string; name: string; list: ModerationItem[]; share: number; talkS: number }[] = [];
  for (const [userId, list] of bySpeaker) {
    const talkS = list.reduce((s, i) => s + i.durationS, 0);
    const share = negativeOf(weightedShares(list));
    if (talkS >= th.heatedMinSpeechS && share >= th.heatedShare) heated.push({ userId, name: list[list.length - 1].name, list, share, talkS });
  }
  heated.sort((a, b) => b.share - a.share);
  const member = (h: (typeof heated)[number]) => ({ userId: h.userId, name: h.name, count: h.list.length, negativeShare: h.share, talkS: h.talkS });
  if (heated.length >= th.groupSpeakers) {
    const all = heated.flatMap((h) => h.list);
    const scores = weightedShares(all);
    return [
      signal('heated_group', scope, now, th.heatedWindowS, {
        members: heated.map(member),
        count: all.length,
        scores,
        negativeShare: negativeOf(scores),
        trend: trendOf(all, fromMs, now),
      }),
    ];
  }
  return heated.map((h) =>
    signal('heated_speaker', scope, now, th.heatedWindowS, {
      members: [member(h)],
      count: h.list.length,
      scores: weightedShares(h.list),
      negativeShare: h.share,
      trend: trendOf(h.list, fromMs, now),
    }),
  );
}

function signal(
  kind: ModerationSignal['kind'],
  scope: ModerationScope,
  at: number,
  windowS: number,
  rest: Pick<ModerationSignal, 'members' | 'count' | 'scores' | 'negativeShare' | 'trend'>,
): ModerationSignal {
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

/** Where an analysed note or utterance was heard, and whose it was. */
export interface ModerateInput extends ModerationScope {
  /** Where the chat's settings live: the Discord server, else the chat. */
  settingsScope: string;
  /** The member whose analysis was just recorded. */
  memberId: string;
  now: number;
}

/** When an entry ended: a note is stored when it was analysed, an utterance when it started. */
function endOf(e: HistoryEntry): number {
  return e.source === 'voice_channel' ? e.at + Math.round(e.durationS * 1000) : e.at;
}

/**
 * The moderation use case, after each recorded note or utterance: the chat's rules (thresholds
 * from /settings) over its recent history — repeated_negative for the member, then heated_speaker
 * / heated_group over everyone — and the gate (cooldown, per-chat cap, snooze). Returns the
 * signals admitted, with the settings the alerts are built from. Nothing happens (and no cooldown
 * is spent) when nobody asked for alerts. Members who opted out meanwhile are left out.
 */
export async function moderate(
  s: Pick<Services, 'history' | 'settings' | 'moderation'>,
  input: ModerateInput,
): Promise<{ settings: ChatSettings; signals: ModerationSignal[] }> {
  const settings = await s.settings.getChatSettings(input.platform, input.settingsScope);
  if (settings.alertAdmins.length === 0 && !settings.logChannelId) return { settings, signals: [] };
  const th = resolveThresholds(settings.moderation);
  const lookbackMs = Math.max(th.repeatWindowS, th.heatedWindowS) * 1000 + 60_000;
  // Utterance times come from the receive stream (start + offset), which can run a little ahead
  // of the wall clock: the window ends at the later of now and the last utterance's end.
  const entries = await s.history.listChat(input.platform, input.chatId, { since: input.now - lookbackMs, until: input.now + 60_000 });
  // The other members' opt-outs, looked up at once rather than one after another.
  const others = [...new Set(entries.map((e) => e.userId))].filter((userId) => userId !== input.memberId);
  const optedOutFlags = await Promise.all(others.map(async (userId) => isOptedOut(await s.settings.getUserSettings(input.platform, userId), input.guildId)));
  const optedOut = new Set(others.filter((_, i) => optedOutFlags[i]));
  const items: ModerationItem[] = entries
    .filter((e) => !optedOut.has(e.userId))
    .map((e) => ({ userId: e.userId, name: e.userName ?? e.userId, at: endOf(e), durationS: e.durationS, emotion: e.emotion, scores: e.scores }))
    .sort((a, b) => a.at - b.at);
  const end = Math.max(input.now, ...items.map((i) => i.at));
  const scope: ModerationScope = { platform: input.platform, chatId: input.chatId, ...(input.guildId !== undefined ? { guildId: input.guildId } : {}) };
  const candidates: ModerationSignal[] = [];
  const repeated = checkRepeatedNegative(items, input.memberId, scope, end, th);
  if (repeated) candidates.push(repeated);
  candidates.push(...checkHeated(items, scope, end, th));
  const signals: ModerationSignal[] = [];
  for (const signal of candidates) if (await s.moderation.admit(signal, { cooldownS: th.cooldownS, maxPerHour: th.maxPerHour })) signals.push(signal);
  return { settings, signals };
}
