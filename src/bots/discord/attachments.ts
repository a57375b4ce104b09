/**
 * Which attachments are voice, and downloading them with a size bound and a deadline — only from
 * Discord's CDN (https://cdn.discordapp.com, https://media.discordapp.net): an attachment URL is
 * data from the gateway, and the bot must not be made to fetch other hosts. Tests and
 * self-hosted proxies name other hosts with VOICEMOOD_DISCORD_CDN_HOSTS (plain http only on loopback).
 */
import type { Env } from '../../util/config.ts';
import { VoicemoodError } from '../../domain/errors.ts';
import { isLoopbackHost } from '../../util/loopback.ts';

export const MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024;
const AUDIO_EXTENSIONS = /\.(ogg|oga|opus|mp3|wav|wave|m4a|aac|flac|webm|weba|amr)$/i;

export interface AttachmentLike {
  name: string;
  url: string;
  size: number;
  contentType: string | null;
}

/** Voice messages are OGG/Opus attachments; other audio files count too (by type or name). */
export function isAudioAttachment(a: Pick<AttachmentLike, 'name' | 'contentType'>): boolean {
  return (a.contentType?.startsWith('audio/') ?? false) || AUDIO_EXTENSIONS.test(a.name);
}

/** Discord's attachment hosts: the default allow-list. */
export const DISCORD_CDN_HOSTS: readonly string[] = ['cdn.discordapp.com', 'media.discordapp.net'];

/** VOICEMOOD_DISCORD_CDN_HOSTS (comma-separated host or host:port), else Discord's own hosts. */
export function cdnHostsFromEnv(env: Env): string[] {
  const raw = env.VOICEMOOD_DISCORD_CDN_HOSTS?.trim();
  if (!raw) return [...DISCORD_CDN_HOSTS];
  const hosts = raw
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  for (const h of hosts) {
    if (!URL.canParse(`https://${h}/`) || new URL(`https://${h}/`).host !== h.replace(/:443$/, '')) {
      throw new VoicemoodError(
        'bad_input',
        `VOICEMOOD_DISCORD_CDN_HOSTS holds "${h}": give host names (or host:port), separated by commas, without a scheme or path.`,
      );
    }
  }
  return hosts;
}

/** Throws (a sentence) unless `url` is https on an allowed host, or http on an allowed loopback host. */
export function checkAttachmentUrl(url: string, allowedHosts: readonly string[] = DISCORD_CDN_HOSTS): URL {
  const refuse = (): VoicemoodError =>
    new VoicemoodError('bad_input', 'That file is not on Discord’s file server, so I did not download it.', { details: { attachmentHostRefused: true } });
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw refuse();
  }
  const schemeOk = u.protocol === 'https:' || (u.protocol === 'http:' && isLoopbackHost(u.hostname));
  if (!schemeOk || u.username || u.password || !allowedHosts.includes(u.host.toLowerCase())) throw refuse();
  return u;
}

export async function downloadAttachment(
  a: AttachmentLike,
  options: { maxBytes?: number; timeoutMs?: number; signal?: AbortSignal; allowedHosts?: readonly string[] } = {},
): Promise<Uint8Array> {
  const maxBytes = options.maxBytes ?? MAX_ATTACHMENT_BYTES;
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (a.size > maxBytes)
    throw new VoicemoodError('too_large', `That file is ${mb(a.size)}; I take files up to ${mb(maxBytes)}.`, { details: { size: a.size } });
  checkAttachmentUrl(a.url, options.allowedHosts);
  const signals = [AbortSignal.timeout(options.timeoutMs ?? 30_000), ...(options.signal ? [options.signal] : [])];
  let res: Response;
  try {
    // No redirects: a CDN URL answers with the file itself, and a redirect could lead off the allow-list.
    res = await fetch(a.url, { signal: AbortSignal.any(signals), redirect: 'error' });
  } catch (e) {
    throw new VoicemoodError('timeout', 'Downloading that file from Discord failed or took too long. Please try again.', { cause: e });
  }
  if (!res.ok || !res.body)
    throw new VoicemoodError('not_found', 'Discord did not give me that file any more. Please send it again.', { details: { status: res.status } });
  // The size Discord reports is a claim: count what actually arrives.
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > maxBytes) throw new VoicemoodError('too_large', `That file is larger than ${mb(maxBytes)}, which is as much as I take.`);
    chunks.push(chunk);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
