/**
 * What the real Bot API refuses and a lenient fake would let through: HTML that does not parse,
 * text past 4096 characters (captions past 1024) counted after entity parsing, empty text,
 * callback_data past 64 bytes, and an edit that changes nothing ("message is not modified").
 * Sources: core.telegram.org/bots/api (sendMessage, "HTML style", InlineKeyboardButton, editMessageText).
 */

/** Tags the HTML parse mode knows (core.telegram.org/bots/api#html-style). */
const TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span', 'tg-spoiler', 'a', 'code', 'pre', 'blockquote', 'tg-emoji']);

export type Checked = { ok: true; plain: string } | { ok: false; description: string };

/** Parses Telegram HTML strictly enough to catch unescaped <, > or &, unknown or unbalanced tags. */
export function parseTelegramHtml(html: string): Checked {
  const fail = (why: string, at: number): Checked => ({
    ok: false,
    description: `Bad Request: can't parse entities: ${why} at byte offset ${Buffer.byteLength(html.slice(0, at))}`,
  });
  const open: string[] = [];
  let plain = '';
  for (let i = 0; i < html.length;) {
    const ch = html[i];
    if (ch === '<') {
      const m = /^<(\/?)([a-z-]+)((?:\s+[a-z-]+="[^"<>]*")*)\s*>/i.exec(html.slice(i));
      if (!m) return fail('Unsupported start tag', i);
      const [whole, closing, name] = m as unknown as [string, string, string];
      const tag = name.toLowerCase();
      if (!TAGS.has(tag)) return fail(`Unsupported start tag "${tag}"`, i);
      if (closing) {
        if (open.pop() !== tag) return fail(`Unmatched end tag "${tag}"`, i);
      } else open.push(tag);
      i += whole.length;
    } else if (ch === '>') {
      // Telegram tolerates a bare ">" in practice, but the docs require escaping it; so does the fake.
      return fail('Unexpected ">"', i);
    } else if (ch === '&') {
      const m = /^&(lt|gt|amp|quot|#\d+|#x[0-9a-f]+);/i.exec(html.slice(i));
      if (!m) return fail('Unsupported entity', i);
      const e = m[1].toLowerCase();
      plain +=
        e === 'lt'
          ? '<'
          : e === 'gt'
            ? '>'
            : e === 'amp'
              ? '&'
              : e === 'quot'
                ? '"'
                : String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
      i += m[0].length;
    } else {
      plain += ch;
      i++;
    }
  }
  if (open.length > 0) return fail(`Can't find end tag corresponding to start tag "${open.at(-1)}"`, html.length);
  return { ok: true, plain };
}

/** Counted in UTF-16 code units, like message entity offsets (never less than the code points). */
export function checkText(text: string, parseMode: unknown, limit: number, what: 'message text' | 'caption'): Checked {
  const parsed = parseMode === 'HTML' ? parseTelegramHtml(text) : ({ ok: true, plain: text } as const);
  if (!parsed.ok) return parsed;
  if (what === 'message text' && parsed.plain.trim() === '') return { ok: false, description: 'Bad Request: message text is empty' };
  if (parsed.plain.length > limit)
    return { ok: false, description: what === 'caption' ? 'Bad Request: message caption is too long' : 'Bad Request: message is too long' };
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(parsed.plain))
    return { ok: false, description: 'Bad Request: text must be encoded in UTF-8' };
  return parsed;
}

/** callback_data: 1-64 bytes. */
export function checkMarkup(markup: unknown): Checked | undefined {
  const rows = (markup as { inline_keyboard?: unknown } | undefined)?.inline_keyboard;
  if (!Array.isArray(rows)) return undefined;
  for (const row of rows as unknown[][]) {
    for (const button of row as { callback_data?: unknown }[]) {
      if (typeof button.callback_data !== 'string') continue;
      const bytes = Buffer.byteLength(button.callback_data);
      if (bytes < 1 || bytes > 64) return { ok: false, description: 'Bad Request: BUTTON_DATA_INVALID' };
    }
  }
  return undefined;
}
