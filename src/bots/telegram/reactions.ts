/**
 * Which reaction the bot puts on an analysed voice note. setMessageReaction accepts only a fixed
 * set of emoji (ReactionTypeEmoji in the Bot API), and several of our card emoji are not in it
 * (😠 😊 🤢 😲 ❓), so each emotion maps to the closest allowed one, or to none.
 */
import type { ReactionTypeEmoji } from 'grammy/types';
import type { Emotion } from '../../domain/emotions.ts';

export type AllowedReaction = ReactionTypeEmoji['emoji'];

export const REACTION_FOR: Readonly<Record<Emotion, AllowedReaction | undefined>> = {
  angry: '😡',
  disgusted: '🤮',
  fearful: '😨',
  happy: '😁',
  neutral: '😐',
  other: '🤔',
  sad: '😢',
  surprised: '😱',
  // "We could not tell" is not worth a reaction.
  unknown: undefined,
};

export function reactionFor(emotion: Emotion): AllowedReaction | undefined {
  return REACTION_FOR[emotion];
}
