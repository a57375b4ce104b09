/** The OpenAPI 3.1 description of the REST API, served at GET /api/v1/openapi.json. */
import { EMOTIONS } from '../domain/emotions.ts';

export function openApiDocument(version: string, authRequired: boolean): Record<string, unknown> {
  const scores = {
    type: 'object',
    properties: Object.fromEntries(EMOTIONS.map((e) => [e, { type: 'number', minimum: 0, maximum: 1 }])),
    required: [...EMOTIONS],
  };
  const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
  const retryAfter = { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } } };
  const query = (name: string, description: string, schema: Record<string, unknown>) => ({ name, in: 'query', required: false, description, schema });
  return {
    openapi: '3.1.0',
    info: {
      title: 'voicemood API',
      version,
      description: 'How a voice sounds: emotion2vec+ speech emotion recognition on the CPU. Nothing sent here is stored.',
    },
    servers: [{ url: '/' }],
    paths: {
      '/api/v1/analyze': {
        post: {
          operationId: 'analyze',
          summary: 'Analyse one audio file (WAV, MP3, M4A, FLAC, Ogg/Opus, WebM, MP4 …).',
          description: 'Send the audio as the raw request body (any Content-Type) or as the multipart/form-data field `file`. The bytes decide the format.',
          parameters: [
            query('granularity', 'utterance: one result; frame: also one entry per frame (50 per second).', {
              type: 'string',
              enum: ['utterance', 'frame'],
              default: 'utterance',
            }),
            query('embedding', 'Also answer the embedding (an array of D numbers, or T arrays for frame granularity).', { type: 'boolean', default: false }),
            query('lang', 'Language of `label`.', { type: 'string', enum: ['en', 'zh'], default: 'en' }),
          ],
          requestBody: {
            required: true,
            content: {
              'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
              'multipart/form-data': { schema: { type: 'object', properties: { file: { type: 'string', format: 'binary' } }, required: ['file'] } },
            },
          },
          ...(authRequired ? { security: [{ bearer: [] }] } : {}),
          responses: {
            '200': {
              description: "The result (the fields of the CLI's result.json, plus `label`, and `embedding` when asked).",
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Result' } } },
            },
            '400': error('The request makes no sense (bad query value, no file).'),
            '401': error('An API key is required and was missing or wrong.'),
            '413': error('The upload is larger than the limit.'),
            '415': error('The bytes are not audio voicemood can decode.'),
            '422': error('The audio is too short, too long or silent.'),
            '429': { ...error('Too many requests from this key or address, or the engine is busy.'), headers: retryAfter },
            '503': error('No model is loaded.'),
          },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'One of the keys in VOICEMOOD_API_KEYS.' } },
      schemas: {
        Error: { type: 'object', properties: { error: { type: 'string' }, code: { type: 'string' } }, required: ['error', 'code'] },
        Result: {
          type: 'object',
          required: ['emotion', 'confidence', 'scores', 'granularity', 'timestamp', 'duration_s', 'model', 'format', 'label'],
          properties: {
            emotion: { type: 'string', enum: [...EMOTIONS] },
            confidence: { type: 'number' },
            scores,
            granularity: { type: 'string', enum: ['utterance', 'frame'] },
            timestamp: { type: 'string', format: 'date-time' },
            duration_s: { type: 'number' },
            model: { type: 'string' },
            format: { type: 'string', description: 'Detected input format, e.g. ogg/opus.' },
            notes: { type: 'array', items: { type: 'string' } },
            frames: {
              type: 'array',
              items: { type: 'object', properties: { time: { type: 'number' }, emotion: { type: 'string' }, scores }, required: ['time', 'emotion', 'scores'] },
            },
            label: { type: 'string', description: 'The emotion in the language asked for.' },
            embedding: {
              oneOf: [
                { type: 'array', items: { type: 'number' } },
                { type: 'array', items: { type: 'array', items: { type: 'number' } } },
              ],
            },
          },
        },
      },
    },
  };
}
