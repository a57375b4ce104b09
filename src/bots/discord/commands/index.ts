/**
 * The Discord slash commands, one file each, and their dispatch: preconditions, then the handler;
 * a failure becomes an ephemeral error sentence in the caller's language.
 */
import type { ChatInputCommandInteraction } from 'discord.js';
import { errorReply, resolveLang } from '../../../commands/common.ts';
import { COMMANDS, type CommandEntry } from '../../../commands/registry.ts';
import { VoicemoodError } from '../../../domain/errors.ts';
import { contextFromInteraction } from '../context.ts';
import type { DiscordHost } from '../host.ts';
import { passes } from '../preconditions.ts';
import { forInteraction, renderText } from '../render.ts';
import { analyze } from './analyze.ts';
import { forget } from './forget.ts';
import { listen } from './listen.ts';
import { me } from './me.ts';
import { mood } from './mood.ts';
import { privacy } from './privacy.ts';
import { settings } from './settings.ts';
import type { DiscordCommand } from './types.ts';

export const DISCORD_COMMANDS: readonly DiscordCommand[] = [analyze, me, mood, listen, forget, privacy, settings];

/**
 * The handler of each Discord command of the registry, by name. Throws when the two disagree (a
 * registry entry for Discord without its file here, or a file without its entry), so that a bot
 * never registers a command it cannot answer.
 */
export function commandsByName(
  registry: readonly CommandEntry[] = COMMANDS,
  commands: readonly DiscordCommand[] = DISCORD_COMMANDS,
): ReadonlyMap<string, DiscordCommand> {
  const byName = new Map(commands.map((c) => [c.definition.name, c]));
  const wanted = registry.filter((c) => c.discord).map((c) => c.name);
  const missing = wanted.filter((n) => !byName.has(n));
  const extra = [...byName.keys()].filter((n) => !wanted.includes(n));
  if (missing.length > 0 || extra.length > 0)
    throw new Error(`Discord commands and the registry disagree: without a handler ${JSON.stringify(missing)}, not in the registry ${JSON.stringify(extra)}`);
  return byName;
}

export class CommandRouter {
  readonly #host: DiscordHost;
  readonly #commands: ReadonlyMap<string, DiscordCommand>;

  constructor(host: DiscordHost, commands: ReadonlyMap<string, DiscordCommand> = commandsByName()) {
    this.#host = host;
    this.#commands = commands;
  }

  async run(i: ChatInputCommandInteraction): Promise<void> {
    const s = this.#host.services;
    const ctx = contextFromInteraction(i, s);
    // The language is a store read: it runs while the deferred commands acknowledge, so that a
    // slow store cannot eat the 3 s Discord gives for the first answer. Awaited where needed.
    const langP = resolveLang(ctx, s);
    langP.catch(() => undefined);
    try {
      const command = this.#commands.get(i.commandName);
      if (!command) {
        await i.reply(forInteraction(renderText(errorReply(new VoicemoodError('not_found', 'I do not know that command.'), await langP))));
        return;
      }
      if (command.preconditions && !(await passes(command.preconditions, i, ctx, await langP))) return;
      await command.run({ i, ctx, lang: () => langP, host: this.#host });
    } catch (e) {
      s.logger.warn({ err: e, command: i.commandName }, 'discord command failed');
      const lang = await langP.catch(() => ctx.lang);
      const p = forInteraction(renderText(errorReply(e, lang)));
      const { flags: _flags, ...edit } = p;
      if (i.deferred || i.replied) await i.editReply(edit).catch(() => undefined);
      else await i.reply(p).catch(() => undefined);
    }
  }
}
