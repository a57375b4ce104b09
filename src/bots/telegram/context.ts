/** Maps a Telegram chat and user to the platform-neutral CommandContext. */
import type { Api } from 'grammy';
import type { Chat, User } from 'grammy/types';
import type { CommandContext } from '../../commands/types.ts';
import type { Clock } from '../../usecases/ports.ts';
import { langFromCode } from '../../domain/lang.ts';

export function displayName(user: User): string {
  const full = [user.first_name, user.last_name].filter(Boolean).join(' ').trim();
  return full || (user.username ? `@${user.username}` : `user ${user.id}`);
}

export function isGroup(chat: Chat): boolean {
  return chat.type === 'group' || chat.type === 'supergroup';
}

/**
 * `senderChat`: the message's sender_chat. An admin who posts anonymously ("Remain anonymous")
 * arrives as the user GroupAnonymousBot with sender_chat = the group itself, and only admins can
 * do that, so such a message counts as an admin's (getChatMember would only know the stand-in bot).
 */
export function commandContext(api: Api, chat: Chat, user: User, now: Clock, senderChat?: Chat): CommandContext {
  let admin: Promise<boolean> | undefined;
  const anonymousAdmin = isGroup(chat) && senderChat?.id === chat.id;
  return {
    platform: 'telegram',
    user: { id: String(user.id), name: displayName(user), ...(anonymousAdmin ? { anonymous: true } : {}) },
    chat: {
      id: String(chat.id),
      kind: isGroup(chat) ? 'group' : 'private',
      ...('title' in chat && chat.title ? { title: chat.title } : {}),
    },
    lang: langFromCode(user.language_code),
    // Asked at most once per update, and only by commands that need it.
    isAdmin() {
      admin ??= anonymousAdmin ? Promise.resolve(true) : isChatAdmin(api, chat, user.id);
      return admin;
    },
    now,
  };
}

async function isChatAdmin(api: Api, chat: Chat, userId: number): Promise<boolean> {
  // In a private chat the user is the only one who can change its settings.
  if (!isGroup(chat)) return chat.id === userId;
  try {
    const member = await api.getChatMember(chat.id, userId);
    return member.status === 'creator' || member.status === 'administrator';
  } catch {
    return false;
  }
}
