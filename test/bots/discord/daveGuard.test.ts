/**
 * DaveGuard against a REAL @discordjs/voice DAVESession brought into the failing state offline: a
 * davey member (Alice) commits the bot into her group through Discord's external sender (ts-mls),
 * and the bot's DAVESession processes the Welcome with transition id 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import davey from '@snazzah/davey';
import { DAVESession } from '@discordjs/voice';
import { DaveGuard } from '../../../src/bots/discord/voice/daveGuard.ts';
import { createLogger } from '../../../src/util/log.ts';
import { ExternalSender, keyPackageOf, withTransition } from '../../fakes/discord/daveServer.ts';

const CHANNEL = '310000000000000002';
const BOT = '900000000000000001';
const ALICE = '210000000000000001';
const TOLERANCE = 3;
/** A small Opus packet (TOC byte + payload); what it decodes to does not matter here. */
const OPUS = Buffer.from([0xfc, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);

async function joinedWithTransition0(): Promise<{
  bot: DAVESession;
  alice: InstanceType<typeof davey.DAVESession>;
  events: { invalidated: number[]; keyPackages: number };
}> {
  const sender = await ExternalSender.create(CHANNEL);
  const alice = new davey.DAVESession(1, ALICE, CHANNEL);
  alice.setExternalSender(Buffer.from(sender.payload));
  alice.getSerializedKeyPackage();
  const bot = new DAVESession(1, BOT, CHANNEL, { decryptionFailureTolerance: TOLERANCE });
  const events = { invalidated: [] as number[], keyPackages: 0 };
  let keyPackage: Buffer | undefined;
  bot.on('keyPackage', (kp: Buffer) => {
    events.keyPackages++;
    keyPackage = kp;
  });
  bot.on('invalidateTransition', (id: number) => events.invalidated.push(id));
  bot.reinit();
  bot.setExternalSender(Buffer.from(sender.payload));
  const vector = await sender.proposals(alice.epoch ?? 0n, [{ proposalType: 'add', add: { keyPackage: keyPackageOf(keyPackage!) } }]);
  const { commit, welcome } = alice.processProposals(0, vector, [ALICE, BOT]);
  alice.processCommit(commit!);
  assert.deepEqual(bot.processWelcome(withTransition(0, welcome!)), { transitionId: 0, success: true });
  assert.equal(bot.lastTransitionId, 0);
  return { bot, alice, events };
}

function damaged(alice: InstanceType<typeof davey.DAVESession>): Buffer {
  const frame = alice.encryptOpus(OPUS);
  frame[0] = frame[0] ^ 0xff;
  return frame;
}

/** A logger that counts warnings. */
function countingLogger(): { logger: ReturnType<typeof createLogger>; warnings: () => number } {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (l: string) => void lines.push(l) } as unknown as NodeJS.WritableStream });
  return { logger, warnings: () => lines.filter((l) => JSON.parse(l).level === 40).length };
}

test('@discordjs/voice 0.19.2 still throws instead of recovering after a transition-0 Welcome (discordjs/discord.js#11445); remove DaveGuard’s recovery when this fails', async () => {
  const { bot, alice, events } = await joinedWithTransition0();
  assert.deepEqual(bot.decrypt(alice.encryptOpus(OPUS), ALICE), OPUS, 'a good frame decrypts');
  for (let k = 0; k < TOLERANCE; k++) assert.equal(bot.decrypt(damaged(alice), ALICE), null);
  assert.throws(() => bot.decrypt(damaged(alice), ALICE), /decrypt|Decryption/i);
  assert.deepEqual(events.invalidated, [], 'the library did not invalidate the transition');
});

test('DaveGuard: a stream killed in the stuck state invalidates transition 0 (op 31 and a fresh key package), once per cooldown, with one warning per incident', async () => {
  const { bot, alice, events } = await joinedWithTransition0();
  let now = 1_000_000;
  const { logger, warnings } = countingLogger();
  const guard = new DaveGuard({ current: () => bot, logger, clock: () => now, guildId: 'g', cooldownMs: 5_000 });
  for (let k = 0; k < TOLERANCE; k++) bot.decrypt(damaged(alice), ALICE);
  let error: unknown;
  try {
    bot.decrypt(damaged(alice), ALICE);
  } catch (e) {
    error = e;
  }
  assert.ok(error, 'the stuck state');
  assert.equal(guard.onReceiveError(ALICE, error), true, 'subscribe to the speaker again');
  assert.deepEqual(events.invalidated, [0], 'op 31 for transition 0');
  assert.equal(events.keyPackages, 2, 'a fresh key package for the voice server to re-add us');
  assert.equal(bot.reinitializing, true);
  // While the voice server re-adds us, nothing throws any more: failed frames are gaps.
  for (let k = 0; k < 3 * TOLERANCE; k++) assert.doesNotThrow(() => bot.decrypt(damaged(alice), ALICE));
  // More errors in the same incident: no second recovery, no second warning.
  now += 1_000;
  guard.onReceiveError(ALICE, error);
  guard.onReceiveError(ALICE, error);
  assert.equal(guard.recoveries, 1);
  assert.equal(guard.incidents, 1);
  assert.equal(warnings(), 1);
  // A later incident is warned about again; a transport (AES-GCM) failure is no reason to touch DAVE.
  now += 60_000;
  guard.onReceiveError(ALICE, new Error('Unsupported state or unable to authenticate data'));
  assert.equal(guard.incidents, 2);
  assert.equal(guard.recoveries, 1);
  assert.equal(warnings(), 2);
});

test('DaveGuard: after a transition, frames without the DAVE layer pass for a few seconds instead of failing', async () => {
  const withoutGuard = await joinedWithTransition0();
  assert.equal(withoutGuard.bot.decrypt(OPUS, ALICE), null, 'on its own the library counts a passthrough frame as a failure');
  const { bot, alice } = await joinedWithTransition0();
  const guard = new DaveGuard({ current: () => bot, logger: createLogger({ level: 'silent' }), clock: () => 0, guildId: 'g' });
  guard.onTransitioned();
  for (let k = 0; k < 5 * TOLERANCE; k++) assert.deepEqual(bot.decrypt(OPUS, ALICE), OPUS);
  assert.deepEqual(bot.decrypt(alice.encryptOpus(OPUS), ALICE), OPUS, 'encrypted frames still decrypt');
});

test('DaveGuard: a transport (AES-GCM) failure after a transition-0 Welcome resubscribes but leaves DAVE alone', async () => {
  const { bot, events } = await joinedWithTransition0();
  const guard = new DaveGuard({ current: () => bot, logger: createLogger({ level: 'silent' }), clock: () => 0, guildId: 'g' });
  assert.equal(guard.onReceiveError(ALICE, new Error('Unsupported state or unable to authenticate data')), true);
  assert.equal(guard.recoveries, 0);
  assert.deepEqual(events.invalidated, []);
  assert.equal(bot.reinitializing, false);
});
