/** Voice notes, audio files, round videos and audio documents sent to a chat: analysed unless their sender opted out or the group answers on demand only. */
import { Composer } from 'grammy';
import { mayAnalyse } from '../../../usecases/consent.ts';
import { isGroup } from '../context.ts';
import type { VoicemoodContext } from '../flavour.ts';
import { mediaOf } from '../media.ts';
import { analyzeNote } from '../noteAnalysis.ts';

export const voiceNotes = new Composer<VoicemoodContext>();

voiceNotes.on(['message:voice', 'message:audio', 'message:video_note', 'message:document'], async (ctx) => {
  const { services } = ctx.voicemood;
  const message = ctx.message;
  const media = mediaOf(message);
  // sender_chat: sent on behalf of a chat, where `from` is only a stand-in (GroupAnonymousBot,
  // Channel_Bot, or "Telegram" 777000 for a channel post forwarded into its discussion group).
  if (!media || !message.from || message.from.is_bot || message.sender_chat) return;
  // handleVoice decides the same again; checking here first means not even downloading the voice
  // of someone who opted out, or a note in an on-demand group (someone replies /mood to it instead).
  if (!(await mayAnalyse(services.settings, { platform: 'telegram', userId: String(message.from.id) }, 'voice_note'))) return;
  if (isGroup(message.chat)) {
    const settings = await services.settings.getChatSettings('telegram', String(message.chat.id));
    if (settings.replyMode === 'on_demand') return;
  }
  analyzeNote(ctx.voicemood, message, media, message.from, 'auto', message.message_id);
});
