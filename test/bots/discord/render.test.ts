import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUTTON, codeBlock, forChannel, forInteraction, renderAlert, renderCard, renderText } from '../../../src/bots/discord/render.ts';
import { buildCard, renderCardBars, renderCardTitle } from '../../../src/render/card.ts';
import { EMOTIONS, namedScores } from '../../../src/domain/emotions.ts';
import type { CardReply, AlertReply } from '../../../src/commands/types.ts';

const scores = namedScores(EMOTIONS.map((e) => (e === 'angry' ? 0.7 : 0.0375)));

function card(withTimeline: boolean): CardReply {
  const c = buildCard({ emotion: 'angry', confidence: 0.7, scores, durationS: 3 }, 'en');
  return {
    kind: 'card',
    card: c,
    title: renderCardTitle(c),
    body: renderCardBars(c),
    ...(withTimeline ? { timeline: { windowS: 0.5, durationS: 1, windows: [{ startS: 0, endS: 0.5, emotion: 'angry' as const, shares: scores }] } } : {}),
  };
}

test('codeBlock cannot be closed early by the text inside and respects the length limit', () => {
  const b = codeBlock('a```b');
  assert.equal(b.match(/```/g)?.length, 2);
  assert.ok(codeBlock('x'.repeat(10_000)).length <= 4096);
});

test('card embed: title and bars as the renderers give them; Timeline button only with a timeline and a key', () => {
  const p = renderCard(card(true), 'k1');
  assert.equal(p.embeds![0].title, card(true).title);
  assert.equal(p.embeds![0].description, codeBlock(card(true).body));
  assert.equal((p.components![0].components[0] as { custom_id: string }).custom_id, `${BUTTON.timeline}k1`);
  assert.equal(renderCard(card(false), 'k1').components, undefined);
  assert.equal(renderCard(card(true)).components, undefined);
});

test('alert embed: who, channel, window, trend, scores, buttons; no files', () => {
  const reply: AlertReply = {
    kind: 'alert',
    title: 'Heads-up: Bob is getting heated',
    text: 'Chat: #lounge',
    notifyUserIds: [],
    logChannelId: '9',
    lang: 'en',
    signal: {
      id: 'sig1',
      kind: 'heated_speaker',
      platform: 'discord',
      chatId: '42',
      guildId: 'g',
      members: [{ userId: '7', name: 'Bob', count: 3, negativeShare: 0.74, talkS: 31 }],
      windowS: 120,
      count: 3,
      scores,
      negativeShare: 0.74,
      trend: 'rising',
      at: 0,
    },
  };
  const p = renderAlert(reply);
  const e = p.embeds![0];
  assert.match(e.description!, /<@7> — 74% anger\+disgust, 31 s/);
  assert.deepEqual(
    e.fields!.map((f) => f.value),
    ['<#42>', '120 s', 'rising', e.fields![3].value],
  );
  assert.match(e.fields![3].value, /^😠 70%/);
  assert.deepEqual(
    p.components![0].components.map((c) => (c as { custom_id: string }).custom_id),
    [`${BUTTON.ack}sig1`, `${BUTTON.snooze}sig1`],
  );
  assert.equal(p.files, undefined);
});

test('errors are ephemeral for interactions, plain in channels; markdown in text is escaped', () => {
  const err = renderText({ kind: 'error', code: 'forbidden', text: 'No *way*' });
  assert.equal(err.content, 'No \\*way\\*');
  assert.equal(forInteraction(err).flags, 64);
  assert.equal('ephemeral' in forChannel(err), false);
  assert.equal(renderText({ kind: 'text', text: 'a\nb', monospace: true }).content, '```\na\nb\n```');
});
