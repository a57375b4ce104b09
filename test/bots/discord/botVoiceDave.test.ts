/**
 * DAVE (end-to-end encrypted voice) through the REAL @discordjs/voice client: the fake voice
 * server offers dave_protocol_version 1, plays Discord's MLS external sender with ts-mls, and each
 * speaking member is a real @snazzah/davey session (see test/fakes/discord/daveServer.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VoiceConnection } from '@discordjs/voice';
import { PERMISSIONS } from '../../fakes/discord/server.ts';
import { FakeDave } from '../../fakes/discord/daveServer.ts';
import { loadSpeech, silencePackets } from './voiceHarness.ts';
import { createLogger } from '../../../src/util/log.ts';
import { ALICE, BOB, GUILD, VOICE, rig, type Rig } from './voiceRig.ts';

const memberState = (userId: string) => ({
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

/** The library's DAVE session wrapper of the live connection (internal state, read for assertions). */
interface LibDave {
  session?: {
    ready: boolean;
    getDecryptionStats(userId: string): { successes: number; failures: number; passthroughs: number } | null;
    getUserIds(): string[];
  };
  pendingTransitions: Map<number, number>;
  lastTransitionId?: number;
}
export function libDave(connection: VoiceConnection): LibDave | undefined {
  const state = connection.state as { networking?: { state: { dave?: LibDave } } };
  return state.networking?.state.dave;
}

/** Resolves once the bot's DAVE session is ready with no transition pending (event-driven: 'transitioned'). */
export async function daveActive(r: Rig, timeoutMs = 20_000): Promise<void> {
  const done = (): boolean => {
    const d = libDave(r.connection());
    return Boolean(d?.session?.ready && d.pendingTransitions.size === 0);
  };
  if (done()) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the bot did not complete a DAVE transition')), timeoutMs);
    const on = (): void => {
      if (!done()) return;
      clearTimeout(timer);
      r.connection().off('transitioned', on);
      resolve();
    };
    r.connection().on('transitioned', on);
  });
}

/** An opt-out server, DAVE on, the given members in the channel and the MLS group, the bot listening and in the group. */
export async function daveListening(
  o: { members: string[]; firstWelcome?: number; tolerance?: number } & Parameters<typeof rig>[0],
): Promise<{ r: Rig; dave: FakeDave }> {
  let dave: FakeDave | undefined;
  const r = await rig({
    ...o,
    voice: async (voice, gateway) => {
      dave = await FakeDave.attach(voice, VOICE, gateway.botUser.id);
      if (o.firstWelcome !== undefined) dave.firstWelcomeTransitionId = o.firstWelcome;
      for (const m of o.members) await dave.addMember(m);
    },
  });
  await r.history.setChatSettings('discord', GUILD, { consentMode: 'opt_out' });
  for (const m of o.members) r.fake.dispatch('VOICE_STATE_UPDATE', memberState(m));
  const welcomed = dave!.nextTransition('welcome');
  const at = r.fake.calls.length;
  r.fake.dispatch('INTERACTION_CREATE', r.slash(ALICE, 'listen', [{ name: 'start', type: 1, options: [] }], PERMISSIONS.manageGuild));
  await r.fake.waitForCall((c) => c.seq >= at && c.method === 'POST' && c.path === `/channels/${VOICE}/messages`);
  await welcomed;
  await daveActive(r);
  return { r, dave: dave! };
}

test('DAVE: two members’ end-to-end encrypted speech is decrypted by the real client and summarised by /mood', async () => {
  const { r, dave } = await daveListening({ members: [ALICE, BOB] });
  try {
    assert.equal(r.voice.received.find((m) => m.op === 0)?.d?.max_dave_protocol_version, 1, 'the bot offered DAVE');
    assert.equal(dave.fromBot.keyPackages, 1);
    assert.deepEqual(libDave(r.connection())!.session!.getUserIds().sort(), [ALICE, BOB, r.fake.botUser.id].sort());
    const [a, b] = await Promise.all([loadSpeech('speaker-a.wav'), loadSpeech('speaker-b.wav')]);
    await r.untilSubscribed([ALICE, BOB]);
    await r.voice.speak({ [ALICE]: [...a.packets, ...silencePackets(1)], [BOB]: [...silencePackets(0.5), ...b.packets, ...silencePackets(1)] });
    await r.streamsEnded([ALICE, BOB]);
    const listening = r.started.bot.listeners.get(GUILD)!;
    await listening.session.idle();
    // Every frame went through davey's decryptor: none passed through unencrypted.
    const stats = libDave(r.connection())!.session!.getDecryptionStats(ALICE)!;
    assert.ok(stats.successes >= a.packets.length, `decrypted ${stats.successes} frames`);
    assert.equal(stats.passthroughs, 0);

    r.advance(30_000); // the test's clock stands still while packets flow
    const at = r.fake.calls.length;
    const mood = r.slash(BOB, 'mood');
    r.fake.dispatch('INTERACTION_CREATE', mood);
    const summary = await r.original(mood, at);
    assert.match(summary.body.embeds[0].description, /Alice\s+1 note/);
    assert.match(summary.body.embeds[0].description, /Bob\s+1 note/);
  } finally {
    await r.close();
  }
});

