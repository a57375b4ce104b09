/**
 * The text commands, from the command registry (src/commands/registry.ts): each maps the message to
 * a CommandContext, runs the entry's handler with the text after the command as the entry says
 * (`telegram.args`), and replies. A few commands need Telegram's own behaviour: OVERRIDES.
 */
import { Composer } from 'grammy';
import { handleForget, handleMe, handleMood } from '../../../commands/index.ts';
import { COMMANDS, type CommandEntry } from '../../../commands/registry.ts';
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

/** The text after the command, as the registry entry asks for it. */
export function telegramArgs(entry: CommandEntry, text: string): unknown[] {
  const rest = text.trim();
  if (entry.telegram?.args === 'text') return [rest || undefined];
  if (entry.telegram?.args === 'words') return [rest.split(/\s+/).filter(Boolean)];
  return [];
}

// /me export: a JSON file of everything stored about the user (handleMe refuses it in groups).
function me(ctx: VoicemoodContext & { match: string }): Promise<void> {
  return run(ctx, (cctx) => handleMe(cctx, ctx.voicemood.services, { export: /^export$/i.test(ctx.match.trim()) }));
}

function forget(ctx: VoicemoodContext): Promise<void> {
  return run(ctx, async (cctx) => {
    const vm = ctx.voicemood;
    const replies = await handleForget(cctx, vm.services);
    // In memory too: their timelines and analysed notes (an analysis still running is dropped by
    // the forget epoch, see analyzeNote()).
    await vm.timelines.forgetUser(cctx.user.id);
    vm.notes.forgetUser(cctx.user.id);
    return replies;
  });
}

// /mood: as a reply to a voice note it analyses that note; otherwise the chat's last 24 h.
async function mood(ctx: VoicemoodContext): Promise<void> {
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
}

/** Commands whose Telegram behaviour is more than "run the handler with the text". */
const OVERRIDES: Readonly<Record<string, (ctx: VoicemoodContext & { match: string }) => Promise<void>>> = { me, forget, mood };

/** A composer answering every registry entry offered on Telegram. */
export function commandsComposer(registry: readonly CommandEntry[] = COMMANDS): Composer<VoicemoodContext> {
  const composer = new Composer<VoicemoodContext>();
  for (const entry of registry) {
    if (!entry.telegram) continue;
    const override = OVERRIDES[entry.name];
    const handler = entry.handler as Command<unknown[]> | undefined;
    if (override) composer.command(entry.name, (ctx) => override(ctx));
    else if (handler) composer.command(entry.name, (ctx) => run(ctx, (cctx) => handler(cctx, ctx.voicemood.services, ...telegramArgs(entry, ctx.match))));
  }
  return composer;
}

export const commands = commandsComposer();
