/** The text commands: each maps the message to a CommandContext, runs its src/commands handler and replies to it. */
import { Composer } from 'grammy';
import {
  handleAlerts,
  handleForget,
  handleHelp,
  handleLang,
  handleMe,
  handleMood,
  handlePrivacy,
  handleSettings,
  handleStart,
} from '../../../commands/index.ts';
import type { Command, CommandContext, Reply } from '../../../commands/types.ts';
import type { VoicemoodContext } from '../flavour.ts';
import { mediaOf } from '../media.ts';
import { analyzeNote } from '../noteAnalysis.ts';
import { deliver } from '../replies.ts';

/** Runs a text command and replies to the command message. */
async function run(ctx: VoicemoodContext, command: (cctx: CommandContext) => Promise<Reply[]>): Promise<void> {
  const vm = ctx.voicemood;
  const message = ctx.message;
  if (!message?.from) return;
  const cctx = vm.commandContext(message.chat, message.from, message.sender_chat);
  const target = { chatId: message.chat.id, replyTo: message.message_id };
  try {
    const replies = await command(cctx);
    await deliver(vm.replies, { ...target, lang: await vm.replyLang(cctx) }, replies);
  } catch (e) {
    await vm.fail(target, cctx, e);
  }
}

export const commands = new Composer<VoicemoodContext>();

const simple = (name: string, command: Command<[]>): void => {
  commands.command(name, (ctx) => run(ctx, (cctx) => command(cctx, ctx.voicemood.services)));
};
const withArg = (name: string, command: Command<[string | undefined]>): void => {
  commands.command(name, (ctx) => run(ctx, (cctx) => command(cctx, ctx.voicemood.services, ctx.match.trim() || undefined)));
};

simple('start', handleStart);
simple('help', handleHelp);
// /me export: a JSON file of everything stored about the user (handleMe refuses it in groups).
commands.command('me', (ctx) => run(ctx, (cctx) => handleMe(cctx, ctx.voicemood.services, { export: /^export$/i.test(ctx.match.trim()) })));
commands.command('forget', (ctx) =>
  run(ctx, async (cctx) => {
    const vm = ctx.voicemood;
    const replies = await handleForget(cctx, vm.services);
    // In memory too: their timelines and analysed notes (an analysis still running is dropped by
    // the forget epoch, see analyzeNote()).
    await vm.timelines.forgetUser(cctx.user.id);
    vm.notes.forgetUser(cctx.user.id);
    return replies;
  }),
);
withArg('lang', handleLang);
withArg('privacy', handlePrivacy);
withArg('alerts', handleAlerts);
commands.command('settings', (ctx) => run(ctx, (cctx) => handleSettings(cctx, ctx.voicemood.services, ctx.match.trim().split(/\s+/).filter(Boolean))));

// /mood: as a reply to a voice note it analyses that note; otherwise the chat's last 24 h.
commands.command('mood', async (ctx) => {
  const message = ctx.message;
  const target = message?.reply_to_message;
  // A note sent on behalf of a chat (a channel, an anonymous admin) has no person behind it whose
  // consent and history apply: /mood then answers with the chat's summary.
  const media = target?.sender_chat ? undefined : mediaOf(target);
  // The voice is its author's: their opt-out applies. Asked by someone else, it is shown to the
  // group but stored nowhere and never counted towards an alert about the author.
  const author = target?.from ?? message?.from;
  if (author && target && media && message?.from) return analyzeNote(ctx.voicemood, target, media, author, 'request', target.message_id, message.from);
  await run(ctx, (cctx) => handleMood(cctx, ctx.voicemood.services, {}));
});
