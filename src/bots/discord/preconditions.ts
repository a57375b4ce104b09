/**
 * Checks a command or button runs before its handler. Each returns the sentence to answer with
 * (ephemeral) when the interaction may not go on, undefined when it may.
 */
import type { ButtonInteraction, ChatInputCommandInteraction } from 'discord.js';
import type { CommandContext } from '../../commands/types.ts';
import type { Lang } from '../../domain/emotions.ts';
import { t } from '../../render/i18n.ts';
import { forInteraction } from './render.ts';
import { ds } from './strings.ts';

export type GatedInteraction = ChatInputCommandInteraction | ButtonInteraction;

export type Precondition = (i: GatedInteraction, ctx: CommandContext, lang: Lang) => string | undefined | Promise<string | undefined>;

/** In a server (not a DM). */
export const guildOnly: Precondition = (i, _ctx, lang) => (i.inGuild() ? undefined : ds(lang).guildOnly);

/** The member has Manage Server (what makes an admin of voicemood in a server; see context.ts). */
export const manageGuild: Precondition = async (_i, ctx, lang) => ((await ctx.isAdmin()) ? undefined : t(lang).settingsAdminOnly);

/** Runs the checks in order; on the first refusal answers with it and returns false. */
export async function passes(preconditions: readonly Precondition[], i: GatedInteraction, ctx: CommandContext, lang: Lang): Promise<boolean> {
  for (const check of preconditions) {
    const refusal = await check(i, ctx, lang);
    if (refusal !== undefined) {
      await i.reply(forInteraction({ content: refusal, ephemeral: true }));
      return false;
    }
  }
  return true;
}