test('DAVE: a member joining mid-session (commit with a non-zero transition, ready, execute) and one leaving are both followed', async () => {
  const { r, dave } = await daveListening({ members: [ALICE] });
  try {
    const a = await loadSpeech('speaker-a.wav');
    const b = await loadSpeech('speaker-b.wav');
    // Bob joins: op 11, external Add proposals (op 27) to the group, the commit announced (op 29)
    // with transition id ≠ 0; the bot says ready (op 23) and the server executes it (op 22).
    const committed = dave.nextTransition('commit');
    r.fake.dispatch('VOICE_STATE_UPDATE', memberState(BOB));
    await dave.addMember(BOB);
    const transitionId = await committed;
    assert.notEqual(transitionId, 0);
    await dave.botReady(transitionId);
    await daveActive(r);
    assert.equal(libDave(r.connection())!.lastTransitionId, transitionId);
    await r.untilSubscribed([ALICE, BOB]);
    await r.voice.speak({ [BOB]: [...b.packets, ...silencePackets(1)], [ALICE]: [...silencePackets(0.5), ...a.packets, ...silencePackets(1)] });
    await r.streamsEnded([ALICE, BOB]);
    await r.started.bot.listeners.get(GUILD)!.session.idle();
    assert.equal((await r.history.listUser('discord', BOB)).length, 1, 'Bob, who joined mid-session, is heard');
    assert.equal((await r.history.listUser('discord', ALICE)).length, 1);

    // Bob leaves: external Remove, a new epoch; Alice is still heard after it.
    const removed = dave.nextTransition('commit');
    await dave.removeMember(BOB);
    const leaveTransition = await removed;
    await dave.botReady(leaveTransition);
    await daveActive(r);
    assert.deepEqual(libDave(r.connection())!.session!.getUserIds().sort(), [ALICE, r.fake.botUser.id].sort());
    await r.untilSubscribed([ALICE]);
    await r.voice.speak({ [ALICE]: [...a.packets, ...silencePackets(1)] });
    await r.streamsEnded([ALICE]);
    await r.started.bot.listeners.get(GUILD)!.session.idle();
    assert.equal((await r.history.listUser('discord', ALICE)).length, 2, 'Alice heard after the epoch change');
    assert.deepEqual(dave.fromBot.invalid, [], 'no commit or welcome was refused');
  } finally {
    await r.close();
  }
});

/** A logger for the bot that keeps its lines (warnings are counted). */
function keptLogger(): { logger: ReturnType<typeof createLogger>; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (l: string) => void lines.push(JSON.parse(l)) } as unknown as NodeJS.WritableStream });
  return { logger, lines };
}

test('DAVE: a passthrough burst (1.5 s without the DAVE layer) right after a transition-0 Welcome does not cost the speech after it', async () => {
  const a = await loadSpeech('speaker-a.wav');
  const { logger, lines } = keptLogger();
  const { r, dave } = await daveListening({ members: [ALICE], logger });
  try {
    assert.equal(dave.transitions[0]?.transitionId, 0, 'the bot joined with a transition-0 Welcome');
    await r.untilSubscribed([ALICE]);
    const burst = silencePackets(1.5);
    dave.sendRaw(ALICE, burst.length);
    await r.voice.speak({ [ALICE]: [...burst, ...a.packets, ...silencePackets(1)] });
    await r.streamsEnded([ALICE]);
    await r.started.bot.listeners.get(GUILD)!.session.idle();
    const [entry] = await r.history.listUser('discord', ALICE);
    assert.ok(entry, 'the speech after the burst is heard');
    assert.ok(entry.durationS > a.durationS * 0.8, `most of it (${entry.durationS.toFixed(2)} s of ${a.durationS.toFixed(2)} s)`);
    assert.ok(lines.filter((l) => l.level === 40).length <= 1, 'at most one warning');
  } finally {
    await r.close();
  }
});

test('DAVE: undecryptable frames past the failure tolerance after a transition-0 Welcome are recovered from (op 31, re-added), with one warning', async () => {
  const a = await loadSpeech('speaker-a.wav');
  const { logger, lines } = keptLogger();
  const { r, dave } = await daveListening({ members: [ALICE], logger });
  try {
    await r.untilSubscribed([ALICE]);
    // More damaged frames than decryptionFailureTolerance (48): 0.19.2 would throw on the 49th.
    const readded = dave.nextTransition('welcome');
    const damaged = silencePackets(1.4);
    dave.sendCorrupt(ALICE, damaged.length);
    await r.voice.speak({ [ALICE]: damaged });
    const transitionId = await readded;
    assert.notEqual(transitionId, 0);
    await dave.botReady(transitionId);
    await daveActive(r);
    assert.deepEqual(dave.fromBot.invalid, [0], 'the bot invalidated transition 0');
    assert.equal(dave.fromBot.keyPackages, 2, 'and sent a fresh key package');
    await r.untilSubscribed([ALICE]);
    await r.voice.speak({ [ALICE]: [...a.packets, ...silencePackets(1)] });
    await r.streamsEnded([ALICE]);
    await r.started.bot.listeners.get(GUILD)!.session.idle();
    assert.equal((await r.history.listUser('discord', ALICE)).length, 1, 'heard after the recovery');
    const warnings = lines.filter((l) => l.level === 40);
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
  } finally {
    await r.close();
  }
});
