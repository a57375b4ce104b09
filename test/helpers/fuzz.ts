import { after, before } from 'node:test';

/**
 * Turns stack-trace capture off for the tests of this file. Most fuzz cases end in a typed error,
 * and capturing tens of thousands of stack traces costs more than the parsing itself; fast-check
 * still reports a failing case with its seed, path and message.
 */
export function withoutStackTraces(): void {
  let saved: number | undefined;
  before(() => {
    saved = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
  });
  after(() => {
    Error.stackTraceLimit = saved ?? 10;
  });
}

/**
 * fast-check parameters with a fixed seed, so that every run checks the same cases: `seed` unless
 * VOICEMOOD_FC_SEED is set (to replay or explore another seed). On failure fast-check's error
 * message names the seed and the path of the shrunk counterexample (`{ seed: …, path: "…" }`);
 * passing both back (`VOICEMOOD_FC_SEED=… ` and `path`) replays it directly.
 */
export function fcParams<T extends object>(seed: number, more: T = {} as T): T & { seed: number } {
  const fromEnv = process.env.VOICEMOOD_FC_SEED;
  if (fromEnv !== undefined && fromEnv !== '' && !Number.isSafeInteger(Number(fromEnv)))
    throw new RangeError(`VOICEMOOD_FC_SEED must be an integer, not ${fromEnv}`);
  return { ...more, seed: fromEnv ? Number(fromEnv) : seed };
}
