/**
 * Queue mode end to end, with real processes on one real redis-server: two gateways
 * (`node src/main.ts`, Telegram webhook mode, VOICEMOOD_QUEUE_URL + KEYV_URL on Redis) behind the
 * fake Bot API server, and two inference workers (`node src/cli/main.ts worker`) with a tiny
 * random model.
 *
 *   1. 20 voice notes posted round-robin to the gateways, 5 of them posted again to the other
 *      gateway (Telegram re-delivering), one worker SIGKILLed while it holds a job →
 *      exactly 20 cards, none twice; the killed worker's job was taken over by the other one;
 *      the job id of that note is in the logs of both the gateway and the worker.
 *      The Timeline button of a card sent by one gateway works through the other, once.
 *   2. One user's 12 notes split over both gateways, VOICEMOOD_RATE_USER_PER_MIN=10 →
 *      10 cards and 2 polite refusals.
 *   3. SIGTERM to the remaining worker while it holds a job: the job finishes, its card is sent,
 *      the worker exits 0.
 *
 * Timing: nothing waits for a fixed time except the short settling wait before counting (so that a
 * 21st card would be seen). The worker to kill is made to hold its job: the other worker is paused
 * (SIGSTOP) and the engine's batching window is 1 s, so a lone job waits 1 s inside the worker
 * before it runs; the kill is sent from the log line that says the job started.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Message, Update } from 'grammy/types';
import { FakeTelegram, type RecordedCall } from '../fakes/telegram/server.ts';
import { callbackUpdate, fileMessage, messageUpdate, privateChat, user } from '../fakes/telegram/updates.ts';
import { fixture, makeWorkspace, plain, ROOT, spawnBot, TOKEN, type BotProcess, type Workspace } from '../bots/telegram/harness.ts';
import { freePort } from '../helpers/net.ts';
import { skipWithoutRedis, startRedis, type TestRedis } from '../helpers/redis.ts';

const SECRET = 'queue-e2e-secret';
let redis: TestRedis | undefined;
let ws: Workspace;
let tg: FakeTelegram;
const gateways: { bot: BotProcess; port: number }[] = [];
const workers: Worker[] = [];

interface Worker {
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  /** Called with every chunk of output as it arrives. */
  onOutput?: (chunk: string) => void;
}

function spawnWorker(env: Record<string, string>): Promise<Worker> {
  const proc = spawn(process.execPath, [join(ROOT, 'src/cli/main.ts'), 'worker'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const w: Worker = { proc, output: () => out, exited: new Promise((resolve) => proc.on('exit', (code) => resolve(code))) };
  const onData = (d: Buffer): void => {
    const s = d.toString('utf8');
    out += s;
    w.onOutput?.(s);
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start; output:\n${out}`)), 90_000);
    const check = (): void => {
      if (/voicemood worker: ready/.test(out)) {
        clearTimeout(timer);
        resolve(w);
      }
    };
    proc.stderr.on('data', check);
    void w.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}; output:\n${out}`));
    });
  });
}

before(async () => {
  if (skipWithoutRedis) return;
  redis = await startRedis();
  ws = await makeWorkspace();
  tg = await new FakeTelegram({ token: TOKEN }).start();
  tg.addFile('hello', { bytes: fixture('voice-hello.ogg') });
  tg.addFile('angry', { bytes: fixture('voice-angry.ogg') });
  const common = { VOICEMOOD_QUEUE_URL: redis.url, VOICEMOOD_ENGINE_OPT_CACHE: '0' };
  const workerEnv = {
    ...common,
    VOICEMOOD_MODEL: ws.modelPath,
    VOICEMOOD_ENGINE_THREADS: '1',
    VOICEMOOD_ENGINE_BATCH: '4',
    VOICEMOOD_ENGINE_WINDOW_MS: '1000',
    VOICEMOOD_QUEUE_LOCK_MS: '2000',
    VOICEMOOD_QUEUE_STALLED_MS: '1000',
    VOICEMOOD_DATA_DIR: ws.dataDir,
  };
  workers.push(...(await Promise.all([spawnWorker(workerEnv), spawnWorker(workerEnv)])));
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const bot = await spawnBot(
      {
        ...common,
        TELEGRAM_API_ROOT: tg.apiRoot,
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_WEBHOOK_URL: `http://127.0.0.1:${port}/hook`,
        TELEGRAM_WEBHOOK_SECRET: SECRET,
        PORT: String(port),
        KEYV_URL: redis.url,
        VOICEMOOD_DATA_DIR: join(ws.dir, `gw${i}`),
        VOICEMOOD_RATE_USER_PER_MIN: '10',
      },
      { waitFor: /Telegram: started/, timeoutMs: 90_000 },
    );
    gateways.push({ bot, port });
  }
});

