/**
 * The options handed to @discordjs/voice's joinVoiceChannel: what the fake voice receiver cannot
 * check. A deafened bot is sent no audio at all (and 0.19 deafens by default), and without
 * `debug` the connection never emits the 'debug' events we log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { voiceJoinOptions } from '../../../src/bots/discord/voice/listeners.ts';

const guild = { id: '140000000000000001', voiceAdapterCreator: (() => ({ sendPayload: () => true, destroy: () => undefined })) as never };

test('the bot joins undeafened (else Discord sends it no audio), muted, with DAVE left on', () => {
  const o = voiceJoinOptions(guild, '240000000000000001', false);
  assert.equal(o.selfDeaf, false);
  assert.equal(o.selfMute, true);
  assert.equal(o.guildId, guild.id);
  assert.equal(o.channelId, '240000000000000001');
  assert.equal(o.adapterCreator, guild.voiceAdapterCreator);
  // undefined means the library default (DAVE on); false would turn end-to-end encryption off.
  assert.notEqual(o.daveEncryption, false);
});

test('voice debug events are asked for only when the logger would print them', () => {
  assert.equal(voiceJoinOptions(guild, '1', true).debug, true);
  assert.equal(voiceJoinOptions(guild, '1', false).debug, false);
});
