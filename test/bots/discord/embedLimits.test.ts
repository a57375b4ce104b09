/** Every payload we send fits Discord's embed limits, however long the names and texts get. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { APIEmbed } from 'discord.js';
import { EMBED_LIMITS, clipText, embedChars, fitEmbeds } from '../../../src/bots/discord/embedLimits.ts';
import { codeBlock, forChannel, forInteraction } from '../../../src/bots/discord/render.ts';
import { fcParams } from '../../helpers/fuzz.ts';

function assertWithinLimits(embeds: APIEmbed[]): void {
  assert.ok(embeds.length <= EMBED_LIMITS.embeds);
  for (const e of embeds) {
    assert.ok((e.title?.length ?? 0) <= EMBED_LIMITS.title, 'title');
    assert.ok((e.description?.length ?? 0) <= EMBED_LIMITS.description, 'description');
    assert.ok((e.fields?.length ?? 0) <= EMBED_LIMITS.fields, 'fields');
    for (const f of e.fields ?? []) assert.ok(f.name.length > 0 && f.name.length <= 256 && f.value.length > 0 && f.value.length <= 1024, 'field');
    assert.ok((e.footer?.text.length ?? 0) <= EMBED_LIMITS.footer, 'footer');
  }
  assert.ok(embeds.reduce((n, e) => n + embedChars(e), 0) <= EMBED_LIMITS.total, 'total');
}

test('a card and a long timeline strip (two 4096-character descriptions) are cut to 6000 in all, code blocks still closed', () => {
  const long = codeBlock('█'.repeat(5000));
  const p = forInteraction({ embeds: [{ title: 'card', description: codeBlock('bars') }, { description: long }], ephemeral: true });
  assertWithinLimits(p.embeds!);
  assert.equal(p.embeds![0].description, codeBlock('bars'), 'the short one is left alone');
  assert.match(p.embeds![1].description!, /^```\n[\s\S]*…\n```$/);
  assert.ok(p.flags !== undefined);
});

test('fitEmbeds: any titles, descriptions, fields and footers come out within the limits', () => {
  // Lengths are what matters: long runs of one character (some as code blocks) keep it fast.
  const sized = (max: number) => fc.tuple(fc.nat({ max }), fc.boolean()).map(([n, fenced]) => (fenced ? codeBlock('é'.repeat(n), n + 8) : 'é'.repeat(n)));
  const text = sized(5000);
  const embed = fc.record({
    title: text,
    description: text,
    footer: fc.record({ text }),
    fields: fc.array(fc.record({ name: sized(300), value: sized(1500) }), { maxLength: 30 }),
  });
  fc.assert(
    fc.property(fc.array(embed, { maxLength: 12 }), (embeds) => assertWithinLimits(fitEmbeds(embeds))),
    fcParams(20261201, { numRuns: 200 }),
  );
});

test('many long fields alone (25 × 256-character names) are brought under 6000 too', () => {
  const fields = Array.from({ length: 30 }, () => ({ name: 'n'.repeat(300), value: 'v'.repeat(1500) }));
  const fitted = fitEmbeds([{ title: 'alert', fields }]);
  assertWithinLimits(fitted);
  assert.equal(fitted[0].fields!.length, 25);
  assert.equal(fitted[0].title, 'alert', 'the title is the last thing cut');
});

test('payloads within the limits pass unchanged; clipText keeps short text', () => {
  const embeds: APIEmbed[] = [{ title: 'a', description: 'b', fields: [{ name: 'c', value: 'd' }] }];
  assert.deepEqual(forChannel({ embeds }).embeds, embeds);
  assert.equal(clipText('abc', 3), 'abc');
  assert.equal(clipText('abcd', 3), 'ab…');
});
