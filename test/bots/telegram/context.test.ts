/** Who counts as a group admin, against the fake Bot API server (getChatMember). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api } from 'grammy';
import type { Chat, User } from 'grammy/types';
import { commandContext } from '../../../src/bots/telegram/context.ts';
import { FakeTelegram } from '../../fakes/telegram/server.ts';

const TOKEN = '556:context-test-token';
const group: Chat = { id: -100777, type: 'supergroup', title: 'Team' };
// Telegram's stand-ins: anonymous group admins and posts sent on behalf of a channel.
const groupAnonymousBot: User = { id: 1087968824, is_bot: true, first_name: 'Group', username: 'GroupAnonymousBot' };
const channelBot: User = { id: 136817688, is_bot: true, first_name: 'Channel', username: 'Channel_Bot' };
const channel: Chat = { id: -100999, type: 'channel', title: 'Some channel' };
const clock = (): number => Date.now();

test('an anonymous admin (GroupAnonymousBot, sender_chat = the group) is an admin; a channel posting in the group is not', async (t) => {
  const tg = await new FakeTelegram({ token: TOKEN }).start();
  t.after(() => tg.close());
  const admin: User = { id: 5, is_bot: false, first_name: 'Ada' };
  tg.setAdmins(group.id, [admin]);
  const api = new Api(TOKEN, { apiRoot: tg.apiRoot });
  const anonymous = commandContext(api, group, groupAnonymousBot, clock, group);
  assert.equal(await anonymous.isAdmin(), true);
  assert.equal(anonymous.user.anonymous, true, 'a stand-in that cannot be written to');
  assert.equal(commandContext(api, group, admin, clock).user.anonymous, undefined);
  assert.equal(tg.callsOf('getChatMember').length, 0, 'no need to ask');
  assert.equal(await commandContext(api, group, channelBot, clock, channel).isAdmin(), false);
  assert.equal(await commandContext(api, group, { id: 6, is_bot: false, first_name: 'Bo' }, clock).isAdmin(), false);
  assert.equal(await commandContext(api, group, admin, clock).isAdmin(), true);
});
