/**
 * What the voice server does to a listening bot, through the REAL @discordjs/voice client and the
 * fake voice server: members already present are admitted at once; a voice-server crash (4015) is
 * resumed, a stale session (4006) rejoined, a new endpoint (VOICE_SERVER_UPDATE) followed, and the
 * speech after each is heard; a kick (4014) ends the session and says so; a moderator's server
 * deafen / mute is said in the channel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VoiceConnectionStatus, entersState } from '@discordjs/voice';
import { PERMISSIONS, type RecordedCall } from '../../fakes/discord/server.ts';
import { FakeVoiceServer, next } from '../../fakes/discord/voiceServer.ts';
import { loadSpeech, silencePackets, type SpeechClip } from './voiceHarness.ts';
import { ALICE, GUILD, STAGE, VOICE, rig, type Rig } from './voiceRig.ts';

const memberState = (userId: string, extra: Record<string, unknown> = {}) => ({
  guild_id: GUILD,
  channel_id: VOICE,
  user_id: userId,
  session_id: `s-${userId}`,
  deaf: false,
  mute: false,
  self_deaf: false,
  self_mute: false,
  self_video: false,
  suppress: false,
  request_to_speak_timestamp: null,
  ...extra,
});

/** An opt-out server with Alice in the voice channel and the bot listening there. */
async function listening(r: Rig): Promise<void> {
  await r.history.setChatSettings('discord', GUILD, { consentMode: 'opt_out' });
  r.fake.dispatch('VOICE_STATE_UPDATE', memberState(ALICE));
  const at = r.fake.calls.length;
  const listen = r.slash(ALICE, 'listen', [{ name: 'start', type: 1, options: [] }], PERMISSIONS.manageGuild);
  r.fake.dispatch('INTERACTION_CREATE', listen);
  await r.fake.waitForCall((c) => c.seq >= at && c.method === 'POST' && c.path === `/channels/${VOICE}/messages`);
}

/** Alice says her clip once (then a second of silence), and the bot has analysed it. */
async function aliceTalks(r: Rig, clip: SpeechClip): Promise<void> {
  await r.untilSubscribed([ALICE]);
  await r.voice.speak({ [ALICE]: [...clip.packets, ...silencePackets(1)] });
  await r.streamsEnded([ALICE]);
  await r.started.bot.listeners.get(GUILD)!.session.idle();
}

const heard = async (r: Rig): Promise<number> => (await r.history.listUser('discord', ALICE)).length;

test('a member already in the channel is subscribed as soon as the bot joins, before a word', async () => {
  const r = await rig();
  try {
    await r.history.setChatSettings('discord', GUILD, { consentMode: 'opt_out' });
    r.fake.dispatch('VOICE_STATE_UPDATE', memberState(ALICE));
    const subscribed = r.subscribedTo(ALICE);
    const listen = r.slash(ALICE, 'listen', [{ name: 'start', type: 1, options: [] }], PERMISSIONS.manageGuild);
    r.fake.dispatch('INTERACTION_CREATE', listen);
    await subscribed;
    // Then she talks on without a pause (no new 'speaking start'), and it is heard from the first word.
    const a = await loadSpeech('speaker-a.wav');
    await r.voice.speak({ [ALICE]: [...a.packets, ...silencePackets(1)] });
    await r.streamsEnded([ALICE]);
    await r.started.bot.listeners.get(GUILD)!.session.idle();
    const [entry] = await r.history.listUser('discord', ALICE);
    assert.ok(entry, 'Alice was heard');
    assert.ok(entry.durationS > a.durationS * 0.8, `most of her clip (${entry.durationS.toFixed(2)} s of ${a.durationS.toFixed(2)} s)`);
  } finally {
    await r.close();
  }
});

test('voice server crash (4015): the client resumes on the same session and the speech after it is heard', async () => {
  const r = await rig();
  try {
    await listening(r);
    const a = await loadSpeech('speaker-a.wav');
    await next(r.voice, 'heartbeat'); // heartbeats are sent and acknowledged
    await aliceTalks(r, a);
    assert.equal(await heard(r), 1);
    const session = r.started.bot.listeners.get(GUILD);

    const resumed = next(r.voice, 'resumed');
    r.voice.closeVoice(4015);
    await resumed;
    await aliceTalks(r, a);
    assert.equal(await heard(r), 2, 'heard after the resume');
    assert.equal(r.voice.identifies, 1, 'resumed, not identified again');
    assert.equal(r.voice.resumes, 1);
    assert.equal(r.fake.voiceStateRequests.length, 1, 'no rejoin through the main gateway');
    assert.equal(r.started.bot.listeners.get(GUILD), session, 'the same listening session');
  } finally {
    await r.close();
  }
});

