/**
 * The page in a real browser: headless Chromium (Debian's `chromium`, driven by playwright-core)
 * uploads a voice note, presses Analyse and sees the label, the confidence and all nine bars; in
 * Chinese too; frame granularity draws the timeline; result.json and embedding.npy download and
 * match the API's answer; recording from Chromium's fake microphone; API keys; a batch with its
 * progress list, results.jsonl and embedding map. Skipped with a reason when Chromium is missing, except in CI.
 * VOICEMOOD_SCREENSHOT=1 writes docs/web-page.png (done once, committed).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { EMOTIONS, EMOTION_LABELS } from '../../src/domain/emotions.ts';
import { decodeNpy } from '../../src/util/npy.ts';
import type { WebServer } from '../../src/web/server.ts';
import { fixture, fixturePath } from '../audio/helpers.ts';
import { makeWebWorkspace, serve, type WebWorkspace } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const missing = !existsSync(CHROMIUM);
if (missing && process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing in CI: scripts/setup.sh installs it when CI=true.`);
if (missing) console.log(`# skipping the browser test: ${CHROMIUM} is not installed (apt-get install chromium)`);

let ws: WebWorkspace;
let server: WebServer;
let browser: Browser;

before(async () => {
  if (missing) return;
  ws = await makeWebWorkspace();
  server = await serve(ws.engine);
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // The fake media flags give getUserMedia a generated beep instead of a microphone, with no prompt.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
    ],
    timeout: 60_000,
  });
});
after(async () => {
  await browser?.close();
  await server?.close();
  await ws?.cleanup();
});

async function openPage(lang: 'en' | 'zh'): Promise<Page> {
  const page = await browser.newPage({ acceptDownloads: true, viewport: { width: 900, height: 1100 } });
  page.setDefaultTimeout(60_000);
  await page.goto(`${server.url}/?lang=${lang}`);
  await page.locator('#analyse').waitFor();
  return page;
}

async function expectedResult(query: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.url}/api/v1/analyze${query}`, { method: 'POST', body: fixture('voice_telegram.ogg') });
  assert.equal(res.status, 200);
  return (await res.json()) as Record<string, unknown>;
}

test('upload a voice note, analyse: label, confidence and the nine bars in model order; result.json downloads', { skip: missing }, async () => {
  const expected = await expectedResult('');
  const page = await openPage('en');
  try {
    await page.locator('#file').setInputFiles(fixturePath('voice_telegram.ogg'));
    await page.locator('#analyse').click();
    await page.locator('#result').waitFor({ state: 'visible' });
    const emotion = String(expected.emotion) as (typeof EMOTIONS)[number];
    assert.equal(await page.locator('#label').textContent(), EMOTION_LABELS.en[emotion]);
    assert.equal(await page.locator('#confidence').textContent(), `${(Number(expected.confidence) * 100).toFixed(1)}%`);
    const rows = page.locator('#bars li');
    assert.equal(await rows.count(), 9);
    const order: (string | null)[] = [];
    for (let i = 0; i < 9; i++) order.push(await rows.nth(i).getAttribute('data-emotion'));
    assert.deepEqual(order, [...EMOTIONS]);
    const scores = expected.scores as Record<string, number>;
    for (let i = 0; i < 9; i++) {
      const text = (await rows.nth(i).textContent()) ?? '';
      assert.ok(text.includes(EMOTION_LABELS.en[EMOTIONS[i]]), text);
      assert.ok(text.endsWith(`${(scores[EMOTIONS[i]] * 100).toFixed(1)}%`), text);
    }
    assert.equal(await page.locator('#timelineBox').isHidden(), true);
    assert.equal(await page.locator('#dlNpy').isHidden(), true);
    assert.equal(await page.locator('#result').getAttribute('aria-live'), 'polite');

    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#dlJson').click()]);
    assert.equal(download.suggestedFilename(), 'result.json');
    const saved = JSON.parse(readFileSync(await download.path(), 'utf8')) as Record<string, unknown>;
    const strip = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'timestamp' && k !== 'label'));
    assert.deepEqual(strip(saved), strip(expected));
    assert.equal('label' in saved, false, "result.json holds the CLI's fields");
    if (process.env.VOICEMOOD_SCREENSHOT === '1') await page.screenshot({ path: new URL('../../docs/web-page.png', import.meta.url).pathname, fullPage: true });
  } finally {
    await page.close();
  }
});

test('in Chinese, frame granularity with the embedding: Chinese labels, a timeline, and embedding.npy of [T, D]', { skip: missing }, async () => {
  const expected = await expectedResult('?granularity=frame&embedding=true');
  const page = await openPage('zh');
  try {
    assert.equal(await page.locator('#analyse').textContent(), '分析');
    await page.locator('#file').setInputFiles(fixturePath('voice_telegram.ogg'));
    await page.locator('input[name=granularity][value=frame]').check();
    await page.locator('#embedding').check();
    await page.locator('#analyse').click();
    await page.locator('#result').waitFor({ state: 'visible' });
    const emotion = String(expected.emotion) as (typeof EMOTIONS)[number];
    assert.equal(await page.locator('#label').textContent(), EMOTION_LABELS.zh[emotion]);
    const rows = page.locator('#bars li');
    assert.equal(await rows.count(), 9);
    assert.ok(((await rows.nth(0).textContent()) ?? '').includes('生气'));
    await page.locator('#timelineBox').waitFor({ state: 'visible' });
    const frames = (expected.frames as unknown[]).length;
    assert.equal(await page.locator('#timeline svg rect').count(), Math.min(frames, 300));

    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#dlNpy').click()]);
    assert.equal(download.suggestedFilename(), 'embedding.npy');
    const npy = decodeNpy(new Uint8Array(readFileSync(await download.path())));
    const emb = expected.embedding as number[][];
    assert.deepEqual(npy.shape, [emb.length, emb[0].length]);
    assert.ok(Math.abs(npy.data[5] - emb[0][5]) < 1e-6);
    assert.ok(Math.abs(npy.data[npy.data.length - 1] - emb.at(-1)!.at(-1)!) < 1e-6);

    // Switching the language redraws the result in English.
    await page.locator('#lang').selectOption('en');
    assert.equal(await page.locator('#label').textContent(), EMOTION_LABELS.en[emotion]);
    assert.equal(await page.locator('#analyse').textContent(), 'Analyse');
  } finally {
    await page.close();
  }
});

test('clear errors: nothing chosen, and a file that is not audio', { skip: missing }, async () => {
  const page = await openPage('en');
  try {
    await page.locator('#analyse').click();
    await page.locator('#error').waitFor({ state: 'visible' });
    assert.match((await page.locator('#error').textContent()) ?? '', /Choose a file/);
    await page.locator('#file').setInputFiles(fixturePath('broken/random.wav'));
    await page.locator('#analyse').click();
    // A locator wait, not waitForFunction: the page's CSP (script-src 'self') forbids the eval that
    // Playwright's polling of a string predicate needs, so that one failed whenever it had to poll.
    await page.locator('#error', { hasNotText: 'Choose a file' }).waitFor({ state: 'visible' });
    const text = (await page.locator('#error').textContent()) ?? '';
    assert.ok(text.length > 10 && !/HTTP \d+/.test(text), text);
    assert.equal(await page.locator('#error').getAttribute('role'), 'alert');
  } finally {
    await page.close();
  }
});

test('record from the (fake) microphone, stop, analyse: the recording is decoded and scored', { skip: missing }, async () => {
  const page = await openPage('en');
  try {
    await page.locator('#record').click();
    await page.locator('#record', { hasText: 'Stop recording' }).waitFor();
    await page.waitForTimeout(2500); // the recording itself: 2.5 s of the fake device's beeps
    await page.locator('#record').click();
    await page.locator('#chosen', { hasText: 'Recorded' }).waitFor();
    await page.locator('#analyse').click();
    await page.locator('#result').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#bars li').count(), 9);
    const format = (await page.locator('#format').textContent()) ?? '';
    assert.match(format, /webm|ogg|mp4|m4a/, format);
    const seconds = Number.parseFloat((await page.locator('#duration').textContent()) ?? '');
    assert.ok(seconds > 1 && seconds < 10, String(seconds));
  } finally {
    await page.close();
  }
});

test('with API keys the page asks for one and sends it', { skip: missing }, async () => {
  const keyed = await serve(ws.engine, { VOICEMOOD_API_KEYS: 'page-key-789' });
  const page = await browser.newPage();
  page.setDefaultTimeout(60_000);
  try {
    await page.goto(`${keyed.url}/?lang=en`);
    await page.locator('#apikey').waitFor({ state: 'visible' });
    await page.locator('#file').setInputFiles(fixturePath('speech.mp3'));
    await page.locator('#analyse').click();
    await page.locator('#error').waitFor({ state: 'visible' });
    assert.match((await page.locator('#error').textContent()) ?? '', /needs a key/);
    await page.locator('#apikey').fill('page-key-789');
    await page.locator('#analyse').click();
    await page.locator('#result').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#error').isHidden(), true);
  } finally {
    await page.close();
    await keyed.close();
  }
});

test('a batch of files: a progress list, results.jsonl with one line per file, and a map with one dot per analysed file', { skip: missing }, async () => {
  const page = await openPage('en');
  try {
    const names = ['voice_telegram.ogg', 'speech.mp3', 'broken/random.wav', 'speech.flac'];
    await page.locator('#file').setInputFiles(names.map((n) => fixturePath(n)));
    assert.equal(await page.locator('#chosen').textContent(), '4 files');
    await page.locator('#analyse').click();
    await page.locator('#batchStatus', { hasText: '3 analysed, 1 failed' }).waitFor();
    const items = page.locator('#batchList li');
    assert.equal(await items.count(), 4);
    assert.equal(await page.locator('#batchList li.failed').count(), 1);
    assert.match((await items.nth(2).textContent()) ?? '', /^random\.wav — ✗ /);
    assert.equal(await page.locator('#map svg circle').count(), 3);
    const spots = new Set<string>();
    for (let i = 0; i < 3; i++)
      spots.add(`${await page.locator('#map svg circle').nth(i).getAttribute('cx')},${await page.locator('#map svg circle').nth(i).getAttribute('cy')}`);
    assert.equal(spots.size, 3, 'three different recordings, three different places');

    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#dlJsonl').click()]);
    assert.equal(download.suggestedFilename(), 'results.jsonl');
    const lines = readFileSync(await download.path(), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((l) => l.input),
      ['voice_telegram.ogg', 'speech.mp3', 'random.wav', 'speech.flac'],
    );
    assert.equal(lines[2].code, 'undecodable');
    for (const i of [0, 1, 3]) {
      assert.ok(EMOTIONS.includes(lines[i].emotion as never));
      assert.equal('embedding' in lines[i], false, 'the embedding was not ticked');
      assert.equal('label' in lines[i], false);
    }
    const single = await expectedResult('');
    assert.equal(lines[0].emotion, single.emotion);
    assert.equal(lines[0].confidence, single.confidence);
  } finally {
    await page.close();
  }
});
