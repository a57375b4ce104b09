/**
 * The page at `GET /`: plain HTML, one stylesheet and one small ES module, all served from
 * src/web/page/ (no CDN, no build step), plus `/app/config.json` with what the page needs from
 * the server: the nine emotions in model order with their labels, emoji and colours, the page's
 * strings in English and Chinese, the upload limit and whether an API key is needed.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { EMOJI, EMOTIONS, EMOTION_LABELS } from '../domain/emotions.ts';
import { EMOTION_COLORS } from '../render/chart.ts';
import { PAGE_STRINGS } from './pageStrings.ts';

const file = (name: string): string => readFileSync(new URL(`./page/${name}`, import.meta.url), 'utf8');

/** Only our own files: no inline script, no third-party origin. */
const CSP =
  "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function registerPage(app: FastifyInstance, options: { maxBytes: number; authRequired: boolean }): void {
  const files: Record<string, { type: string; body: string }> = {
    '/': { type: 'text/html; charset=utf-8', body: file('index.html') },
    '/app/app.js': { type: 'text/javascript; charset=utf-8', body: file('app.js') },
    '/app/style.css': { type: 'text/css; charset=utf-8', body: file('style.css') },
    '/app/config.json': {
      type: 'application/json; charset=utf-8',
      body: JSON.stringify({
        emotions: EMOTIONS.map((id) => ({ id, emoji: EMOJI[id], color: EMOTION_COLORS[id], label: { en: EMOTION_LABELS.en[id], zh: EMOTION_LABELS.zh[id] } })),
        strings: PAGE_STRINGS,
        maxBytes: options.maxBytes,
        authRequired: options.authRequired,
      }),
    },
  };
  for (const [path, f] of Object.entries(files)) {
    app.get(path, async (_request, reply) =>
      reply.type(f.type).header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache').send(f.body),
    );
  }
}
