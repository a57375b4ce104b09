/** Acknowledge / Snooze under a moderation alert in the log channel (Manage Server, in the alert's server only). */
import { fitEmbeds } from '../embedLimits.ts';
import { manageGuild } from '../preconditions.ts';
import { BUTTON, forInteraction } from '../render.ts';
import { ds } from '../strings.ts';
import type { ButtonFamily } from './types.ts';

export const moderationButtons: ButtonFamily = {
  prefixes: [BUTTON.ack, BUTTON.snooze],
  preconditions: [manageGuild],
  async run({ i, ctx, prefix, key: signalId, lang, host }) {
    const s = host.services;
    const strings = ds(await lang());
    const ack = prefix === BUTTON.ack;
    // Only from the server the alert is about: an admin elsewhere cannot silence or close it.
    const signal = await s.moderation.find?.(signalId);
    if (signal && (signal.platform !== 'discord' || signal.guildId !== (i.guildId ?? undefined))) {
      s.logger.warn({ guildId: i.guildId, signalGuildId: signal.guildId }, 'moderation button pressed outside its server');
      return void (await i.reply(forInteraction({ content: strings.alertGone, ephemeral: true })));
    }
    const ok = await (ack ? s.moderation.acknowledge(signalId, i.user.id) : s.moderation.snooze(signalId, 3600));
    if (!ok) return void (await i.reply(forInteraction({ content: strings.alertGone, ephemeral: true })));
    const note = ack ? strings.acknowledged(ctx.user.name) : strings.snoozed(ctx.user.name);
    const embeds = i.message.embeds.map((e) => ({ ...e.toJSON(), footer: { text: note } }));
    await i.update({ embeds: fitEmbeds(embeds), components: [] });
  },
};
