/** Small helpers for monospace text: display width, padding, eighth-block bars, HTML escaping. */

/** Columns a string takes in a monospace font (CJK and emoji take two). */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp === 0xfe0f || cp === 0x200d || (cp >= 0x300 && cp <= 0x36f)) continue; // zero-width
    w += isWide(cp) ? 2 : 1;
  }
  return w;
}

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x2600 && cp <= 0x27bf && cp !== 0x2713) ||
    cp === 0x2753 // ❓
  );
}

/** Pads on the right to `width` display columns. */
export function padEnd(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - displayWidth(s)));
}

/** Pads on the left to `width` display columns. */
export function padStart(s: string, width: number): string {
  return ' '.repeat(Math.max(0, width - displayWidth(s))) + s;
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A horizontal bar of `width` cells for a value in [0, 1], with eighth-cell resolution. */
export function bar(value: number, width: number): string {
  const v = Math.max(0, Math.min(1, Number.isFinite(value) ? value : 0));
  const eighths = Math.round(v * width * 8);
  const full = Math.floor(eighths / 8);
  const rest = EIGHTHS[eighths % 8] ?? '';
  const s = '█'.repeat(full) + rest;
  return s + ' '.repeat(Math.max(0, width - full - (rest ? 1 : 0)));
}

/** Escapes text for Telegram HTML parse mode (and any HTML). */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Escapes text for inclusion in XML/SVG. */
export function escapeXml(s: string): string {
  return escapeHtml(s).replace(/'/g, '&apos;');
}

/** Makes text safe inside a Markdown code block (Discord): no closing fence can appear. */
export function escapeCodeBlock(s: string): string {
  return s.replace(/```/g, '`\u200b``');
}
