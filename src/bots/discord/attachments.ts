/** Which attachments are voice, and downloading them with a size bound and a deadline. */
import { VoicemoodError } from '../../errors.ts';

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

export async function downloadAttachment(a: AttachmentLike, options: { maxBytes?: number; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Uint8Array> {
  const maxBytes = options.maxBytes ?? MAX_ATTACHMENT_BYTES;
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (a.size > maxBytes) throw new VoicemoodError('too_large', `That file is ${mb(a.size)}; I take files up to ${mb(maxBytes)}.`, { details: { size: a.size } });
  const signals = [AbortSignal.timeout(options.timeoutMs ?? 30_000), ...(options.signal ? [options.signal] : [])];
  let res: Response;
  try {
    res = await fetch(a.url, { signal: AbortSignal.any(signals) });
  } catch (e) {
    throw new VoicemoodError('timeout', 'Downloading that file from Discord failed or took too long. Please try again.', { cause: e });
  }
  if (!res.ok || !res.body) throw new VoicemoodError('not_found', 'Discord did not give me that file any more. Please send it again.', { details: { status: res.status } });
  // The size Discord reports is a claim: count what actually arrives.
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body) {
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
