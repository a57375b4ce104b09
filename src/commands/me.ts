/** /me: the user's recent voice notes and the trend of their mood (their own entries only). */
import { EMOJI, EMOTION_LABELS } from '../domain/emotions.ts';
import { formatPercent, formatSeconds, t } from '../render/i18n.ts';
import { dominantOf, weightedShares } from '../usecases/summarise.ts';
import { safely, text } from './common.ts';
import type { CommandContext, FileReply, Reply } from './types.ts';
import type { Services } from '../usecases/ports.ts';

export const ME_RECENT = 10;
export const ME_DAYS = 30;

export interface MeOptions {
  /** /me export: a JSON file of everything stored about the user instead of the summary. */
  export?: boolean;
  /** The adapter delivers replies to the user alone (a Discord ephemeral reply), even in a group. */
  privateReply?: boolean;
}

export function handleMe(ctx: CommandContext, s: Services, options: MeOptions = {}): Promise<Reply[]> {
  return safely(ctx, s, async (lang) => {
    const strings = t(lang);
    if (options.export) {
      // Someone's data is never posted where others can read it.
      if (ctx.chat.kind === 'group' && !options.privateReply) return [text(strings.exportGroup)];
      return [await exportFile(ctx, s, strings.exportCaption)];
    }
    const now = ctx.now();
    const all = await s.history.listUser(ctx.platform, ctx.user.id, { since: now - ME_DAYS * 86_400_000 });
    if (all.length === 0) return [text(strings.meEmpty)];
    const recent = all.slice(-ME_RECENT);
    const lines = [strings.meTitle(recent.length)];
    for (const e of [...recent].reverse()) {
      const age = strings.ago(formatSeconds(Math.max(0, (now - e.at) / 1000)).replace(/ \d+ s$/, ''));
      lines.push(
        `${EMOJI[e.emotion]} ${EMOTION_LABELS[lang][e.emotion].padEnd(lang === 'zh' ? 2 : 9)} ${formatPercent(e.confidence).padStart(4)}  ${formatSeconds(e.durationS).padStart(6)}  ${age}`,
      );
    }
    const shares = weightedShares(all);
    const top = dominantOf(shares);
    lines.push('', `${strings.meOverall(ME_DAYS)}${EMOJI[top]} ${EMOTION_LABELS[lang][top]} ${formatPercent(shares[top])} · ${strings.notes(all.length)}`);
    if (all.length >= 4) {
      // Trend: the older half against the newer half of the last 30 days.
      const half = Math.floor(all.length / 2);
      const older = weightedShares(all.slice(0, half));
      const newer = weightedShares(all.slice(half));
      const neg = (x: typeof older) => x.angry + x.disgusted;
      const d = neg(newer) - neg(older);
      const trend = d > 0.1 ? 'rising' : d < -0.1 ? 'falling' : 'steady';
      const o = dominantOf(older);
      const n = dominantOf(newer);
      lines.push(
        `${strings.meTrend}${strings.trend[trend]} (${strings.trendMood(`${EMOJI[o]} ${EMOTION_LABELS[lang][o]}`, `${EMOJI[n]} ${EMOTION_LABELS[lang][n]}`)})`,
      );
    }
    return [text(lines.join('\n'), true)];
  });
}

/** The right of access: what forgetUser would delete, as one JSON document. */
async function exportFile(ctx: CommandContext, s: Services, caption: string): Promise<FileReply> {
  const data = await s.history.exportUser(ctx.platform, ctx.user.id);
  const doc = {
    app: 'voicemood',
    exportedAt: new Date(ctx.now()).toISOString(),
    retentionDays: s.history.retentionDays,
    note: 'No audio is ever stored: only the emotion scores shown on each card.',
    ...data,
  };
  const safeId = ctx.user.id.replace(/[^0-9A-Za-z_-]/g, '_');
  return {
    kind: 'file',
    filename: `voicemood-${ctx.platform}-${safeId}.json`,
    mimeType: 'application/json',
    bytes: new TextEncoder().encode(`${JSON.stringify(doc, null, 2)}\n`),
    caption,
  };
}
