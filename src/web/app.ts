/**
 * The web app: the REST API (`POST /api/v1/analyze`, `GET /api/v1/openapi.json`), the page
 * (`GET /` and its files under /app/), `GET /healthz` and `GET /metrics`, as one Fastify instance.
 *
 * The analyze route reads the audio as the raw body (any Content-Type; Fastify's bodyLimit refuses
 * an oversized body while it streams in) or as the multipart field `file` (@fastify/multipart
 * with a fileSize limit, also while streaming), runs the analyzeVoice use case on the shared
 * engine and answers the CLI's result.json fields. Keys and rate limits are checked before the
 * body is read. Nothing is stored: the bytes live only for the request.
 */
import { performance } from 'node:perf_hooks';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { audioLimitsFromEnv } from '../audio/limits.ts';
import type { AudioLimits } from '../audio/types.ts';
import type { Env } from '../util/config.ts';
import { numberFromEnv } from '../util/config.ts';
import { isUserCaused } from '../commands/common.ts';
import { TokenBucketLimiter } from '../state/rateLimit.ts';
import type { RateLimiter } from '../usecases/ports.ts';
import { VoicemoodError } from '../domain/errors.ts';
import type { EmotionEngine } from '../inference/types.ts';
import { analyzeVoice } from '../usecases/analyzeVoice.ts';
import { EMOTION_LABELS, type Lang } from '../domain/emotions.ts';
import { t } from '../render/i18n.ts';
import { embeddingJson, resultJson, type Granularity } from '../render/resultJson.ts';
import type { Logger } from '../util/log.ts';
import { VERSION } from '../util/version.ts';
import { apiKeysFromEnv, type ApiKeys } from './auth.ts';
import { fromFrameworkError, statusFor, type ErrorBody } from './httpErrors.ts';
import { createMetrics, type Metrics } from '../util/metrics.ts';
import { openApiDocument } from './openapi.ts';
import { registerPage } from './page.ts';

export interface WebAppOptions {
  /** The shared engine; undefined answers 503 (no model) to analyses. */
  engine: EmotionEngine | undefined;
  logger: Logger;
  /** Where keys, rate and limits come from when not given (default process.env). */
  env?: Env;
  apiKeys?: ApiKeys;
  limiter?: RateLimiter;
  limits?: AudioLimits;
  /** Serve the page at / (default true). */
  page?: boolean;
  /**
   * Serve the REST API and the page (default true); false leaves /healthz and /metrics only, for a
   * server that hosts the Telegram webhook with the web app off (`VOICEMOOD_WEB=off`).
   */
  api?: boolean;
  /** The process's metrics (one registry per process); default: a registry of this app's own. */
  metrics?: Metrics;
  /** What /healthz reports besides the model (bots running, queue connected). */
  health?: () => Record<string, unknown>;
}

export interface WebApp {
  app: FastifyInstance;
  metrics: Metrics;
  apiKeys: ApiKeys;
}

interface AnalyzeQuery {
  granularity: Granularity;
  embedding: boolean;
  lang: Lang;
}

/** API calls per minute per key (or per client address without keys): VOICEMOOD_RATE_API_PER_MIN, default 30. */
export function apiLimiterFromEnv(env: Env): TokenBucketLimiter {
  const perMin = numberFromEnv(env, 'VOICEMOOD_RATE_API_PER_MIN', 30, { min: 1, max: 1_000_000 });
  const rule = { capacity: perMin, perMinute: perMin };
  return new TokenBucketLimiter({ rules: { apikey: rule, ip: rule } });
}

/**
 * VOICEMOOD_TRUST_PROXY: "true" or comma-separated proxy addresses/CIDRs (default: none). Behind a
 * reverse proxy it lets per-address rate limits see the client's address, not the proxy's.
 */
