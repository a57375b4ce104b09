/** Builders for the Telegram updates tests push into the fake server. */
import type { Chat, Message, Update, User } from 'grammy/types';
import type { FakeTelegram } from './server.ts';

export function user(id: number, first_name = `User${id}`, language_code = 'en'): User {
  return { id, is_bot: false, first_name, language_code };
}

export function privateChat(u: User): Chat.PrivateChat {
  return { id: u.id, type: 'private', first_name: u.first_name };
}

export function groupChat(id: number, title = `Group ${id}`): Chat.SupergroupChat {
  return { id, type: 'supergroup', title };
}

type Kind = 'voice' | 'audio' | 'video_note' | 'document';

/** A message carrying a file that the fake server can serve (see FakeTelegram.addFile). */
export function fileMessage(tg: FakeTelegram, chat: Chat, from: User, fileId: string, kind: Kind = 'voice', durationS = 2): Message {
  const base = { message_id: tg.newMessageId(), date: Math.floor(Date.now() / 1000), chat, from };
  const file = { file_id: fileId, file_unique_id: `u-${fileId}`, file_size: tg.fileSize(fileId) };
  switch (kind) {
    case 'voice':
      return { ...base, voice: { ...file, duration: durationS, mime_type: 'audio/ogg' } };
    case 'audio':
      return { ...base, audio: { ...file, duration: durationS, mime_type: 'audio/ogg', file_name: `${fileId}.ogg` } };
    case 'video_note':
      return { ...base, video_note: { ...file, duration: durationS, length: 240 } };
    case 'document':
      return { ...base, document: { ...file, mime_type: 'audio/ogg', file_name: `${fileId}.ogg` } };
  }
}

export function textMessage(tg: FakeTelegram, chat: Chat, from: User, text: string, replyTo?: Message): Message {
  const entities = text.startsWith('/') ? [{ type: 'bot_command' as const, offset: 0, length: text.split(/\s/)[0].length }] : undefined;
  return {
    message_id: tg.newMessageId(),
    date: Math.floor(Date.now() / 1000),
    chat,
    from,
    text,
    ...(entities ? { entities } : {}),
    ...(replyTo ? { reply_to_message: replyTo } : {}),
  } as Message;
}

export function messageUpdate(message: Message): Omit<Update, 'update_id'> {
  return { message } as Omit<Update, 'update_id'>;
}

export function callbackUpdate(from: User, message: Message, data: string, id = `cb-${Math.random().toString(36).slice(2)}`): Omit<Update, 'update_id'> {
  return { callback_query: { id, from, chat_instance: `ci-${message.chat.id}`, message, data } };
}
