/**
 * Several webhook instances behind one URL: Telegram re-delivers an update it thinks was not
 * answered, possibly to another instance. The first instance to claim its update_id handles it.
 */
import { Composer } from 'grammy';
import type { ClaimStore } from '../../../usecases/ports.ts';
import type { VoicemoodContext } from '../flavour.ts';

/** How long an update id stays claimed (Telegram gives up re-delivering within a day). */
export const UPDATE_CLAIM_TTL_S = 86_400;

export function updateClaims(claims: ClaimStore, token: string): Composer<VoicemoodContext> {
  const botId = token.slice(0, token.indexOf(':'));
  const composer = new Composer<VoicemoodContext>();
  composer.use(async (ctx, next) => {
    if (await claims.claim(`voicemood:tg:update:${botId}:${ctx.update.update_id}`, UPDATE_CLAIM_TTL_S)) return next();
    ctx.voicemood.log.info({ updateId: ctx.update.update_id }, 'telegram: update already handled (a re-delivery); skipped');
  });
  return composer;
}
