/**
 * Structured logging (pino, JSON lines on stderr). Secrets never reach a log line: every value
 * registered with `registerSecret` is replaced by "[redacted]" wherever it appears, and the
 * usual secret-bearing fields are redacted by path as well.
 */
import { pino, type Logger } from 'pino';

const secrets = new Set<string>();

/**
 * Registers a secret (a bot token, a database password) so that no log line can show it.
 * A URL (KEYV_URL) is not secret as a whole: its password (and any password/token query
 * parameter) is, so logs and errors keep showing the scheme, host and port.
 */
export function registerSecret(value: string | undefined): void {
  if (!value) return;
  const parts = urlSecrets(value);
  for (const s of parts ?? [value]) if (s.length >= 6) secrets.add(s);
  // Shorter URL passwords are still hidden by the `user:password@` pattern in redact().
}

/** The secret parts of a URL with a scheme, or undefined when `value` is not one. */
function urlSecrets(value: string): string[] | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const out: string[] = [];
  const add = (raw: string): void => {
    if (!raw) return;
    out.push(raw);
    try {
      const decoded = decodeURIComponent(raw);
      if (decoded !== raw) out.push(decoded, encodeURIComponent(decoded));
    } catch {
      // not percent-encoded
    }
  };
  add(url.password);
  for (const [k, v] of url.searchParams) if (/pass|secret|token|key/i.test(k)) add(v);
  return out;
}

// `scheme://user:password@host`: the password part of any URL, registered or not (a library's
// error may echo a URL we never saw).
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/"'<>]*:)([^\s@/"'<>]+)@/gi;

/** Replaces every registered secret, and every URL password, inside a string. */
export function redact(text: string): string {
  let out = text.replace(URL_PASSWORD, '$1[redacted]@');
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