test('session no longer valid (4006): the bot rejoins through the main gateway and hears again', async () => {
  const r = await rig();
  try {
    await listening(r);
    const a = await loadSpeech('speaker-a.wav');
    const before = r.voice.session!.sessionId;
    const identified = next(r.voice, 'sessionDescription');
    r.voice.closeVoice(4006);
    await identified;
    assert.equal(r.fake.voiceStateRequests.length, 2, 'a second op 4');
    assert.notEqual(r.voice.session!.sessionId, before, 'a new voice session');
    await aliceTalks(r, a);
    assert.equal(await heard(r), 1);
  } finally {
    await r.close();
  }
});

test('a VOICE_SERVER_UPDATE with a new endpoint moves the connection to that voice server', async () => {
  const r = await rig();
  const other = await new FakeVoiceServer().start();
  try {
    await listening(r);
    const a = await loadSpeech('speaker-a.wav');
    const ready = next(other, 'sessionDescription');
    r.voice.handOver(other);
    await ready;
    // Speech now comes from the new server.
    r.voice = other;
    await aliceTalks(r, a);
    assert.equal(await heard(r), 1);
    assert.equal(r.connection().state.status, VoiceConnectionStatus.Ready);
  } finally {
    await r.close();
    await other.close();
  }
});

test('moved by a moderator to another voice channel: the session follows it and hears the members there', async () => {
  const r = await rig();
  try {
    await listening(r);
    const listeningNow = r.started.bot.listeners.get(GUILD)!;
    const a = await loadSpeech('speaker-a.wav');
    r.fake.dispatch('VOICE_STATE_UPDATE', memberState(ALICE, { channel_id: STAGE }));
    const connected = next(r.voice, 'sessionDescription');
    r.voice.move(STAGE);
    await connected;
    await entersState(r.connection(), VoiceConnectionStatus.Ready, 20_000);
    assert.equal(listeningNow.scope.channelId, STAGE);
    assert.equal(listeningNow.scope.channelName, 'Stage');
    assert.equal(r.started.bot.listeners.get(GUILD), listeningNow, 'the same session');
    await aliceTalks(r, a);
    const [entry] = await r.history.listUser('discord', ALICE);
    assert.equal(entry?.chatId, STAGE, 'stored under the channel it was heard in');
  } finally {
    await r.close();
  }
});

test('kicked (4014, no channel on the main gateway): the session ends at once and says so', async () => {
  // A grace period far longer than the test's wait: only the close code and the cleared state stop it.
  const r = await rig({ reconnectGraceMs: 120_000 });
  try {
    await listening(r);
    const at = r.fake.calls.length;
    r.voice.kick();
    const said: RecordedCall = await r.fake.waitForCall((c) => c.seq >= at && c.method === 'POST' && /disconnected from/.test(c.body?.content ?? ''), 20_000);
    assert.match(said.body.content, /stopped listening/);
    assert.equal(r.started.bot.listeners.get(GUILD), undefined);
    assert.equal(r.voice.closes.at(-1), 4014);
  } finally {
    await r.close();
  }
});

test('a moderator server-deafens and mutes the bot: both are said in the channel', async () => {
  const r = await rig();
  try {
    await listening(r);
    const bot = r.fake.botUser.id;
    const session = r.voice.session!.sessionId;
    let at = r.fake.calls.length;
    r.fake.dispatch('VOICE_STATE_UPDATE', { ...memberState(bot, { session_id: session, self_mute: true }), deaf: true });
    const deaf = await r.fake.waitForCall((c) => c.seq >= at && c.method === 'POST' && c.path === `/channels/${VOICE}/messages`);
    assert.match(deaf.body.content, /deafened me in <#310000000000000002>: I hear nothing/);
    at = r.fake.calls.length;
    r.fake.dispatch('VOICE_STATE_UPDATE', { ...memberState(bot, { session_id: session, self_mute: true }), deaf: false, mute: true });
    const calls = [
      await r.fake.waitForCall((c) => c.seq >= at && c.method === 'POST' && /hear <#310000000000000002> again/.test(c.body?.content ?? '')),
      await r.fake.waitForCall((c) => c.seq >= at && c.method === 'POST' && /muted me/.test(c.body?.content ?? '')),
    ];
    assert.equal(calls.length, 2);
    assert.ok(r.started.bot.listeners.get(GUILD), 'still listening');
  } finally {
    await r.close();
  }
});
