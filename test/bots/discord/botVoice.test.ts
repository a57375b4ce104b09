/**
 * Voice channels end to end: the real discord.js client against the fake gateway + REST, and the
 * REAL @discordjs/voice client (joinVoiceChannel through our default Connector) against the fake
 * voice server (TLS voice gateway v8, UDP IP discovery, AES-256-GCM RTP): Opus packets of two
 * espeak-ng speakers (and one opted-out member), the tiny model and a real history store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PERMISSIONS, nextSnowflake, type RecordedCall } from '../../fakes/discord/server.ts';
import { loadSpeech, silencePackets } from './voiceHarness.ts';
import { EMOTIONS, namedScores, topEmotion } from '../../../src/domain/emotions.ts';
import type { EmotionResult, EmotionEngine } from '../../../src/inference/types.ts';
import { BUTTON } from '../../../src/bots/discord/render.ts';
import { t } from '../../../src/render/i18n.ts';
import { ALICE, BOB, CAROL, GUILD, LOG, OTHER_GUILD, OTHER_TEXT, VOICE, rig } from './voiceRig.ts';

test('listening in a voice channel: announcement, consent, per-speaker utterances in history, /mood summary with chart, /listen stop', async () => {
  const r = await rig();
  const { fake, voice, history, connects, subscribeCalls, decoded, started, slash, callback, original, advance } = r;
  try {
    // Consent: the server is opt-in (default). Alice and Bob opt in, Carol opts out.
    for (const [who, choice] of [
      [ALICE, 'in'],
      [BOB, 'in'],
      [CAROL, 'out'],
    ] as const) {
      const at = fake.calls.length;
      const i = slash(who, 'privacy', [{ name: 'choice', type: 3, value: choice }]);
      fake.dispatch('INTERACTION_CREATE', i);
      assert.equal((await callback(i, at)).body.data.flags, 64);
      await original(i, at); // the answer, after the choice is stored
    }
    // In a server the choice is that server's own.
    assert.equal((await history.getUserSettings('discord', CAROL)).privacyByGuild?.[GUILD], 'out');

    for (const userId of [ALICE, BOB, CAROL]) {
      fake.dispatch('VOICE_STATE_UPDATE', {
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
      });
    }

    // A member without Manage Server cannot start continuous listening.
    let at = fake.calls.length;
    const refused = slash(BOB, 'listen', [{ name: 'start', type: 1, options: [] }]);
    fake.dispatch('INTERACTION_CREATE', refused);
    assert.equal((await callback(refused, at)).body.data.flags, 64);
    assert.deepEqual(connects, []);

    at = fake.calls.length;
    const listen = slash(ALICE, 'listen', [{ name: 'start', type: 1, options: [] }], PERMISSIONS.manageGuild);
    fake.dispatch('INTERACTION_CREATE', listen);
    const announced = await fake.waitForCall((c) => c.seq >= at && c.method === 'POST' && c.path === `/channels/${VOICE}/messages`);
    assert.match(announced.body.content, /listening in <#310000000000000002>/);
    assert.match(announced.body.content, /No audio is recorded or stored/);
    assert.match(announced.body.content, /opted in/);
    assert.match((await original(listen, at)).body.content, /Listening in/);
    assert.deepEqual(connects, [`${GUILD}/${VOICE}`]);

    // The bot joined through the real client: voice gateway over TLS, UDP discovery, heartbeats.
    assert.equal(voice.session?.channelId, VOICE);
    assert.deepEqual(voice.received.find((m) => m.op === 1)?.d?.data?.mode, 'aead_aes256_gcm_rtpsize');

    // Two speakers interleaved with silences, and Carol talking all along.
    const [a, b] = await Promise.all([loadSpeech('speaker-a.wav'), loadSpeech('speaker-b.wav')]);
    await r.untilSubscribed([ALICE, BOB], [CAROL]);
    const trackA = [...a.packets, ...silencePackets(3), ...a.packets, ...silencePackets(1)];
    const trackB = [...silencePackets(1.5), ...b.packets, ...silencePackets(2), ...b.packets, ...silencePackets(1)];
    const trackC = Array.from({ length: Math.max(trackA.length, trackB.length) }, (_, k) => a.packets[k % a.packets.length]);
    await voice.speak({ [ALICE]: trackA, [BOB]: trackB, [CAROL]: trackC });
    await r.streamsEnded([ALICE, BOB]);
    const listening = started.bot.listeners.get(GUILD)!;
    await listening.session.idle();
    advance(30_000);

    const entries = await history.listChat('discord', VOICE);
    assert.deepEqual(entries.map((e) => e.userId).sort(), [ALICE, ALICE, BOB, BOB], 'two utterances each for Alice and Bob, stored as voice-channel entries');
    assert.ok(entries.every((e) => e.source === 'voice_channel' && e.guildId === GUILD));

    // /mood while listening: the summary of the last 5 minutes, each speaker, and the chart.
    at = fake.calls.length;
    const mood = slash(BOB, 'mood');
    fake.dispatch('INTERACTION_CREATE', mood);
    const summary = await original(mood, at);
    const embed = summary.body.embeds[0];
    assert.equal(embed.title, 'Mood of Lounge, last 5 min');
    assert.match(embed.description, /Alice\s+2 notes/);
    assert.match(embed.description, /Bob\s+2 notes/);
    assert.equal(embed.image.url, 'attachment://mood.png');
    assert.equal(summary.files[0]?.filename, 'mood.png');

    // Carol: never subscribed (the receiver drops her packets before decryption), never decoded,
    // nothing stored, not in the summary.
    assert.ok(!subscribeCalls.includes(CAROL));
    assert.equal(voice.identifies, 1);
    assert.ok(!decoded.includes(CAROL));
    assert.equal(listening.session.mood.has(CAROL), false);
    assert.equal((await history.listUser('discord', CAROL)).length, 0);
    assert.doesNotMatch(embed.description, /Carol/);

    at = fake.calls.length;
    const stop = slash(ALICE, 'listen', [{ name: 'stop', type: 1, options: [] }], PERMISSIONS.manageGuild);
    fake.dispatch('INTERACTION_CREATE', stop);
    await callback(stop, at);
    const bye = await fake.waitForCall((c: RecordedCall) => c.seq >= at && c.method === 'POST' && c.path === `/channels/${VOICE}/messages`);
    assert.match(bye.body.content, /stopped listening/);
    assert.equal(started.bot.listeners.get(GUILD), undefined);
  } finally {
    await r.close();
  }
});

test('consent is per server: /privacy in given on another server does not let this server listen to that member', async () => {
  const r = await rig({ otherGuild: true });
  const { fake, voice, history, subscribeCalls, decoded, started, slash, callback, original } = r;
  try {
    // Alice consents on the other server only; Bob on this one.
    let at = fake.calls.length;
    const elsewhere = fake.interaction(
      OTHER_GUILD,
      OTHER_TEXT,
      ALICE,
      2,
      { id: nextSnowflake(), name: 'privacy', type: 1, options: [{ name: 'choice', type: 3, value: 'in' }] },
      { permissions: PERMISSIONS.member },
    );
    fake.dispatch('INTERACTION_CREATE', elsewhere);
    assert.match((await original(elsewhere, at)).body.content, /in the server Other Guild/);
    at = fake.calls.length;
    const here = slash(BOB, 'privacy', [{ name: 'choice', type: 3, value: 'in' }]);
    fake.dispatch('INTERACTION_CREATE', here);
    assert.match((await original(here, at)).body.content, /in the server Voice Guild/);
    assert.deepEqual((await history.getUserSettings('discord', ALICE)).privacyByGuild, { [OTHER_GUILD]: 'in' });

    for (const userId of [ALICE, BOB]) {
      fake.dispatch('VOICE_STATE_UPDATE', {
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
      });
    }
    at = fake.calls.length;
    const listen = slash(ALICE, 'listen', [{ name: 'start', type: 1, options: [] }], PERMISSIONS.manageGuild);
    fake.dispatch('INTERACTION_CREATE', listen);
    await callback(listen, at);
    assert.match((await original(listen, at)).body.content, /Listening in/);

    // Both talk from the start; only Bob is subscribed.
    const a = await loadSpeech('speaker-a.wav');
    await r.untilSubscribed([BOB], [ALICE]);
    const aliceQuiet = new Promise((res) => r.connection().receiver.speaking.on('end', (id: string) => id === ALICE && res(undefined)));
    await voice.speak({ [BOB]: [...a.packets, ...silencePackets(0.5)], [ALICE]: a.packets });
    await r.streamsEnded([BOB]);
    await started.bot.listeners.get(GUILD)!.session.idle();
    assert.ok(!subscribeCalls.includes(ALICE), 'Alice’s packets were dropped unread');
    assert.ok(!decoded.includes(ALICE));
    assert.equal((await history.listUser('discord', ALICE)).length, 0);
    assert.ok((await history.listUser('discord', BOB)).length > 0, 'Bob, who consented here, is analysed');

    // Once Alice consents on this server too, the next time she speaks she is listened to.
    at = fake.calls.length;
    const now = slash(ALICE, 'privacy', [{ name: 'choice', type: 3, value: 'in' }]);
    fake.dispatch('INTERACTION_CREATE', now);
    await original(now, at);
    await aliceQuiet;
    await r.untilSubscribed([ALICE]);
    assert.ok(subscribeCalls.includes(ALICE));
  } finally {
    await r.close();
  }
});

/**
 * For the alert logic only (allowed by the issue): a fake engine that calls every utterance longer
 * than 2.6 s angry and the rest neutral. Bob's fixture is 2.8 s long, Alice's 2.4 s, so after the
 * real receive path (Opus → PCM → 16 kHz → VAD) Bob sounds angry and Alice does not.
 */
