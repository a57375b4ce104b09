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