function trustProxyFromEnv(env: Env): boolean | string[] {
  const v = env.VOICEMOOD_TRUST_PROXY?.trim();
  if (!v || v === 'false' || v === '0') return false;
  if (v === 'true') return true;
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function parseQuery(q: Record<string, unknown>): AnalyzeQuery {
  const one = (name: string): string | undefined => {
    const v = q[name];
    if (Array.isArray(v)) throw new VoicemoodError('bad_input', `Give ${name} once.`);
    return typeof v === 'string' ? v : undefined;
  };
  const pick = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const v = one(name);
    if (v === undefined || v === '') return fallback;
    if (!(allowed as readonly string[]).includes(v)) throw new VoicemoodError('bad_input', `${name} must be ${allowed.join(' or ')}; got "${v.slice(0, 40)}".`);
    return v as T;
  };
  return {
    granularity: pick('granularity', ['utterance', 'frame'] as const, 'utterance'),
    embedding: pick('embedding', ['true', 'false', '1', '0'] as const, 'false') === 'true' || one('embedding') === '1',
    lang: pick('lang', ['en', 'zh'] as const, 'en'),
  };
}

/** The audio of the request: the multipart field `file`, else the raw body. */
async function readAudio(request: FastifyRequest): Promise<{ bytes: Uint8Array; filename?: string; mimeType?: string }> {
  if (request.isMultipart()) {
    let found: { bytes: Uint8Array; filename?: string; mimeType?: string } | undefined;
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue;
      if (part.fieldname === 'file' && !found) found = { bytes: await part.toBuffer(), filename: part.filename, mimeType: part.mimetype };
      else part.file.resume();
    }
    if (!found) throw new VoicemoodError('bad_input', 'This form has no field "file": send the audio as the multipart field "file" (curl -F file=@voice.ogg).');
    return found;
  }
  const body = request.body;
  if (!(body instanceof Uint8Array) || body.length === 0) {
    throw new VoicemoodError('bad_input', 'There is no audio in this request: send the audio file as the request body or as the multipart field "file".');
  }
  const type = request.headers['content-type'];
  return { bytes: body, mimeType: typeof type === 'string' ? type : undefined };
}

