/**
 * What the Discord command, button and message handlers get from the bot (src/bots/discord/bot.ts):
 * the client, the services, the voice listeners, the timeline store, shutdown state, and the shared
 * analysis and delivery of replies.
 */
import type { Client } from 'discord.js';
import type { CardReply, CommandContext, Reply } from '../../commands/types.ts';
import type { Services } from '../../usecases/ports.ts';
import type { AttachmentLike } from './attachments.ts';
import type { DiscordBotOptions } from './bot.ts';
import type { MemoryTimelineStore } from '../../state/timelines.ts';
import type { VoiceListeners } from './voice/listeners.ts';

/** The user whose analysis it was, with their forget epoch from before it (see VoiceMessages.analyse). */
export interface Owner {
  userId: string;
  epoch: number;
}

export interface DiscordHost {
  readonly client: Client;
  readonly services: Services;
  readonly options: DiscordBotOptions;
  readonly listeners: VoiceListeners;
  readonly timelines: MemoryTimelineStore<CardReply>;
  /** Set once stop() began. */
  readonly stopping: boolean;
  /** Aborted by stop(): ends waits (a /mood listening period) that would otherwise hold shutdown. */
  readonly stopSignal: AbortSignal;
  /** Analyses one attachment of the sender's, bounded like the engine's queue. */
  analyse(ctx: CommandContext, a: AttachmentLike, trigger: 'auto' | 'request'): Promise<{ replies: Reply[]; owner: Owner }>;
}