after(async () => {
  if (process.env.VOICEMOOD_E2E_LOG) {
    const all = [...gateways.map((g, i) => `--- gateway ${i}\n${g.bot.output()}`), ...workers.map((w, i) => `--- worker ${i}\n${w.output()}`)].join('\n');
    (await import('node:fs')).writeFileSync(process.env.VOICEMOOD_E2E_LOG, all);
  }
  for (const w of workers) {
    if (w.proc.exitCode === null && w.proc.signalCode === null) {
      w.proc.kill('SIGCONT');
      w.proc.kill('SIGKILL');
    }
  }
  await Promise.all(gateways.map((g) => g.bot.stop('SIGKILL')));
  await tg?.close();
  redis?.stop();
  ws?.cleanup();
});

let nextUpdateId = 1000;

/** Posts an update to one gateway's webhook, as Telegram would. */
async function post(gateway: number, update: Update): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${gateways[gateway].port}/hook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
    body: JSON.stringify(update),
  });
  assert.equal(res.status, 200);
}

function noteUpdate(from: ReturnType<typeof user>, fileId: string): Update {
  const note: Message = fileMessage(tg, privateChat(from), from, fileId);
  return { update_id: nextUpdateId++, ...messageUpdate(note) };
}

const isCard = (c: RecordedCall): boolean => c.method === 'sendMessage' && /<pre>/.test(String(c.params.text)) && c.params.reply_parameters !== undefined;
const repliedTo = (c: RecordedCall): number => (c.params.reply_parameters as { message_id: number }).message_id;

