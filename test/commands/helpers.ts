/** Test doubles for the command tests: a fake engine (legitimate for unit tests), WAV bytes, services on a real store. */
import { VoicemoodError } from '../../src/domain/errors.ts';
import { EMOTIONS, namedScores, topEmotion, type Emotion, type Lang } from '../../src/domain/emotions.ts';
import type { AnalyzeOptions, EmotionEngine, EmotionResult, ModelInfo } from '../../src/inference/types.ts';
import { openHistory } from '../../src/history/open.ts';
import { TokenBucketLimiter } from '../../src/state/rateLimit.ts';
import { InMemoryModerationGate } from '../../src/state/moderationGate.ts';
import { createLogger } from '../../src/util/log.ts';
import type { CommandContext } from '../../src/commands/types.ts';
import type { Services } from '../../src/usecases/ports.ts';
import type { Platform } from '../../src/domain/platform.ts';
import { tempDir } from '../history/helpers.ts';

/** The scores the fake engine gives when `top` wins: 0.6 for it, 0.05 for each other class. */
export function scoresFor(top: Emotion) {
  return namedScores(EMOTIONS.map((e) => (e === top ? 0.6 : 0.05)));
}

export interface FakeEngine extends EmotionEngine {
  next: Emotion;
  busy: boolean;
  calls: number;
  /** The options of every analyze call, in order. */
  options: AnalyzeOptions[];
}

export function fakeEngine(): FakeEngine {
  const model = { id: 'fake (fp32)', sourceModel: 'fake', quantization: 'fp32' } as ModelInfo;
  const engine: FakeEngine = {
    next: 'neutral',
    busy: false,
    calls: 0,
    options: [],
    model,
    load: () => ({ inFlight: 0, queued: 0, capacity: 4 }),
    close: async () => undefined,
    async analyze(samples, opts = {}): Promise<EmotionResult> {
      if (engine.busy) throw new VoicemoodError('busy', 'The engine is busy.', { retryAfterS: 7 });
      engine.calls++;
      engine.options.push(opts);
      const scores = scoresFor(engine.next);
      const result: EmotionResult = {
        ...topEmotion(scores),
        scores,
        logits: [],
        embedding: new Float32Array(4),
        durationS: samples.length / 16000,
        model: model.id,
      };
      if (opts.frames) {
        const count = Math.floor(samples.length / 320);
        const fs = new Float32Array(count * 9);
        for (let t = 0; t < count; t++) EMOTIONS.forEach((e, k) => (fs[t * 9 + k] = scores[e]));
        result.frames = { count, dim: 4, frameRate: 50, ...(opts.frameEmbeddings === false ? {} : { embeddings: new Float32Array(count * 4) }), scores: fs };
      }
      return result;
    },
  };
  return engine;
}

/** A 16 kHz mono PCM16 WAV of noise (loud enough not to count as silent). */
export function wavBytes(seconds = 1.5, seed = 1): Uint8Array {
  const n = Math.round(seconds * 16000);
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(16000, 24);
  buf.writeUInt32LE(32000, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(n * 2, 40);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    buf.writeInt16LE(Math.round(((x / 0x7fffffff) * 2 - 1) * 8000), 44 + i * 2);
  }
  return new Uint8Array(buf);
}

export interface Harness {
  services: Services;
  engine: FakeEngine;
  clock: { now: number };
  ctx(over?: {
    platform?: Platform;
    userId?: string;
    name?: string;
    chatId?: string;
    kind?: 'private' | 'group';
    guildId?: string;
    guildName?: string;
    lang?: Lang;
    admin?: boolean;
    anonymous?: boolean;
  }): CommandContext;
  close(): Promise<void>;
}

export async function harness(): Promise<Harness> {
  const clock = { now: Date.parse('2026-06-01T12:00:00Z') };
  const now = () => clock.now;
  const history = await openHistory({ env: { VOICEMOOD_DATA_DIR: tempDir('vm-cmd-') }, now });
  const engine = fakeEngine();
  const services: Services = {
    engine,
    history,
    settings: history,
    limiter: new TokenBucketLimiter({ clock: now }),
    moderation: new InMemoryModerationGate({ clock: now }),
    logger: createLogger({ level: 'silent' }),
    clock: now,
  };
  return {
    services,
    engine,
    clock,
    ctx: (o = {}) => ({
      platform: o.platform ?? 'telegram',
      user: { id: o.userId ?? 'u1', name: o.name ?? o.userId?.toUpperCase() ?? 'U1', ...(o.anonymous ? { anonymous: true } : {}) },
      chat: {
        id: o.chatId ?? o.userId ?? 'u1',
        kind: o.kind ?? 'private',
        ...(o.guildId ? { guildId: o.guildId } : {}),
        ...(o.guildName ? { guildName: o.guildName } : {}),
        title: 'Test chat',
      },
      lang: o.lang ?? 'en',
      isAdmin: async () => o.admin ?? false,
      now,
    }),
    close: () => history.close(),
  };
}
