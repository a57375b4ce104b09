/**
 * Discord's embed limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits):
 * a message with one embed past them is refused whole (400, Invalid Form Body), so every payload
 * is fitted before it is sent. Pure.
 */
import type { APIEmbed } from 'discord.js';

export const EMBED_LIMITS = {
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  author: 256,
  total: 6000,
  embeds: 10,
} as const;

/** Cuts text to `max` characters; a ``` block stays closed. */
export function clipText(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  const fenced = text.startsWith('```\n') && text.endsWith('\n```') && max > 9;
  if (fenced) return text.slice(0, max - 5) + '…\n```';
  return text.slice(0, max - 1) + '…';
}

/** The characters Discord counts towards the 6000 of a message. */
export function embedChars(e: APIEmbed): number {
  return (
    (e.title?.length ?? 0) +
    (e.description?.length ?? 0) +
    (e.footer?.text.length ?? 0) +
    (e.author?.name.length ?? 0) +
    (e.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0)
  );
}

/** Each embed within its own limits, then the longest descriptions shortened until all fit in 6000. */
export function fitEmbeds(embeds: APIEmbed[]): APIEmbed[] {
  const out = embeds.slice(0, EMBED_LIMITS.embeds).map((e) => {
    const f: APIEmbed = { ...e };
    if (f.title !== undefined) f.title = clipText(f.title, EMBED_LIMITS.title);
    if (f.description !== undefined) f.description = clipText(f.description, EMBED_LIMITS.description);
    if (f.footer) f.footer = { ...f.footer, text: clipText(f.footer.text, EMBED_LIMITS.footer) };
    if (f.author) f.author = { ...f.author, name: clipText(f.author.name, EMBED_LIMITS.author) };
    if (f.fields)
      f.fields = f.fields
        .slice(0, EMBED_LIMITS.fields)
        .map((x) => ({ ...x, name: clipText(x.name, EMBED_LIMITS.fieldName) || '—', value: clipText(x.value, EMBED_LIMITS.fieldValue) || '—' }));
    return f;
  });
  // Over 6000 in all: shorten the longest text (description, field value or footer) by the
  // excess, again until it fits; a field's name and value keep at least "…" (it may not be empty).
  let excess = out.reduce((n, e) => n + embedChars(e), 0) - EMBED_LIMITS.total;
  while (excess > 0) {
    const parts = out.flatMap((e) => [
      ...(e.description ? [{ len: e.description.length, min: 0, set: (max: number) => (e.description = clipText(e.description!, max)) }] : []),
      ...(e.footer?.text
        ? [{ len: e.footer.text.length, min: 0, set: (max: number) => (e.footer = { ...e.footer!, text: clipText(e.footer!.text, max) }) }]
        : []),
      ...(e.fields ?? []).flatMap((f) => [
        { len: f.value.length, min: 1, set: (max: number) => (f.value = clipText(f.value, max) || '…') },
        { len: f.name.length, min: 1, set: (max: number) => (f.name = clipText(f.name, max) || '…') },
      ]),
      ...(e.title ? [{ len: e.title.length, min: 0, set: (max: number) => (e.title = clipText(e.title!, max)) }] : []),
    ]);
    const longest = parts.filter((x) => x.len > x.min).sort((a, b) => b.len - a.len)[0];
    if (!longest) break;
    longest.set(Math.max(longest.min, longest.len - excess));
    excess = out.reduce((n, e) => n + embedChars(e), 0) - EMBED_LIMITS.total;
  }
  return out;
}
