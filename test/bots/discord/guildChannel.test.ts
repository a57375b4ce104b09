/** postToGuildChannel, used by voice-message and voice-channel alerts: only into the server's own channel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'discord.js';
import { postToGuildChannel } from '../../../src/bots/discord/guildChannel.ts';
import { createLogger } from '../../../src/util/log.ts';

function stubClient(channels: Record<string, { guildId?: string; sendable?: boolean }>) {
  const sent: string[] = [];
  const client = {
    channels: {
      fetch: async (id: string) => {
        const c = channels[id];
        if (!c) throw new Error('Unknown Channel');
        return { id, ...(c.guildId ? { guildId: c.guildId } : {}), isSendable: () => c.sendable !== false, send: async () => void sent.push(id) };
      },
    },
  } as unknown as Client;
  return { client, sent };
}

test('postToGuildChannel posts only into a sendable channel of the same guild, and logs a warning otherwise', async () => {
  const lines: string[] = [];
  const logger = createLogger({ level: 'warn', destination: { write: (l: string) => void lines.push(l) } as unknown as NodeJS.WritableStream });
  const { client, sent } = stubClient({ own: { guildId: 'g1' }, foreign: { guildId: 'g2' }, dm: {}, category: { guildId: 'g1', sendable: false } });
  assert.equal(await postToGuildChannel(client, 'g1', 'own', { content: 'x' }, logger), true);
  for (const [guild, channel] of [
    ['g1', 'foreign'],
    ['g1', 'dm'],
    ['g1', 'category'],
    ['g1', 'missing'],
    [undefined, 'own'],
  ] as const) {
    assert.equal(await postToGuildChannel(client, guild, channel, { content: 'x' }, logger), false, `${guild}/${channel}`);
  }
  assert.deepEqual(sent, ['own']);
  assert.equal(lines.filter((l) => l.includes('alert not posted')).length, 5);
});
