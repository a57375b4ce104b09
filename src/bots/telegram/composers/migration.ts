/**
 * A group upgraded to a supergroup gets a new chat id; its settings (reply mode, language, alerts,
 * moderation) follow it. Its history stays under the old id and ages out as usual. (Calls still
 * made to the old id are sent again to the new one by the API transformer, retry.ts.)
 */
import { Composer } from 'grammy';
import type { VoicemoodContext } from '../flavour.ts';

export const migration = new Composer<VoicemoodContext>();

migration.on('message:migrate_to_chat_id', async (ctx) => {
  const { services, log } = ctx.voicemood;
  const from = String(ctx.chat.id);
  const to = String(ctx.message.migrate_to_chat_id);
  const settings = await services.settings.getChatSettings('telegram', from);
  await services.settings.setChatSettings('telegram', to, settings);
  log.info({ from, to }, 'telegram: group upgraded to a supergroup; settings moved');
});