function angryWhenLong(): EmotionEngine & { calls: number } {
  const engine = {
    calls: 0,
    model: { id: 'fake (fp32)' } as EmotionEngine['model'],
    load: () => ({ inFlight: 0, queued: 0, capacity: 64 }),
    close: async () => undefined,
    async analyze(samples: Float32Array): Promise<EmotionResult> {
      engine.calls++;
      const durationS = samples.length / 16000;
      const top = durationS > 2.6 ? 'angry' : 'neutral';
      const scores = namedScores(EMOTIONS.map((e) => (e === top ? 0.6 : 0.05)));
      return { ...topEmotion(scores), scores, logits: [], embedding: new Float32Array(4), durationS, model: 'fake' };
    },
  };
  return engine;
}

test('a heated speaker triggers one alert in the log channel (cooldown holds the next), with Acknowledge for admins only', async () => {
  const engine = angryWhenLong();
  const r = await rig({ engine });
  const { fake, voice, slash, callback, original, advance } = r;
  try {
    const admin = PERMISSIONS.manageGuild;
    for (const [name, value] of [
      ['consent', 'opt_out'],
      ['heated_min_speech', '2'],
      ['logchannel', LOG],
    ]) {
      const at = fake.calls.length;
      const i = slash(
        ALICE,
        'settings',
        [
          { name: 'name', type: 3, value: name },
          { name: 'value', type: 3, value },
        ],
        admin,
      );
      fake.dispatch('INTERACTION_CREATE', i);
      assert.match((await original(i, at)).body.content, /Saved/);
    }
    for (const userId of [ALICE, BOB]) {
      fake.dispatch('VOICE_STATE_UPDATE', {
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
      });
    }
    let at = fake.calls.length;
    const listen = slash(ALICE, 'listen', [{ name: 'start', type: 1, options: [] }], admin);
    fake.dispatch('INTERACTION_CREATE', listen);
    const announced = await fake.waitForCall((c) => c.seq >= at && c.method === 'POST' && c.path === `/channels/${VOICE}/messages`);
    assert.match(announced.body.content, /privacy out/, 'opt-out servers are told how to opt out');

    const [a, b] = await Promise.all([loadSpeech('speaker-a.wav'), loadSpeech('speaker-b.wav')]);
    const talk = async () => {
      await r.untilSubscribed([ALICE, BOB]);
      const trackA = [...a.packets, ...silencePackets(1)];
      const trackB = [...silencePackets(0.5), ...b.packets, ...silencePackets(1)];
      await voice.speak({ [ALICE]: trackA, [BOB]: trackB });
      await r.streamsEnded([ALICE, BOB]);
      await r.started.bot.listeners.get(GUILD)!.session.idle();
    };

    at = fake.calls.length;
    await talk();
    const alert = await fake.waitForCall((c) => c.seq >= at && c.method === 'POST' && c.path === `/channels/${LOG}/messages`);
    const embed = alert.body.embeds[0];
    assert.equal(embed.title, t('en').alertTitleHeated('Bob'));
    assert.match(embed.description, /<@210000000000000002>/);
    assert.doesNotMatch(embed.description, /<@210000000000000001>/, 'Alice is not heated');
    assert.deepEqual(
      embed.fields.map((f: { name: string }) => f.name),
      ['Channel', 'Window', 'Trend', 'Scores'],
    );
    assert.equal(embed.fields[0].value, `<#${VOICE}>`);
    assert.equal(embed.fields[1].value, '120 s');
    assert.match(embed.fields[3].value, /😠 60%/);
    const [ack, snooze] = alert.body.components[0].components;
    assert.ok(ack.custom_id.startsWith(BUTTON.ack) && snooze.custom_id.startsWith(BUTTON.snooze));
    assert.equal(alert.files.length, 0, 'never audio');

    // Bob keeps shouting a minute later: the cooldown holds a second alert back.
    advance(60_000);
    const mark = fake.calls.length;
    await talk();
    assert.equal(engine.calls, 4);
    assert.equal(fake.calls.filter((c) => c.seq >= at && c.path === `/channels/${LOG}/messages`).length, 1);

    // Acknowledge: refused to a member without Manage Server, done for an admin.
    const message = fake.message(GUILD, LOG, fake.botUser.id, { embeds: alert.body.embeds, components: alert.body.components });
    const click = (userId: string, permissions: string) =>
      fake.interaction(GUILD, LOG, userId, 3, { custom_id: ack.custom_id, component_type: 2 }, { permissions, message });
    const denied = click(BOB, PERMISSIONS.member);
    fake.dispatch('INTERACTION_CREATE', denied);
    const no = await callback(denied, mark);
    assert.equal(no.body.type, 4);
    assert.equal(no.body.data.flags, 64);
    const ok = click(ALICE, admin);
    fake.dispatch('INTERACTION_CREATE', ok);
    const yes = await callback(ok, mark);
    assert.equal(yes.body.type, 7);
    assert.equal(yes.body.data.embeds[0].footer.text, 'Acknowledged by Alice.');
    assert.deepEqual(yes.body.data.components, []);
    // A stale Snooze (the alert was handled) answers with a sentence, privately.
    const stale = fake.interaction(GUILD, LOG, ALICE, 3, { custom_id: snooze.custom_id, component_type: 2 }, { permissions: admin, message });
    fake.dispatch('INTERACTION_CREATE', stale);
    const gone = await callback(stale, mark);
    assert.equal(gone.body.data.content, 'This alert is no longer active.');
    assert.equal(gone.body.data.flags, 64);
  } finally {
    await r.close();
  }
});

