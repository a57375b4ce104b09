/** Attachment URLs: Discord's CDN hosts only (https), others only when named in VOICEMOOD_DISCORD_CDN_HOSTS. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cdnHostsFromEnv, checkAttachmentUrl, DISCORD_CDN_HOSTS, downloadAttachment } from '../../../src/bots/discord/attachments.ts';
import { isVoicemoodError } from '../../../src/domain/errors.ts';

const refused = (e: unknown) => isVoicemoodError(e, 'bad_input') && /not on Discord’s file server/.test(e.message);

test('Discord’s CDN over https is allowed by default; anything else is refused', () => {
  for (const ok of ['https://cdn.discordapp.com/attachments/1/2/voice-message.ogg?ex=1&is=2&hm=3', 'https://media.discordapp.net/attachments/1/2/a.ogg'])
    checkAttachmentUrl(ok);
  for (const bad of [
    'http://cdn.discordapp.com/attachments/1/2/a.ogg', // not https
    'https://cdn.discordapp.com.evil.example/a.ogg',
    'https://evil.example/cdn.discordapp.com/a.ogg',
    'https://user:pw@cdn.discordapp.com/a.ogg',
    'https://cdn.discordapp.com:8443/a.ogg',
    'http://127.0.0.1:8080/a.ogg',
    'file:///etc/passwd',
    'not a url',
  ])
    assert.throws(() => checkAttachmentUrl(bad), refused, bad);
});

test('VOICEMOOD_DISCORD_CDN_HOSTS replaces the list; plain http is accepted only for loopback hosts in it', () => {
  assert.deepEqual(cdnHostsFromEnv({}), [...DISCORD_CDN_HOSTS]);
  const hosts = cdnHostsFromEnv({ VOICEMOOD_DISCORD_CDN_HOSTS: ' 127.0.0.1:4567 , Proxy.Example:8443 ' });
  assert.deepEqual(hosts, ['127.0.0.1:4567', 'proxy.example:8443']);
  checkAttachmentUrl('http://127.0.0.1:4567/attachments/a.ogg', hosts);
  checkAttachmentUrl('https://proxy.example:8443/a.ogg', hosts);
  assert.throws(() => checkAttachmentUrl('http://proxy.example:8443/a.ogg', hosts), refused, 'http to a non-loopback host');
  assert.throws(() => checkAttachmentUrl('http://127.0.0.1:4568/a.ogg', hosts), refused, 'another port');
  assert.throws(() => checkAttachmentUrl('https://cdn.discordapp.com/a.ogg', hosts), refused, 'the list replaces the default');
  for (const bad of ['https://cdn.example', 'cdn.example/path', 'a b']) {
    assert.throws(
      () => cdnHostsFromEnv({ VOICEMOOD_DISCORD_CDN_HOSTS: bad }),
      (e) => isVoicemoodError(e, 'bad_input') && /VOICEMOOD_DISCORD_CDN_HOSTS/.test(e.message),
      bad,
    );
  }
});

test('downloadAttachment refuses before any request', async () => {
  const realFetch = globalThis.fetch;
  let fetched = 0;
  globalThis.fetch = async () => {
    fetched++;
    throw new Error('no');
  };
  try {
    await assert.rejects(downloadAttachment({ name: 'a.ogg', url: 'https://evil.example/a.ogg', size: 10, contentType: 'audio/ogg' }), refused);
  } finally {
    globalThis.fetch = realFetch;
  }
  assert.equal(fetched, 0);
});
