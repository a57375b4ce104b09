/**
 * Crafted files must not make ffmpeg read anything but the bytes we were sent: an ID3-tagged
 * "MP3" whose body is an HLS playlist (absolute, file: and relative entries naming a real MP3),
 * and a self-referencing ffconcat list. Each is refused fast as undecodable, the named MP3 is
 * never decoded, and no message shows a path or stderr.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { decodeAudio } from '../../src/audio/decode.ts';
import { isVoicemoodError } from '../../src/domain/errors.ts';
import { fixture } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'vm-trust-'));
after(() => rmSync(dir, { recursive: true, force: true }));
/** A real MP3 (HLS takes .mp3 segments): if a crafted input decodes at all, ffmpeg read this file. */
const target = join(dir, 'target.mp3');
writeFileSync(target, fixture('speech.mp3'));

/** An ID3v2.3 tag with no frames, then `body`: detected as MP3 by its first bytes. */
function id3(body: string): Uint8Array {
  const text = new TextEncoder().encode(body);
  const out = new Uint8Array(10 + text.length);
  out.set([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 0]);
  out.set(text, 10);
  return out;
}

function hls(entry: string): Uint8Array {
  return id3(`#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:3.0,\n${entry}\n#EXT-X-ENDLIST\n`);
}

async function refused(bytes: Uint8Array, what: string): Promise<void> {
  const started = performance.now();
  const outcome = await decodeAudio(bytes, { filename: 'note.mp3' }).then(
    (d) => ({ ok: true as const, durationS: d.durationS }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  const ms = performance.now() - started;
  if (outcome.ok) assert.fail(`${what}: decoded ${outcome.durationS} s (ffmpeg read ${target}, a file on the server)`);
  const e = outcome.e;
  assert.ok(isVoicemoodError(e, 'undecodable'), `${what}: ${String(e)}`);
  assert.match(e.message, /^This looks like MP3, but /, what);
  for (const leak of [tmpdir(), '/tmp', dir, basename(dir), 'voicemood-', 'target.mp3', 'ffmpeg', 'Invalid data', 'Error', '[']) {
    assert.ok(!e.message.includes(leak), `${what}: the message shows ${JSON.stringify(leak)}: ${e.message}`);
  }
  assert.ok(ms < 10_000, `${what}: took ${ms} ms`);
}

test('an ID3-tagged HLS playlist naming a server file by absolute path is refused, the file is not read', async () => {
  await refused(hls(target), 'absolute entry');
});

test('an ID3-tagged HLS playlist with a file: entry is refused, the file is not read', async () => {
  await refused(hls(`file:${target}`), 'file: entry');
});

test('an ID3-tagged HLS playlist with a relative entry reaching a server file is refused, the file is not read', async () => {
  // The input sits in a fresh folder of the temp dir: "../<our folder>/target.wav" reaches the file.
  await refused(hls(`../${basename(dir)}/target.mp3`), 'relative entry');
});

test('a self-referencing ffconcat list behind an ID3 tag is refused fast (no recursion, no fd exhaustion)', async () => {
  await refused(id3('ffconcat version 1.0\nfile input\nfile input\n'), 'ffconcat');
});

test('ffmpeg failures keep their stderr out of the sentence and hand it to the logger', async () => {
  const logged: object[] = [];
  const bytes = id3(`${'\u0001'.repeat(64)}not audio at all`);
  await assert.rejects(
    decodeAudio(bytes, { logger: { warn: (obj) => void logged.push(obj) } }),
    (e) => isVoicemoodError(e, 'undecodable') && !/\/tmp|voicemood-/.test(e.message),
  );
  assert.equal(logged.length, 1);
  const stderr = (logged[0] as { ffmpegStderr?: unknown }).ffmpegStderr;
  assert.equal(typeof stderr, 'string');
  assert.ok(!String(stderr).includes(tmpdir() + '/voicemood-'), `stderr keeps the temp path: ${String(stderr)}`);
});

test('every container we hand to ffmpeg still decodes with its explicit demuxer', async () => {
  const { execFileSync } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  const made: [string, string[], string][] = [
    ['aiff', ['-c:a', 'pcm_s16be'], 'tone.aiff'],
    ['caf', ['-c:a', 'alac'], 'tone.caf'],
    ['aac', ['-c:a', 'aac', '-f', 'adts'], 'tone.aac'],
    ['m4a', ['-c:a', 'aac', '-f', 'ipod'], 'tone.m4a'],
    ['flac', ['-c:a', 'flac'], 'tone.flac'],
    ['ogg/vorbis', ['-c:a', 'libvorbis'], 'tone.ogg'],
    ['webm', ['-c:a', 'libopus'], 'tone.webm'],
    ['mp3', ['-c:a', 'libmp3lame'], 'tone.mp3'],
  ];
  for (const [format, codec, name] of made) {
    const file = join(dir, name);
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=44100:duration=1.5',
      ...codec,
      file,
    ]);
    const d = await decodeAudio(new Uint8Array(readFileSync(file)));
    assert.equal(d.format, format, name);
    assert.ok(Math.abs(d.durationS - 1.5) < 0.1, `${name}: ${d.durationS} s`);
  }
});
