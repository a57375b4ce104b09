/**
 * The terminal card: the same card a bot sends (src/mood/card.ts), plus the 0.5 s timeline
 * strip when frames were analysed.
 */
import { buildCard, renderCardText } from '../render/card.ts';
import type { Lang } from '../domain/emotions.ts';
import { buildTimeline, renderTimelineText } from '../render/timeline.ts';
import type { MoodInput } from '../domain/mood.ts';

export function renderTerminalCard(analysis: MoodInput, options: { lang?: Lang; timeline?: boolean } = {}): string {
  const lang = options.lang ?? 'en';
  let text = renderCardText(buildCard(analysis, lang));
  if (options.timeline && analysis.frames) {
    text += `\n\n${renderTimelineText(buildTimeline(analysis.frames, { durationS: analysis.durationS }), lang)}`;
  }
  return text;
}