export function buildWebApp(options: WebAppOptions): WebApp {
  const env = options.env ?? process.env;
  const limits = options.limits ?? audioLimitsFromEnv(env);
  const keys = options.apiKeys ?? apiKeysFromEnv(env);
  const limiter = options.limiter ?? apiLimiterFromEnv(env);
  const metrics = options.metrics ?? createMetrics();
  const ownMetrics = !options.metrics;
  const { engine, logger } = options;
  const app = Fastify({ logger: false, trustProxy: trustProxyFromEnv(env), bodyLimit: limits.maxBytes });

  // Any Content-Type is audio; only multipart/form-data is parsed as a form.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limits.maxBytes }, (_req, body, done) => done(null, body));
  void app.register(multipart, { limits: { fileSize: limits.maxBytes, files: 1, parts: 20, fields: 10, fieldSize: 1024 }, throwFileSizeLimit: true });

  const sendError = (reply: FastifyReply, status: number, body: ErrorBody, retryAfterS?: number): FastifyReply => {
    if (retryAfterS !== undefined) void reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterS))));
    // An error answered before the body was read: close the connection instead of reading the rest.
    if (!reply.request.raw.complete) void reply.header('connection', 'close');
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  };

  app.setErrorHandler((err, request, reply) => {
    const e = fromFrameworkError(err, limits.maxBytes);
    const status = statusFor(e.code);
    if (request.routeOptions.url === '/api/v1/analyze') metrics.analysis('web', e.code);
    // Operator-side failures (a model that cannot load, a bug) are logged in full and answered with
    // the generic sentence of their code: their own text may name server paths.
    const userFacing = isUserCaused(e) || e.details.userFacing === true;
    if (!userFacing) logger.error({ err, code: e.code, url: request.routeOptions.url }, 'web: request failed');
    else logger.info({ code: e.code, status, url: request.routeOptions.url }, 'web: request refused');
    return sendError(
      reply,
      status,
      { error: userFacing ? e.message : t('en').errors[e.code], code: e.code },
      status === 429 ? (e.retryAfterS ?? 1) : undefined,
    );
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, {
      error: `Nothing here: ${request.method} ${request.url.split('?')[0].slice(0, 100)}. See /api/v1/openapi.json.`,
      code: 'not_found',
    }),
  );

  // Once closing, answers in flight end their connection, so that close() does not wait for keep-alive.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) void reply.header('connection', 'close');
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    logger.debug(
      { method: request.method, url: request.routeOptions.url ?? 'unmatched', status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'web: request',
    );
  });

  if (options.api !== false) registerApi(app, { engine, logger, keys, limiter, limits, metrics, sendError });

  app.get('/healthz', async (_request, reply) => {
    const extra = options.health?.() ?? {};
    // Without the API (a process that serves /healthz and /metrics only), no model is fine.
    if (!engine && options.api === false) return { ok: true, version: VERSION, model: null, ...extra };
    if (!engine) return reply.code(503).send({ ok: false, version: VERSION, error: 'No emotion model is loaded.', ...extra });
    return { ok: true, version: VERSION, model: engine.model.id, load: engine.load(), ...extra };
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  if (options.api !== false && options.page !== false) registerPage(app, { maxBytes: limits.maxBytes, authRequired: keys.required });
  app.addHook('onClose', async () => {
    if (ownMetrics) metrics.close();
  });
  return { app, metrics, apiKeys: keys };
}

interface ApiParts {
  engine: EmotionEngine | undefined;
  logger: Logger;
  keys: ApiKeys;
  limiter: RateLimiter;
  limits: AudioLimits;
  metrics: Metrics;
  sendError: (reply: FastifyReply, status: number, body: ErrorBody, retryAfterS?: number) => FastifyReply;
}

/** `POST /api/v1/analyze` and `GET /api/v1/openapi.json`. */
function registerApi(app: FastifyInstance, { engine, logger, keys, limiter, limits, metrics, sendError }: ApiParts): void {
  // The query is checked before the body is read, and kept for the handler.
  const queries = new WeakMap<FastifyRequest, AnalyzeQuery>();
  // Analyses held now, from their first byte to their answer (or the caller going away): bounded by
  // the engine's capacity like the bots' maxAnalyses, so that uploads still streaming in and decodes
  // waiting for the pool (which the engine's queue does not see yet) cannot pile up in memory.
  let analysing = 0;
  app.post(
    '/api/v1/analyze',
    {
      // Before the body is read: the query, keys, rate, and whether the engine can take more.
      onRequest: async (request, reply) => {
        queries.set(request, parseQuery(request.query as Record<string, unknown>));
        let who = `ip:${request.ip}`;
        if (keys.required) {
          const id = keys.identify(request.headers.authorization);
          if (id === undefined) {
            metrics.analysis('web', 'unauthorized');
            void reply.header('www-authenticate', 'Bearer');
            return sendError(reply, 401, { error: 'This API needs a key: send the header "Authorization: Bearer <key>".', code: 'unauthorized' });
          }
          who = `apikey:${id}`;
        }
        const taken = await limiter.take([who]);
        if (!taken.ok)
          throw new VoicemoodError('rate_limited', `Too many requests; please wait ${taken.retryAfterS} s and try again.`, { retryAfterS: taken.retryAfterS });
        if (!engine)
          throw new VoicemoodError('model_missing', 'No emotion model is loaded on this server yet; please try again later.', {
            details: { userFacing: true },
          });
        const load = engine.load();
        if (load.inFlight + load.queued >= load.capacity || analysing >= load.capacity)
          throw new VoicemoodError('busy', 'The server is busy analysing other recordings; please try again in a moment.', { retryAfterS: 2 });
        analysing++;
        reply.raw.once('close', () => void analysing--);
        return undefined;
      },
    },
    async (request, reply) => {
      const query = queries.get(request)!;
      const audio = await readAudio(request);
      // A caller that goes away cancels its analysis (its queued engine work is dropped).
      const abort = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) abort.abort();
      });
      const started = performance.now();
      let analysis;
      try {
        analysis = await analyzeVoice(engine!, audio.bytes, {
          filename: audio.filename,
          mimeType: audio.mimeType,
          limits,
          frames: query.granularity === 'frame',
          frameEmbeddings: query.embedding,
          signal: abort.signal,
          logger,
        });
      } catch (e) {
        if (abort.signal.aborted) throw new VoicemoodError('bad_input', 'The caller went away before the analysis finished.', { cause: e });
        throw e;
      }
      metrics.analysis('web', 'ok', (performance.now() - started) / 1000);
      return {
        ...resultJson(analysis, query.granularity, new Date()),
        label: EMOTION_LABELS[query.lang][analysis.emotion],
        ...(query.embedding ? { embedding: embeddingJson(analysis, query.granularity) } : {}),
      };
    },
  );

  app.get('/api/v1/openapi.json', async () => openApiDocument(VERSION, keys.required));
}