test(
  'two gateways + two workers on one Redis: 20 notes (5 delivered twice, a worker killed mid-job) → exactly 20 cards; 12 notes of one user over both gateways → 10 cards, 2 refusals',
  { skip: skipWithoutRedis, timeout: 110_000 },
  async () => {
    const [victim, survivor] = workers as [Worker, Worker];
    const users = [user(201, 'Ann'), user(202, 'Ben'), user(203, 'Cat'), user(204, 'Dan')];
    const updates = Array.from({ length: 20 }, (_, i) => noteUpdate(users[i % 4], i % 2 ? 'hello' : 'angry'));
    const noteIds = new Set(updates.map((u) => u.message!.message_id));

    // The survivor is paused, so the victim takes the first note; it is killed as soon as it says so.
    survivor.proc.kill('SIGSTOP');
    const killedJob = new Promise<string>((resolve) => {
      victim.onOutput = () => {
        const m = /"jobId":"([^"]+)"[^\n]*"msg":"worker: job started"/.exec(victim.output());
        if (m) {
          victim.proc.kill('SIGKILL');
          victim.onOutput = undefined;
          resolve(m[1]);
        }
      };
    });
    await post(0, updates[0]);
    const jobId = await killedJob;
    await victim.exited;
    survivor.proc.kill('SIGCONT');

    // The rest round-robin; every fourth note is delivered again to the other gateway.
    await Promise.all(
      updates.slice(1).map(async (u, k) => {
        const i = k + 1;
        await post(i % 2, u);
        if (i % 4 === 0) await post((i + 1) % 2, u);
      }),
    );
    await post(1, updates[0]); // and the first one too, while its job is still waiting to be taken over
    const cards = await tg.waitForCalls((c) => isCard(c) && noteIds.has(repliedTo(c)), 20, 90_000, '20 cards');
    assert.deepEqual(new Set(cards.map(repliedTo)), noteIds, 'every note got its card');

    // The killed worker's job ran again on the survivor (stalled-job recovery), and one gateway logged the same job id.
    assert.ok(!victim.output().includes(`"jobId":"${jobId}","runMs"`), 'the victim was killed before it finished the job');
    assert.match(survivor.output(), new RegExp(`"jobId":"${jobId}"[^\\n]*"msg":"worker: job done"`));
    assert.ok(
      gateways.some((g) => g.bot.output().includes(`"jobId":"${jobId}"`)),
      'the gateway logs the job id too',
    );

    // The Timeline button of a card sent by gateway 1 (all of Ben's notes went there only), tapped
    // through gateway 0, then again through gateway 1: one edit.
    const card1 = cards.find((c) => repliedTo(c) === updates[1].message!.message_id)!;
    const data = (card1.params.reply_markup as { inline_keyboard: { callback_data: string }[][] }).inline_keyboard[0][0].callback_data;
    const cardMessage = { message_id: card1.resultMessageId!, date: 0, chat: updates[1].message!.chat, text: String(card1.params.text) } as Message;
    const tap = (id: string): Update => ({ update_id: nextUpdateId++, ...callbackUpdate(users[1], cardMessage, data, id) });
    await post(0, tap('cb-q-1'));
    const edit = await tg.waitForCall(
      (c) => c.method === 'editMessageText' && Number(c.params.message_id) === card1.resultMessageId,
      30_000,
      'the timeline edit',
    );
    assert.ok(String(edit.params.text).startsWith(String(card1.params.text)), 'the card stays above the timeline');
    await post(1, tap('cb-q-2'));
    await tg.waitForCalls((c) => c.method === 'answerCallbackQuery' && /^cb-q-/.test(String(c.params.callback_query_id)), 2, 30_000, 'both taps answered');

    // 2. One user, 12 notes, both gateways, 10 per minute.
    const zoe = user(301, 'Zoe');
    const zoeNotes = Array.from({ length: 12 }, () => noteUpdate(zoe, 'hello'));
    const zoeIds = new Set(zoeNotes.map((u) => u.message!.message_id));
    await Promise.all(zoeNotes.map((u, i) => post(i % 2, u)));
    const isRefusal = (c: RecordedCall): boolean =>
      c.method === 'sendMessage' && /^You are sending a lot right now\. Please try again in \d+ s\.$/.test(plain(String(c.params.text)));
    const zoeAnswer = (c: RecordedCall): boolean => (isCard(c) || isRefusal(c)) && c.params.reply_parameters !== undefined && zoeIds.has(repliedTo(c));
    const answers = await tg.waitForCalls(zoeAnswer, 12, 60_000, "Zoe's 12 answers");
    assert.equal(answers.filter(isCard).length, 10, 'ten cards');
    assert.equal(answers.filter(isRefusal).length, 2, 'two polite refusals');

    // Settle, then count again: nothing answered twice.
    await new Promise((r) => setTimeout(r, 1500));
    const allCards = tg.calls.filter((c) => isCard(c) && noteIds.has(repliedTo(c)));
    assert.equal(allCards.length, 20, `exactly 20 cards (got ${allCards.length})`);
    assert.equal(tg.calls.filter(zoeAnswer).length, 12, "each of Zoe's notes answered once");
    assert.equal(
      tg.calls.filter((c) => c.method === 'editMessageText' && Number(c.params.message_id) === card1.resultMessageId).length,
      1,
      'two taps, one edit',
    );

    // SIGTERM while the survivor holds a job (in its 1 s batching window): it finishes it, the card
    // is sent, and it exits 0; so do the gateways.
    const last = noteUpdate(users[2], 'hello');
    const started = survivor.output().split('worker: job started').length;
    const terminated = new Promise<void>((resolve) => {
      survivor.onOutput = () => {
        if (survivor.output().split('worker: job started').length > started) {
          survivor.proc.kill('SIGTERM');
          survivor.onOutput = undefined;
          resolve();
        }
      };
    });
    await post(0, last);
    await terminated;
    assert.equal(await survivor.exited, 0);
    assert.match(survivor.output(), /SIGTERM: taking no new job, finishing the running ones/);
    await tg.waitForCall((c) => isCard(c) && repliedTo(c) === last.message!.message_id, 30_000, 'the card of the note the worker finished after SIGTERM');
    for (const g of gateways) assert.equal(await g.bot.stop('SIGTERM'), 0);
    for (const out of [...gateways.map((g) => g.bot.output()), survivor.output()]) assert.ok(!out.includes(TOKEN.split(':')[1]), 'token leaked');
  },
);
