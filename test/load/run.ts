/**
 * `npm run load` (issue 7): drives the REAL bot process through the fake Telegram Bot API server
 * with many voice notes from many users over a fixed time, against the tiny random-weight model.
 *
 * Checks: every note is answered with its card or politely refused (rate limit / busy); prints
 * p50/p95 reply latency and the bot process's peak RSS; after the load, RSS must come back near
 * its baseline. Exits 1 when a check fails. Not part of `npm test` (it takes about a minute).
 *
 *   node test/load/run.ts [--notes 200] [--users 50] [--seconds 60] [--seed 1]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Chat, Message } from 'grammy/types';
import type { RecordedCall } from '../fakes/telegram/server.ts';
import { fileMessage, groupChat, messageUpdate, privateChat, user } from '../fakes/telegram/updates.ts';
import { fixture, makeWorkspace, plain, startFakeAndBot } from '../bots/telegram/harness.ts';
import { mulberry32 } from '../helpers/prng.ts';

const { values } = parseArgs({
  options: {
    notes: { type: 'string', default: '200' },
    users: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '60' },
    seed: { type: 'string', default: '1' },
    'settle-seconds': { type: 'string', default: '15' },
    rounds: { type: 'string', default: '2' },
  },
});
const NOTES = Number(values.notes);
const USERS = Number(values.users);
const SECONDS = Number(values.seconds);
const SETTLE_S = Number(values['settle-seconds']);
const ROUNDS = Number(values.rounds);

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

interface Outcome {
  kind: 'card' | 'refused' | 'error';
  latencyMs: number;
  text: string;
}

const mb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  const random = mulberry32(Number(values.seed));
  const ws = await makeWorkspace();
  // The bot gets a clean environment: pass on voicemood's and glibc malloc's knobs for experiments.
  const knobs = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => /^(VOICEMOOD_|MALLOC_)/.test(e[0]) && e[1] !== undefined));
  const { tg, bot } = await startFakeAndBot(ws, { ...knobs, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
  const pid = bot.proc.pid!;
  try {
    tg.addFile('hello', { bytes: fixture('voice-hello.ogg') });
    tg.addFile('angry', { bytes: fixture('voice-angry.ogg') });

    // Warm up (first session run, first history write), then take the baseline at rest.
    const warm = user(1, 'Warm');
    const warmNote = fileMessage(tg, privateChat(warm), warm, 'hello');
    tg.pushUpdate(messageUpdate(warmNote));
    await tg.waitForCall(
      (c) => c.method === 'sendMessage' && (c.params.reply_parameters as { message_id?: number } | undefined)?.message_id === warmNote.message_id,
      60_000,
    );
    await sleep(2000);
    const baselineKb = rssKb(pid);

    // 50 users; a quarter of them talk in 5 groups, the rest in private.
    const users = Array.from({ length: USERS }, (_, i) => user(1000 + i, `User${i}`));
    const groups = Array.from({ length: 5 }, (_, i) => groupChat(-2000 - i, `Load group ${i}`));
    const chatOf = (i: number): Chat => (i % 4 === 0 ? groups[i % groups.length] : privateChat(users[i]));

    let peakKb = baselineKb;
    const sampler = setInterval(() => {
      try {
        peakKb = Math.max(peakKb, rssKb(pid));
      } catch {
        /* the process may be gone */
      }
    }, 200);

    /** One round: the whole schedule, then wait for every answer, then settle. */
    async function round(): Promise<{ results: Outcome[]; unanswered: number; afterKb: number }> {
      const schedule = Array.from({ length: NOTES }, (_, i) => ({
        at: random() * SECONDS * 1000,
        userIndex: i % USERS,
        file: random() < 0.5 ? 'hello' : 'angry',
      })).sort((a, b) => a.at - b.at);
      const sentAt = new Map<number, number>();
      const outcome = new Map<number, Outcome>();
      const unsubscribe = tg.onCall((c: RecordedCall) => {
        if (c.method !== 'sendMessage') return;
        const id = (c.params.reply_parameters as { message_id?: number } | undefined)?.message_id;
        if (id === undefined || !sentAt.has(id) || outcome.has(id)) return;
        const text = String(c.params.text);
        const kind = text.startsWith('<b>') && text.includes('<pre>') ? 'card' : /try again in \d+ s/.test(plain(text)) ? 'refused' : 'error';
        outcome.set(id, { kind, latencyMs: c.at - sentAt.get(id)!, text: plain(text) });
      });
      const start = performance.now();
      for (const item of schedule) {
        const wait = start + item.at - performance.now();
        if (wait > 0) await sleep(wait);
        const note: Message = fileMessage(tg, chatOf(item.userIndex), users[item.userIndex], item.file);
        sentAt.set(note.message_id, performance.now());
        tg.pushUpdate(messageUpdate(note));
      }
      // Everything must be answered within a generous bound after the last note.
      const deadline = performance.now() + 120_000;
      while (outcome.size < NOTES && performance.now() < deadline) await sleep(200);
      unsubscribe();
      await sleep(SETTLE_S * 1000);
      return { results: [...outcome.values()], unanswered: NOTES - outcome.size, afterKb: rssKb(pid) };
    }

    process.stdout.write(`load: ${ROUNDS} × ${NOTES} voice notes from ${USERS} users over ${SECONDS} s; bot RSS at rest ${mb(baselineKb)}\n`);
    let ok = true;
    const afters: number[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      // Users' rate-limit buckets refill between rounds only with time: the settle pause covers part of it.
      const { results, unanswered, afterKb } = await round();
      afters.push(afterKb);
      const cards = results.filter((x) => x.kind === 'card');
      const refused = results.filter((x) => x.kind === 'refused');
      const errors = results.filter((x) => x.kind === 'error');
      const latencies = results
        .filter((x) => x.kind !== 'error')
        .map((x) => x.latencyMs)
        .sort((a, b) => a - b);
      const cardLatencies = cards.map((x) => x.latencyMs).sort((a, b) => a - b);
      process.stdout.write(
        [
          `round ${r}`,
          `  answered with card  ${cards.length}`,
          `  politely refused    ${refused.length}${refused.length ? ` (e.g. "${refused[0].text}")` : ''}`,
          `  other errors        ${errors.length}${errors.length ? ` (e.g. "${errors[0].text}")` : ''}`,
          `  unanswered          ${unanswered}`,
          `  reply latency       p50 ${percentile(latencies, 50).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms, max ${percentile(latencies, 100).toFixed(0)} ms`,
          `  card latency        p50 ${percentile(cardLatencies, 50).toFixed(0)} ms, p95 ${percentile(cardLatencies, 95).toFixed(0)} ms`,
          `  bot RSS             peak so far ${mb(peakKb)}, ${SETTLE_S} s after the round ${mb(afterKb)}`,
          '',
        ].join('\n'),
      );
      if (unanswered || errors.length) {
        ok = false;
        process.stdout.write('FAIL: every note must be answered with a card or a polite refusal\n');
      }
    }
    clearInterval(sampler);

    // Memory: ONNX Runtime's arena and the JS heap keep what the load needed, so RSS settles at a
    // plateau instead of dropping back; what must not happen is growth with every round (a leak)
    // or a plateau far above rest.
    const last = afters.at(-1)!;
    const first = afters[0];
    const leakOk = last <= first + Math.max(16 * 1024, 0.1 * (first - baselineKb));
    const boundOk = last <= baselineKb + 128 * 1024;
    process.stdout.write(`memory: at rest ${mb(baselineKb)}, peak ${mb(peakKb)}, after round 1 ${mb(first)}, after round ${ROUNDS} ${mb(last)}\n`);
    if (!leakOk) process.stdout.write('FAIL: RSS kept growing from round to round\n');
    if (!boundOk) process.stdout.write('FAIL: RSS settled more than 128 MB above rest\n');
    ok = ok && leakOk && boundOk;
    process.stdout.write(ok ? 'load: OK\n' : 'load: FAILED\n');
    return ok ? 0 : 1;
  } finally {
    if (process.env.VOICEMOOD_LOAD_LOG) (await import('node:fs')).writeFileSync(process.env.VOICEMOOD_LOAD_LOG, bot.output());
    await bot.stop('SIGTERM');
    await tg.close();
    ws.cleanup();
  }
}

process.exitCode = await main();
