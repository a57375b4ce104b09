/**
 * The command menu shown by Telegram clients, generated from the command registry
 * (src/commands/registry.ts) and registered with setMyCommands in English (default) and Chinese
 * (language_code "zh"). One menu for private chats and groups alike (the default scope).
 */
import type { BotCommand } from 'grammy/types';
import { LANGS, type Lang } from '../../domain/emotions.ts';
import { COMMANDS, type CommandEntry } from '../../commands/registry.ts';

/** The menu in each language: the registry's Telegram commands, in registry order. */
export function commandMenus(registry: readonly CommandEntry[] = COMMANDS): Record<Lang, BotCommand[]> {
  const inMenu = registry.filter((c) => c.telegram);
  const menu = (lang: Lang): BotCommand[] => inMenu.map((c) => ({ command: c.name, description: (c.telegram?.description ?? c.description)[lang] }));
  return Object.fromEntries(LANGS.map((lang) => [lang, menu(lang)])) as Record<Lang, BotCommand[]>;
}

export const COMMAND_MENU: Readonly<Record<Lang, readonly BotCommand[]>> = commandMenus();

/** The setMyCommands calls that install the menus: English as the default, then each other language by its code. */
export function menuRegistrations(registry: readonly CommandEntry[] = COMMANDS): { commands: BotCommand[]; language_code?: Lang }[] {
  const menus = commandMenus(registry);
  return [{ commands: menus.en }, ...LANGS.filter((l) => l !== 'en').map((l) => ({ commands: menus[l], language_code: l }))];
}
