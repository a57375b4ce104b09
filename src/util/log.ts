/**
 * Structured logging (pino, JSON lines on stderr). Secrets never reach a log line: every value
 * registered with `registerSecret` is replaced by "[redacted]" wherever it appears, and the
 * usual secret-bearing fields are redacted by path as well.
 */
import { pino, type Logger } from 'pino';

const secrets = new Set<string>();

/** Registers a secret (a bot token, a database password) so that no log line can show it. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) secrets.add(value);
}

/** Replaces every registered secret inside a string. */
export function redact(text: string): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
  return out;
}

export function createLogger(options: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info');
  const dest = options.destination ?? process.stderr;
  const redactingStream = {
    write(chunk: string): void {
      dest.write(redact(chunk));
    },
  };
  return pino(
    {
      level,
      name: options.name ?? 'voicemood',
      redact: { paths: ['token', '*.token', 'headers.authorization', '*.headers.authorization', 'password', '*.password'], censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    redactingStream,
  );
}

export type { Logger };
