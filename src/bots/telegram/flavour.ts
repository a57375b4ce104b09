/**
 * The context flavour of the Telegram adapter: every update's context carries `ctx.voicemood`, the
 * services and the adapter's own state (timelines, analysed notes, work in flight), so that the
 * composers (composers/) are plain modules instead of closures over one big function.
 */
import type { Api, Context } from 'grammy';
import type { Chat, User } from 'grammy/types';
import type { CommandContext } from '../../commands/types.ts';
import type { Services } from '../../usecases/ports.ts';
import type { Lang } from '../../domain/emotions.ts';
import type { BusyCounter, InFlight } from '../../state/inFlight.ts';
import type { TimelineStore } from '../../state/timelines.ts';
import type { Logger } from '../../util/log.ts';
import type { AnalysedNotes } from './analysedNotes.ts';
import type { ReplyDeps, ReplyTarget, TelegramTimeline } from './replies.ts';

export interface TelegramAdapter {
  services: Services;
  api: Api;
  log: Logger;
  /** What replies.ts needs to send (api, timelines, logger). */
  replies: ReplyDeps;
  /** Cards' "Timeline" buttons (shared through Redis when several instances run on one). */
  timelines: TimelineStore<TelegramTimeline>;
  /** Notes analysed lately: asked again, they get the same card. */
  notes: AnalysedNotes;
  /** Voice analyses run in the background: one slow note never holds up the next update, and shutdown waits for them. */
  inFlight: InFlight;
  /** Analyses at once (downloads and decoded audio in memory); past the bound a "busy" reply. */
  analysing: BusyCounter;
  /** Where voice notes are downloaded from. */
  files: { token: string; apiRoot: string; localFiles: boolean };
  /** The owner's forget epoch (history): a /forget during an analysis drops its result. */
  epochOf(userId: string): number;
  commandContext(chat: Chat, user: User, senderChat?: Chat): CommandContext;
  /** The language the commands answer in (the user's /lang, the chat's, then Telegram's). */
  replyLang(cctx: CommandContext): Promise<Lang>;
  /** Answers a failure (a refusal or an error) in the user's language; never throws. */
  fail(target: Omit<ReplyTarget, 'lang'>, cctx: CommandContext, e: unknown): Promise<void>;
}

export interface VoicemoodFlavour {
  voicemood: TelegramAdapter;
}

export type VoicemoodContext = Context & VoicemoodFlavour;
