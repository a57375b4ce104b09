/**
 * Structured replies (src/commands) → Discord message payloads: embeds, buttons and files. Pure:
 * no client, no I/O, so every shape is unit-testable.
 */
import { ButtonStyle, ComponentType, MessageFlags, escapeMarkdown, type APIEmbed, type APIActionRowComponent, type APIButtonComponent } from 'discord.js';
import type { AlertReply, CardReply, Reply, SummaryReply } from '../../commands/types.ts';
import { EMOJI, type Emotion, type Lang } from '../../domain/emotions.ts';
import { EMOTION_COLORS } from '../../render/chart.ts';
import { renderTimelineText, renderTimelinePng } from '../../render/timeline.ts';
import type { Timeline } from '../../domain/mood.ts';
import { fitEmbeds } from './embedLimits.ts';
import { ds } from './strings.ts';

/** What discord.js send/reply/edit accept, restricted to what we use. */
export interface DiscordPayload {
  content?: string;
  embeds?: APIEmbed[];
  components?: APIActionRowComponent<APIButtonComponent>[];
  files?: { attachment: Buffer; name: string }[];
  /** Only the caller sees it (interaction replies). */
  ephemeral?: boolean;
}

/** Custom ids of our buttons: short prefixes, the id after the colon. */
export const BUTTON = { timeline: 'vm:tl:', ack: 'vm:ack:', snooze: 'vm:snz:' } as const;

const DESCRIPTION_MAX = 4096;
const CONTENT_MAX = 2000;

export function colorOf(emotion: Emotion | undefined): number {
  return emotion ? Number.parseInt(EMOTION_COLORS[emotion].replace('#', ''), 16) : 0x99aab5;
}

/** A monospace block that survives any text inside it. */
export function codeBlock(text: string, max = DESCRIPTION_MAX): string {
  const safe = text.replaceAll('```', '`\u200b``');
  const room = max - 8;
  return '```\n' + (safe.length > room ? safe.slice(0, room - 1) + '…' : safe) + '\n```';
}

function button(customId: string, label: string, style: ButtonStyle, emoji?: string): APIButtonComponent {
  return { type: ComponentType.Button, custom_id: customId, label, style, ...(emoji ? { emoji: { name: emoji } } : {}) } as APIButtonComponent;
}

function row(...buttons: APIButtonComponent[]): APIActionRowComponent<APIButtonComponent> {
  return { type: ComponentType.ActionRow, components: buttons };
}

export function cardEmbed(reply: CardReply): APIEmbed {
  return { title: reply.title, description: codeBlock(reply.body), color: colorOf(reply.card.emotion) };
}

/** The card, with a Timeline button when a timeline was kept under `timelineKey`. */
export function renderCard(reply: CardReply, timelineKey?: string): DiscordPayload {
  const payload: DiscordPayload = { embeds: [cardEmbed(reply)] };
  if (timelineKey && reply.timeline && reply.timeline.windows.length > 0) {
    payload.components = [row(button(BUTTON.timeline + timelineKey, ds(reply.card.lang).timelineButton, ButtonStyle.Secondary, '📈'))];
  }
  return payload;
}

/** The card again, with the timeline strip under it and the chart as an image; no button. */
export async function renderCardWithTimeline(reply: CardReply, timeline: Timeline, lang: Lang): Promise<DiscordPayload> {
  const png = await renderTimelinePng(timeline, lang);
  return {
    embeds: [
      cardEmbed(reply),
      { description: codeBlock(renderTimelineText(timeline, lang)), image: { url: 'attachment://timeline.png' }, color: colorOf(reply.card.emotion) },
    ],
    components: [],
    files: [{ attachment: Buffer.from(png), name: 'timeline.png' }],
  };
}

export function renderSummary(reply: SummaryReply, title = reply.title): DiscordPayload {
  const embed: APIEmbed = { title, description: codeBlock(reply.body), color: colorOf(reply.summary.overall) };
  const payload: DiscordPayload = { embeds: [embed] };
  if (reply.png) {
    embed.image = { url: 'attachment://mood.png' };
    payload.files = [{ attachment: Buffer.from(reply.png), name: 'mood.png' }];
  }
  return payload;
}

/** The moderation alert for the log channel: who, channel, window, trend, scores; buttons. */
export function renderAlert(reply: AlertReply): DiscordPayload {
  const s = reply.signal;
  const strings = ds(reply.lang);
  const top = (Object.entries(s.scores) as [Emotion, number][])
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([e, v]) => `${EMOJI[e]} ${(v * 100).toFixed(0)}%`)
    .join('  ');
  const members = s.members.map((m) => `<@${m.userId}> — ${(m.negativeShare * 100).toFixed(0)}% anger+disgust, ${Math.round(m.talkS)} s`).join('\n');
  return {
    embeds: [
      {
        title: reply.title,
        description: `${escapeMarkdown(reply.text)}\n\n${members}`.slice(0, DESCRIPTION_MAX),
        color: colorOf('angry'),
        fields: [
          { name: 'Channel', value: `<#${s.chatId}>`, inline: true },
          { name: 'Window', value: `${Math.round(s.windowS)} s`, inline: true },
          { name: 'Trend', value: s.trend, inline: true },
          { name: 'Scores', value: top || '—' },
        ],
        timestamp: new Date(s.at).toISOString(),
      },
    ],
    components: [
      row(button(BUTTON.ack + s.id, strings.acknowledge, ButtonStyle.Success, '✅'), button(BUTTON.snooze + s.id, strings.snooze, ButtonStyle.Secondary, '💤')),
    ],
  };
}

/** Text and error replies: plain content (escaped), errors only to the caller when possible. */
export function renderText(reply: Reply & { kind: 'text' | 'error' }): DiscordPayload {
  if (reply.kind === 'error') return { content: escapeMarkdown(reply.text).slice(0, CONTENT_MAX), ephemeral: true };
  return { content: reply.monospace ? codeBlock(reply.text, CONTENT_MAX) : escapeMarkdown(reply.text).slice(0, CONTENT_MAX) };
}

/** Interaction replies take `flags` for ephemeral; channel messages do not know the flag. */
export function forInteraction(p: DiscordPayload): Omit<DiscordPayload, 'ephemeral'> & { flags?: MessageFlags.Ephemeral } {
  const rest = forChannel(p);
  return p.ephemeral ? { ...rest, flags: MessageFlags.Ephemeral } : rest;
}

/** The payload as any message takes it: no ephemeral flag, embeds within Discord's limits. */
export function forChannel(p: DiscordPayload): Omit<DiscordPayload, 'ephemeral'> {
  const { ephemeral: _ephemeral, ...rest } = p;
  return rest.embeds ? { ...rest, embeds: fitEmbeds(rest.embeds) } : rest;
}
