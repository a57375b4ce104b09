/** Button clicks, routed by customId prefix to their family (one file each); unknown ids are ignored. */
import type { ButtonInteraction } from 'discord.js';
import { resolveLang } from '../../../commands/common.ts';
import type { Lang } from '../../../domain/emotions.ts';
import { contextFromInteraction } from '../context.ts';
import type { DiscordHost } from '../host.ts';
import { passes } from '../preconditions.ts';
import { moderationButtons } from './moderation.ts';
import { timelineButton } from './timeline.ts';
import type { ButtonFamily } from './types.ts';

export const BUTTON_FAMILIES: readonly ButtonFamily[] = [timelineButton, moderationButtons];

export class ButtonRouter {
  readonly #host: DiscordHost;
  readonly #families: readonly ButtonFamily[];

  constructor(host: DiscordHost, families: readonly ButtonFamily[] = BUTTON_FAMILIES) {
    this.#host = host;
    this.#families = families;
  }

  async run(i: ButtonInteraction): Promise<void> {
    const id = i.customId;
    let prefix: string | undefined;
    const family = this.#families.find((f) => (prefix = f.prefixes.find((p) => id.startsWith(p))) !== undefined);
    if (!family || prefix === undefined) return;
    const ctx = contextFromInteraction(i, this.#host.services);
    // A store that fails must not leave the click unanswered: the server's language falls back.
    let langP: Promise<Lang> | undefined;
    const lang = (): Promise<Lang> => (langP ??= resolveLang(ctx, this.#host.services).catch(() => ctx.lang));
    if (family.preconditions && !(await passes(family.preconditions, i, ctx, await lang()))) return;
    await family.run({ i, ctx, prefix, key: id.slice(prefix.length), lang, host: this.#host });
  }
}
