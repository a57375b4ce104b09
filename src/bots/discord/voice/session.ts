/**
 * A listening session in one voice channel: who may be heard, one receive pipeline per speaking
 * member, the analysis use case per utterance (src/usecases/analyzeVoice.ts analyseUtterance:
 * the same checks and segmentation as a voice note), and the channel's mood state.
 *
 * Its input is what @discordjs/voice's VoiceReceiver offers (`speaking` start events and
 * `subscribe(userId)` giving a stream of Opus packets), so tests feed packets through the same
 * code without a voice gateway.
 *
 * Consent is decided BEFORE subscribing: a member who may not be analysed is never subscribed, so
 * @discordjs/voice drops their packets before decryption — we never decode, keep or count them.
 */
import { analyseUtterance } from '../../../usecases/analyzeVoice.ts';
import { DEFAULT_REQUEST_TIMEOUT_MS, requestDeadline } from '../../../usecases/requestDeadline.ts';
import { EndBehaviorType } from '@discordjs/voice';
import type { Readable } from 'node:stream';
import type { EventEmitter } from 'node:events';
import type { Utterance, VadOptions } from '../../../audio/vad.ts';
import { isVoicemoodError } from '../../../domain/errors.ts';
import type { EmotionEngine } from '../../../inference/types.ts';
import type { AnalysisMetrics, Clock } from '../../../usecases/ports.ts';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../../util/log.ts';
import { ChannelMood, type ChannelMoodLimits, type UtteranceRecord } from './channelMood.ts';
import { PacketResampler } from './downmix.ts';
import { OpusDecoder, type OpusPacketDecoder } from './opus.ts';
import { SpeakerPipeline } from './speakerPipeline.ts';

/** The part of @discordjs/voice's VoiceReceiver we use. */
export interface ReceiverLike {
  /** 'start' on a member's first packet after a pause; `users` holds who is talking right now. */
  readonly speaking: EventEmitter & { readonly users?: Map<string, number> };
  readonly subscriptions: Map<string, unknown>;
  subscribe(userId: string, options?: { end?: { behavior: EndBehaviorType; duration?: number } }): Readable;
}

export interface VoiceSessionOptions {
  guildId: string;
  channelId: string;
  engine: EmotionEngine;
  /** Whether this member's voice may be analysed now (their /privacy choice and the server's consent mode). */
  mayAnalyse(userId: string): Promise<boolean>;
  displayName(userId: string): string;
  clock: Clock;
  logger: Logger;
  /** Counts each utterance's analysis as platform voice_channel (ok, busy, or the error code). */
  metrics?: AnalysisMetrics;
  limits?: Partial<ChannelMoodLimits>;
  vad?: Partial<VadOptions>;
  /** Silence after which a speaker's receive stream ends (it is resubscribed on the next start). */
  silenceMs?: number;
  /**
   * Deadline of one utterance's analysis (default: DEFAULT_REQUEST_TIMEOUT_MS), so that a hung
   * engine cannot keep /mood (which waits for idle()) or shutdown waiting for ever.
   */
  analysisTimeoutMs?: number;
  /** Utterances waiting for the engine before new ones are dropped (per session). */
  maxPendingAnalyses?: number;
  createDecoder?: (userId: string) => OpusPacketDecoder;
  /**
   * Called after each analysed utterance has been added to the state. `forgetEpoch`: the member's
   * forget epoch read before the analysis (for recordAnalysis), when `forgetEpoch` is given.
   */
  onResult?: (speaker: { userId: string; name: string; forgetEpoch?: number }, record: UtteranceRecord) => void | Promise<void>;
  /**
   * How often the member was forgotten (HistoryStore.forgetEpoch): an utterance whose member said
   * /forget while it was analysed is dropped, never kept nor passed to onResult.
   */
  forgetEpoch?: (userId: string) => number;
  /**
   * A member's receive stream was destroyed by an error (@discordjs/voice does that on a packet it
   * cannot decrypt). Returning true subscribes to them again at once: they may talk on without a
   * pause, and 'speaking start' would not come again.
   */
  onStreamError?: (userId: string, error: unknown) => boolean;
  /** Called once per member who could not be analysed because the speaker cap was reached. */
  onSpeakerCapped?: (userId: string) => void;
}

