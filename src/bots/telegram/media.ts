/**
 * Finds the audio inside a Telegram message: voice notes, audio files, round video notes and
 * documents whose MIME type says audio. Pure: no I/O, so it is easy to test.
 */
import type { Message } from 'grammy/types';

export type MediaKind = 'voice' | 'audio' | 'video_note' | 'document';

export interface TelegramMedia {
  kind: MediaKind;
  fileId: string;
  /** As Telegram reports it; absent for some old messages. */
  fileSize: number | undefined;
  /** Seconds, as Telegram reports it (documents have none). */
  durationS: number | undefined;
  mimeType: string | undefined;
  /** A name hint for the decoder. */
  filename: string;
}

/** Extensions of audio documents that are sent without an audio MIME type. */
const AUDIO_EXTENSIONS = /\.(ogg|oga|opus|mp3|m4a|wav|flac|aac|webm)$/i;

export function mediaOf(message: Message | undefined): TelegramMedia | undefined {
  if (!message) return undefined;
  if (message.voice) {
    const v = message.voice;
    return { kind: 'voice', fileId: v.file_id, fileSize: v.file_size, durationS: v.duration, mimeType: v.mime_type ?? 'audio/ogg', filename: 'voice.ogg' };
  }
  if (message.audio) {
    const a = message.audio;
    return { kind: 'audio', fileId: a.file_id, fileSize: a.file_size, durationS: a.duration, mimeType: a.mime_type, filename: a.file_name ?? 'audio' };
  }
  if (message.video_note) {
    const v = message.video_note;
    return { kind: 'video_note', fileId: v.file_id, fileSize: v.file_size, durationS: v.duration, mimeType: 'video/mp4', filename: 'video_note.mp4' };
  }
  const d = message.document;
  if (d && (d.mime_type?.startsWith('audio/') || (d.file_name !== undefined && AUDIO_EXTENSIONS.test(d.file_name)))) {
    return { kind: 'document', fileId: d.file_id, fileSize: d.file_size, durationS: undefined, mimeType: d.mime_type, filename: d.file_name ?? 'audio' };
  }
  return undefined;
}