test('/mood outside a listening session joins, listens for the duration, posts the summary and leaves', async () => {
  // 5 "seconds" of listening last 5 × 1000 ms here (real time: the voice connection is real).
  const r = await rig({ msPerListenSecond: 1000 });
  const { fake, voice, history, connects, slash, callback, advance } = r;
  try {
    await history.setChatSettings('discord', GUILD, { consentMode: 'opt_out' });
    fake.dispatch('VOICE_STATE_UPDATE', {
      guild_id: GUILD,
      channel_id: VOICE,
      user_id: BOB,
      session_id: 's-bob',
      deaf: false,
      mute: false,
      self_deaf: false,
      self_mute: false,
      self_video: false,
      suppress: false,
      request_to_speak_timestamp: null,
    });
    const at = fake.calls.length;
    const mood = slash(BOB, 'mood', [{ name: 'duration', type: 4, value: 5 }]);
    fake.dispatch('INTERACTION_CREATE', mood);
    assert.equal((await callback(mood, at)).body.type, 5);
    const announced = await fake.waitForCall((c) => c.seq >= at && c.method === 'POST' && c.path === `/channels/${VOICE}/messages`);
    assert.match(announced.body.content, /for 5 s/);
    assert.deepEqual(connects, [`${GUILD}/${VOICE}`]);

    const b = await loadSpeech('speaker-b.wav');
    await r.untilSubscribed([BOB]);
    await voice.speak({ [BOB]: [...b.packets, ...silencePackets(1)] });
    advance(10_000);

    const summary = await fake.waitForCall((c) => c.seq >= at && c.method === 'POST' && c.path === `/webhooks/${fake.applicationId}/${mood.token}`);
    const embed = summary.body.embeds[0];
    assert.match(embed.title, /^Mood of Lounge, last /);
    assert.match(embed.description, /Bob\s+1 note/);
    assert.equal(summary.files[0]?.filename, 'mood.png');
    const bye = await fake.waitForCall(
      (c) => c.seq >= at && c.method === 'POST' && c.path === `/channels/${VOICE}/messages` && /stopped listening/.test(c.body.content),
    );
    assert.ok(bye.seq < summary.seq, 'it leaves, then posts the summary');
    assert.equal(r.started.bot.listeners.get(GUILD), undefined);
  } finally {
    await r.close();
  }
});

