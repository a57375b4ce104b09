/**
 * Moderation thresholds: the defaults, the bounds a chat may choose within (/settings), and the
 * gate's limits. The rules live in src/usecases/moderate.ts, the gates in src/state.
 *
 * Every rule runs on every chat's voice notes and voice-channel utterances alike (src/usecases/
 * moderate.ts: moderate), with the chat's thresholds:
 *   repeated_negative  the same member sends ≥ 3 notes/utterances whose top emotion is angry or
 *                      disgusted within 10 min.
 *   heated_speaker     a member's anger+disgust share ≥ 0.5 over the last 2 min, with ≥ 20 s of
 *                      speech; heated_group: ≥ 2 members heated at once.
 *   Gate           no repeat for the same (chat, member) within 10 min; ≤ 6 signals per chat per hour.
 */
import type { ModerationThresholds } from './history.ts';

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

export interface GateLimits {
  cooldownS: number;
  maxPerHour: number;
}
