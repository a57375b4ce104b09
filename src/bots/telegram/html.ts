/** Telegram HTML parse mode (escapeHtml: the one of src/render, whose &quot; Telegram decodes too). */
import { escapeHtml } from '../../render/text.ts';

export function pre(text: string): string {
  return `<pre>${escapeHtml(text)}</pre>`;
}

export function bold(text: string): string {
  return `<b>${escapeHtml(text)}</b>`;
}

/** Telegram's limits: 4096 characters per message, 1024 per caption. */
export const MESSAGE_LIMIT = 4096;
export const CAPTION_LIMIT = 1024;

/**
 * Cuts plain text to fit, marking the cut. Lengths are UTF-16 code units (what entity offsets use;
 * never fewer than Telegram's count), and the cut never splits an emoji's surrogate pair: a lone
 * surrogate is not valid UTF-8, and Telegram refuses the whole message for it.
 */
export function fit(text: string, limit: number): string {
  if (text.length <= limit) return text;
  let end = limit - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}
