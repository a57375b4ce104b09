/** Telegram HTML parse mode: only <, > and & need escaping in text and inside <pre>. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function pre(text: string): string {
  return `<pre>${escapeHtml(text)}</pre>`;
}

export function bold(text: string): string {
  return `<b>${escapeHtml(text)}</b>`;
}

/** Telegram's limits: 4096 characters per message, 1024 per caption. */
export const MESSAGE_LIMIT = 4096;
export const CAPTION_LIMIT = 1024;

/** Cuts plain text to fit, marking the cut. */
export function fit(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}
