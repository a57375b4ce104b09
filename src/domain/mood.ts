/**
 * The platform-neutral mood models: what a card, a timeline, a summary and a moderation signal
 * are. Builders and renderers live next to this file (card.ts, timeline.ts, summary.ts,
 * moderation.ts, chart.ts); adapters (Telegram, Discord, CLI) only wrap the rendered text.
 */
import type { Emotion, EmotionScores, Lang } from './emotions.ts';
import type { Platform } from './platform.ts';

/** Per-frame scores: the minimal part of FrameResults (src/inference/types.ts) we need. */
export interface FrameScores {
  /** Number of frames T. */
  count: number;
  /** Frames per second (50 for emotion2vec+). */
  frameRate: number;
  /** Row-major [T, 9] probabilities in model label order. */
  scores: ArrayLike<number>;
  /** Optional start time (s) of each frame, when frames were concatenated from segments. */
  times?: ArrayLike<number>;
}

/**
 * What the renderers need from an analysis. EmotionResult (engine) and VoiceAnalysis
 * (src/usecases/analyzeVoice.ts) both fit.
 */
export interface MoodInput {
  emotion: Emotion;
  confidence: number;
  scores: EmotionScores;
  durationS: number;
  frames?: FrameScores;
}

/** One row of the card: one of the 9 classes. */
export interface ScoreBar {
  emotion: Emotion;
  emoji: string;
  label: string;
  /** 0..1 */
  score: number;
}

/** A mood card: what a bot replies to a voice note. Bars are in model order (always all 9). */
export interface MoodCard {
  lang: Lang;
  emotion: Emotion;
  emoji: string;
  label: string;
  /** 0..1 */
  confidence: number;
  durationS: number;
  bars: ScoreBar[];
}

/** One 0.5 s window of a timeline. */
export interface TimelineWindow {
  startS: number;
  endS: number;
  /** Dominant emotion of the window's frames (highest mean score). */
  emotion: Emotion;
  /** Mean score of each class over the window's frames (sums to ~1). */
  shares: EmotionScores;
}

export interface Timeline {
  windowS: number;
  durationS: number;
  windows: TimelineWindow[];
}

/** Per-member part of a summary. */
export interface MemberSummary {
  userId: string;
  name: string;
  /** Emotion with the largest talk-time-weighted share. */
  dominant: Emotion;
  /** Number of notes / utterances. */
  count: number;
  /** Number of notes / utterances per top emotion. */
  counts: Record<Emotion, number>;
  /** Talk-time-weighted mean scores (sums to ~1). */
  shares: EmotionScores;
  talkS: number;
}

/** One time bucket of a summary's chart. */
export interface SummaryBucket {
  startMs: number;
  endMs: number;
  /** Talk-time-weighted mean scores in the bucket; all zero when nobody spoke. */
  shares: EmotionScores;
  talkS: number;
}

/** The chat's (Telegram) or channel's (Discord) mood over a window of history. */
export interface MoodSummary {
  platform: Platform;
  chatId: string;
  fromMs: number;
  toMs: number;
  /** Emotion with the largest share over everything; undefined when there was nothing. */
  overall?: Emotion;
  /** Talk-time-weighted shares of the whole chat. */
  shares: EmotionScores;
  count: number;
  talkS: number;
  /** Sorted by talk time, most first. */
  members: MemberSummary[];
  buckets: SummaryBucket[];
}

export type Trend = 'rising' | 'steady' | 'falling';

/**
 * A moderation signal: pure data, never audio. `repeated_negative`: one member, several
 * angry/disgusted notes or utterances in a window; `heated_speaker` / `heated_group`: anger+disgust
 * share over a rolling window. All rules apply on both platforms (src/usecases/moderate.ts).
 */
export interface ModerationSignal {
  /** Stable id for buttons (Acknowledge / Snooze). */
  id: string;
  kind: 'repeated_negative' | 'heated_speaker' | 'heated_group';
  platform: Platform;
  chatId: string;
  guildId?: string;
  /** Members concerned (one, or several for heated_group). */
  members: { userId: string; name: string; count: number; negativeShare: number; talkS: number }[];
  /** The window the rule looked at, in seconds. */
  windowS: number;
  /** Number of notes / utterances considered in the window. */
  count: number;
  /** Mean scores over the considered items. */
  scores: EmotionScores;
  /** anger+disgust share over the window (0..1). */
  negativeShare: number;
  /** Second half of the window against the first half. */
  trend: Trend;
  at: number;
}
