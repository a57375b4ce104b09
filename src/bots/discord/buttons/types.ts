/** The shape of one family of Discord buttons (one file per family in this folder). */
import type { ButtonInteraction } from 'discord.js';
import type { CommandContext } from '../../../commands/types.ts';
import type { Lang } from '../../../domain/emotions.ts';
import type { DiscordHost } from '../host.ts';
import type { Precondition } from '../preconditions.ts';

export interface ButtonRun {
  i: ButtonInteraction;
  ctx: CommandContext;
  /** The customId prefix that matched (one of the family's). */
  prefix: string;
  /** The rest of the customId, after the prefix. */
  key: string;
  /** The clicker's language (a store read; a failing store falls back to the interaction's locale). */
  lang: () => Promise<Lang>;
  host: DiscordHost;
}

export interface ButtonFamily {
  /** customId prefixes this family answers (render.ts BUTTON). */
  readonly prefixes: readonly string[];
  /** Checked in order, once the language is known, before `run`. */
  readonly preconditions?: readonly Precondition[];
  run(r: ButtonRun): Promise<void>;
}
