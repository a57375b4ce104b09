/** The nine classes of the emotion2vec+ models, in the models' output order. */
export const EMOTIONS = ['angry', 'disgusted', 'fearful', 'happy', 'neutral', 'other', 'sad', 'surprised', 'unknown'] as const;
export type Emotion = (typeof EMOTIONS)[number];

export type Lang = 'en' | 'zh';
export const LANGS: readonly Lang[] = ['en', 'zh'];

export const EMOJI: Readonly<Record<Emotion, string>> = {
  angry: '😠',
  disgusted: '🤢',
  fearful: '😨',
  happy: '😊',
  neutral: '😐',
  other: '🤔',
  sad: '😢',
  surprised: '😲',
  unknown: '❓',
};

export const EMOTION_LABELS: Readonly<Record<Lang, Readonly<Record<Emotion, string>>>> = {
  en: {
    angry: 'Angry',
    disgusted: 'Disgusted',
    fearful: 'Fearful',
    happy: 'Happy',
    neutral: 'Neutral',
    other: 'Other',
    sad: 'Sad',
    surprised: 'Surprised',
    unknown: 'Unknown',
  },
  // As in the official tokens.txt (生气/angry …); `<unk>` has no Chinese label there.
  zh: {
    angry: '生气',
    disgusted: '厌恶',
    fearful: '恐惧',
    happy: '开心',
    neutral: '中立',
    other: '其他',
    sad: '难过',
    surprised: '吃惊',
    unknown: '未知',
  },
};

export type EmotionScores = Record<Emotion, number>;

export function isEmotion(s: string): s is Emotion {
  return (EMOTIONS as readonly string[]).includes(s);
}

/** Named scores from a row of 9 probabilities in model order. */
export function namedScores(row: ArrayLike<number>): EmotionScores {
  const out = {} as EmotionScores;
  EMOTIONS.forEach((e, i) => (out[e] = row[i] ?? 0));
  return out;
}

/** The emotion with the highest score (first one on ties, in model order). */
export function topEmotion(scores: EmotionScores): { emotion: Emotion; confidence: number } {
  let best: Emotion = EMOTIONS[0];
  for (const e of EMOTIONS) if (scores[e] > scores[best]) best = e;
  return { emotion: best, confidence: scores[best] };
}