export interface VoiceSessionStats {
  streams: number;
  packets: number;
  decodeFailures: number;
  utterances: number;
  analysed: number;
  /** Utterances dropped because the engine or the session queue was full. */
  dropped: number;
  failed: number;
}

export class VoiceSession {
  readonly guildId: string;
  channelId: string;
  readonly mood: ChannelMood;
  readonly startedAt: number;
  readonly stats: VoiceSessionStats = { streams: 0, packets: 0, decodeFailures: 0, utterances: 0, analysed: 0, dropped: 0, failed: 0 };

  readonly #o: VoiceSessionOptions;
  readonly #pipelines = new Map<string, { pipeline: SpeakerPipeline; stream: Readable }>();
  readonly #starting = new Set<string>();
  readonly #capped = new Set<string>();
  readonly #pending = new Set<Promise<void>>();
  /** Speakers past the consent check whose pipeline is still being set up (they hold a slot). */
  #reserved = 0;
  #receiver: ReceiverLike | undefined;
  #stopped = false;
  readonly #onStart = (userId: string): void => void this.#startSpeaker(userId);

  constructor(options: VoiceSessionOptions) {
    this.#o = options;
    this.guildId = options.guildId;
    this.channelId = options.channelId;
    this.mood = new ChannelMood(options.limits);
    this.startedAt = options.clock();
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Member ids with a live receive stream. */
  activeSpeakers(): string[] {
    return [...this.#pipelines.keys()];
  }

  /**
   * Starts listening on a receiver, and admits at once the members already `present` in the
   * channel and those the receiver hears talking: 'speaking start' fires only after a pause, so a
   * member who talks on without one would otherwise never be subscribed. Attached again to the
   * same receiver (after a resume) the live streams are kept; a new receiver replaces the old one
   * and its streams are ended first. Consent is checked for each member as always.
   */
  attach(receiver: ReceiverLike, present: Iterable<string> = []): void {
    if (this.#stopped) return;
    if (this.#receiver !== receiver) {
      this.detach();
      this.#receiver = receiver;
      receiver.speaking.on('start', this.#onStart);
    }
    for (const userId of new Set([...present, ...(receiver.speaking.users?.keys() ?? [])])) void this.#startSpeaker(userId);
  }

  /** Stops receiving (the connection is gone or being rebuilt); keeps the mood state. */
  detach(): void {
    this.#receiver?.speaking.off('start', this.#onStart);
    this.#receiver = undefined;
    for (const userId of [...this.#pipelines.keys()]) this.#endStream(userId);
  }

  /**
   * A member opted out (or asked to be forgotten) during the session: their stream ends now and
   * everything the session held about them goes.
   */
  forgetSpeaker(userId: string): void {
    const live = this.#pipelines.get(userId);
    if (live) {
      this.#pipelines.delete(userId);
      live.stream.destroy();
      live.pipeline.destroy();
    }
    this.mood.remove(userId);
    this.#capped.delete(userId);
  }

  /** Waits until every utterance handed to the engine so far has been handled. */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.detach();
    this.#stopped = true;
    await this.idle();
  }

  async #startSpeaker(userId: string): Promise<void> {
    const receiver = this.#receiver;
    if (!receiver || this.#stopped || this.#starting.has(userId) || this.#pipelines.has(userId) || receiver.subscriptions.has(userId)) return;
    this.#starting.add(userId);
    try {
      let allowed = false;
      try {
        allowed = await this.#o.mayAnalyse(userId);
      } catch (e) {
        this.#o.logger.warn({ err: e }, 'consent lookup failed; not analysing this speaker');
      }
      if (!allowed) return;
      const now = this.#o.clock();
      if (!this.mood.canAdmit(userId, now) || this.#pipelines.size + this.#reserved >= this.mood.limits.maxSpeakers) {
        this.#capHit(userId);
        return;
      }
      this.#reserved++;
      let resampler: PacketResampler;
      try {
        resampler = await PacketResampler.open();
      } finally {
        this.#reserved--;
      }
      if (this.#stopped || this.#receiver !== receiver) {
        resampler.destroy();
        return;
      }
      const decoder = (this.#o.createDecoder ?? (() => new OpusDecoder(2)))(userId);
      const pipeline = new SpeakerPipeline(userId, {
        decoder,
        resampler,
        vad: this.#o.vad,
        onUtterance: (u, startMs) => this.#onUtterance(userId, u, startMs),
      });
      const stream = receiver.subscribe(userId, { end: { behavior: EndBehaviorType.AfterSilence, duration: this.#o.silenceMs ?? 1000 } });
      pipeline.begin(this.#o.clock());
      this.#pipelines.set(userId, { pipeline, stream });
      this.stats.streams++;
      stream.on('data', (packet: Buffer) => {
        this.stats.packets++;
        const before = pipeline.stats.decodeFailures;
        pipeline.push(packet, this.#o.clock());
        this.stats.decodeFailures += pipeline.stats.decodeFailures - before;
      });
      // A stream ends after silence; the next 'speaking start' subscribes again.
      stream.once('end', () => this.#endStream(userId, stream));
      stream.once('close', () => this.#endStream(userId, stream));
      stream.on('error', (e: unknown) => {
        this.#o.logger.debug({ err: e }, 'voice receive stream error');
        // After #endStream's own 'close' listener: the old pipeline is gone when we subscribe again.
        if (this.#o.onStreamError?.(userId, e)) stream.once('close', () => void this.#startSpeaker(userId));
      });
    } catch (e) {
      this.#o.logger.warn({ err: e }, 'could not start receiving a speaker');
    } finally {
      this.#starting.delete(userId);
    }
  }

  #capHit(userId: string): void {
    if (this.#capped.has(userId)) return;
    this.#capped.add(userId);
    this.#o.onSpeakerCapped?.(userId);
  }

  #endStream(userId: string, stream?: Readable): void {
    const live = this.#pipelines.get(userId);
    if (!live || (stream && live.stream !== stream)) return;
    this.#pipelines.delete(userId);
    live.pipeline.destroy();
    if (!live.stream.destroyed) live.stream.destroy();
  }

  #onUtterance(userId: string, u: Utterance, streamStartMs: number): void {
    this.stats.utterances++;
    if (this.#pending.size >= (this.#o.maxPendingAnalyses ?? 16)) {
      this.stats.dropped++;
      this.#o.metrics?.analysis('voice_channel', 'busy');
      return;
    }
    const at = streamStartMs + Math.round(u.startS * 1000);
    const job = this.#analyse(userId, u.samples, u.durationS, at).finally(() => this.#pending.delete(job));
    this.#pending.add(job);
  }

  async #analyse(userId: string, samples: Float32Array, durationS: number, at: number): Promise<void> {
    const epoch = this.#o.forgetEpoch?.(userId);
    let counted = false;
    try {
      const deadline = requestDeadline(this.#o.analysisTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
      let r;
      const started = performance.now();
      try {
        r = await deadline.race(analyseUtterance(this.#o.engine, samples, { signal: deadline.signal }));
      } finally {
        deadline.clear();
      }
      counted = true;
      this.#o.metrics?.analysis('voice_channel', 'ok', (performance.now() - started) / 1000);
      // The member may have opted out while the engine worked: ask again before keeping anything.
      if (this.#stopped || !(await this.#o.mayAnalyse(userId))) return;
      // Checked right before anything is kept: onResult's append queues for the store's lock at
      // once, so a forgetUser that bumps the epoch after this point still deletes the entry.
      if (this.#o.forgetEpoch?.(userId) !== epoch) return;
      const record: UtteranceRecord = { at, durationS, emotion: r.emotion, confidence: r.confidence, scores: r.scores };
      const name = this.#o.displayName(userId);
      if (!this.mood.add(userId, name, record, this.#o.clock())) {
        this.#capHit(userId);
        return;
      }
      this.stats.analysed++;
      await this.#o.onResult?.({ userId, name, ...(epoch !== undefined ? { forgetEpoch: epoch } : {}) }, record);
    } catch (e) {
      if (!counted) this.#o.metrics?.analysis('voice_channel', isVoicemoodError(e) ? e.code : 'internal');
      if (isVoicemoodError(e, 'busy')) this.stats.dropped++;
      else {
        this.stats.failed++;
        this.#o.logger.warn({ err: e }, 'utterance analysis failed');
      }
    }
  }
}
