/** The fake Bot API refuses what the real one refuses (so bot tests cannot pass on lenient input). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMarkup, checkText, parseTelegramHtml } from '../../fakes/telegram/checks.ts';

test('HTML: escaped text and known tags parse; bare <, & or unbalanced tags do not', () => {
  assert.deepEqual(parseTelegramHtml('<b>A &amp; B &lt;3</b>\n<pre>x &gt; y</pre>'), { ok: true, plain: 'A & B <3\nx > y' });
  for (const bad of ['<b>Tom & Jerry</b>', 'a <3 b', '<b>open', '<b>x</i>', '<script>x</script>', 'x > y']) {
    const r = parseTelegramHtml(bad);
    assert.equal(r.ok, false, bad);
    assert.match(r.ok ? '' : r.description, /^Bad Request: can't parse entities/);
  }
});

test('length is counted after parsing: 4096 for messages, 1024 for captions; empty and broken UTF-16 refused', () => {
  assert.equal(checkText(`<b>${'&amp;'.repeat(4096)}</b>`, 'HTML', 4096, 'message text').ok, true);
  assert.equal(checkText('a'.repeat(4097), undefined, 4096, 'message text').ok, false);
  assert.equal(checkText('a'.repeat(1025), undefined, 1024, 'caption').ok, false);
  assert.equal(checkText('<b> </b>', 'HTML', 4096, 'message text').ok, false);
  assert.equal(checkText('ok \uD83D', undefined, 4096, 'message text').ok, false);
  assert.equal(checkText('ok 😀', undefined, 4096, 'message text').ok, true);
});

test('callback_data over 64 bytes is refused', () => {
  const kb = (data: string) => ({ inline_keyboard: [[{ text: 'x', callback_data: data }]] });
  assert.equal(checkMarkup(kb('tl:1')), undefined);
  assert.equal(checkMarkup(kb('é'.repeat(33)))?.ok, false);
});
