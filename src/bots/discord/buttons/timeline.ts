/** The Timeline button under a card: adds the emotion strip and chart to the card's message. */
import { forChannel, forInteraction, BUTTON, renderCardWithTimeline } from '../render.ts';
import { ds } from '../strings.ts';
import type { ButtonFamily } from './types.ts';

export const timelineButton: ButtonFamily = {
  prefixes: [BUTTON.timeline],
  async run({ i, key, lang, host }) {
    const kept = host.timelines.get(key);
    if (!kept?.timeline) return void (await i.reply(forInteraction({ content: ds(await lang()).timelineGone, ephemeral: true })));
    // Drawing the chart takes a moment: acknowledge first (3 s rule), then edit the message.
    await i.deferUpdate();
    await i.editReply(forChannel(await renderCardWithTimeline(kept, kept.timeline, kept.card.lang)));
  },
};
