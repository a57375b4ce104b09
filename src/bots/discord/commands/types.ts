/** The shape of one Discord slash command (one file per command in this folder). */
import type { ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { CommandContext } from '../../../commands/types.ts';
import type { Lang } from '../../../domain/emotions.ts';
import type { DiscordHost } from '../host.ts';
import type { Precondition } from '../preconditions.ts';

export interface SlashRun {
  i: ChatInputCommandInteraction;
  ctx: CommandContext;
  /**
   * The caller's language. A store read, started when the interaction came in so that it runs
   * while the command acknowledges (Discord wants a first answer within 3 s); await it where needed.
   */
  lang: () => Promise<Lang>;
  host: DiscordHost;
}

export interface DiscordCommand {
  /** As registered (generated from src/commands/registry.ts). */
  readonly definition: RESTPostAPIChatInputApplicationCommandsJSONBody;
  /** Checked in order, once the language is known, before `run`. */
  readonly preconditions?: readonly Precondition[];
  run(r: SlashRun): Promise<void>;
}