test('shutdown during a /mood listening period does not wait for the period to end (up to 300 s)', { timeout: 30_000 }, async () => {
  const r = await rig(); // real seconds: 300 s of listening unless shutdown cuts it short
  const { fake, slash, callback } = r;
  let closed = false;
  try {
    fake.dispatch('VOICE_STATE_UPDATE', {
      guild_id: GUILD,
      channel_id: VOICE,
      user_id: BOB,
      session_id: 's-bob',
      deaf: false,
      mute: false,
      self_deaf: false,
      self_mute: false,
      self_video: false,
      suppress: false,
      request_to_speak_timestamp: null,
    });
    const at = fake.calls.length;
    const mood = slash(BOB, 'mood', [{ name: 'duration', type: 4, value: 300 }]);
    fake.dispatch('INTERACTION_CREATE', mood);
    assert.equal((await callback(mood, at)).body.type, 5);
    await fake.waitForCall((c) => c.seq >= at && c.method === 'PATCH' && c.path === `/webhooks/${fake.applicationId}/${mood.token}/messages/@original`);
    await r.close();
    closed = true;
    assert.ok(
      !fake.calls.some((c) => c.seq >= at && c.method === 'POST' && c.path === `/webhooks/${fake.applicationId}/${mood.token}`),
      'no summary after shutdown',
    );
  } finally {
    if (!closed) await r.close();
  }
});

test('a voice channel the bot may not join (no Connect) gets an answer at once, without a join attempt', async () => {
  const r = await rig({ voiceDenied: true });
  const { fake, connects, slash, callback } = r;
  try {
    fake.dispatch('VOICE_STATE_UPDATE', {
      guild_id: GUILD,
      channel_id: VOICE,
      user_id: ALICE,
      session_id: 's-alice',
      deaf: false,
      mute: false,
      self_deaf: false,
      self_mute: false,
      self_video: false,
      suppress: false,
      request_to_speak_timestamp: null,
    });
    for (const [name, options, permissions] of [
      ['listen', [{ name: 'start', type: 1, options: [] }], PERMISSIONS.manageGuild],
      ['mood', [], PERMISSIONS.member],
    ] as const) {
      const at = fake.calls.length;
      const i = slash(ALICE, name, [...options], permissions);
      fake.dispatch('INTERACTION_CREATE', i);
      const answer = await callback(i, at);
      assert.equal(answer.body.type, 4, name);
      assert.equal(answer.body.data.flags, 64, name);
      assert.match(answer.body.data.content, /Connect permission/, name);
    }
    assert.deepEqual(connects, []);
  } finally {
    await r.close();
  }
});
