/**
 * Everything that is not WAV or OGG/Opus goes through ffmpeg: `ffmpeg-static` when that optional
 * dependency is installed, else `ffmpeg` on PATH. ffmpeg writes float WAV to a pipe, which we
 * down-mix and resample as it arrives; it is killed on timeout, on abort, or as soon as the
 * audio passes the duration bound.
 *
 * ffmpeg gets only what it needs: the demuxer is the one our own detection chose (`-f`, and
 * `-format_whitelist` with that one name: no probing, so no HLS playlist or concat list hidden
 * behind an ID3 tag), and only the `file` protocol, for the one temp file. Its stderr is never
 * part of a sentence for users: it goes in the error's details (`ffmpegStderr`, temp path
 * replaced), for logs.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, sep } from 'node:path';
import { VoicemoodError, isVoicemoodError } from '../domain/errors.ts';
import type { Deadline } from './deadline.ts';
import { MonoResampler } from './resample.ts';
import type { AudioLimits, DecodedAudio } from './types.ts';
import { type WavHeader, parseWavHeader, samplesToFloat } from './wav.ts';

const STDERR_KEEP = 4096;

let ffmpegPathPromise: Promise<string | undefined> | undefined;

/** An executable file named `name` on PATH, or undefined. */
async function onPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The ffmpeg binary: VOICEMOOD_FFMPEG when set, else ffmpeg-static when that optional dependency
 * is installed, else `ffmpeg` from PATH; undefined when there is none. Looked up once.
 */
export function ffmpegPath(): Promise<string | undefined> {
  ffmpegPathPromise ??= (async () => {
    const configured = process.env.VOICEMOOD_FFMPEG;
    if (configured)
      return configured.includes(sep)
        ? (await access(configured, constants.X_OK).then(
            () => true,
            () => false,
          ))
          ? configured
          : undefined
        : onPath(configured);
    try {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- a string specifier keeps tsc from resolving the optional module
      const mod = (await import('ffmpeg-static' as string)) as { default?: unknown };
      if (typeof mod.default === 'string' && mod.default) return mod.default;
    } catch {
      // optional dependency absent: use the system's ffmpeg
    }
    return onPath('ffmpeg');
  })();
  return ffmpegPathPromise;
}

function lastLines(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.slice(-2).join(' / ').slice(0, 300);
}

/**
 * The ffmpeg demuxer for a format our detection named (wav covers "wav (codec 0x…)"): only
 * containers that hold their own audio, none that read playlists, lists or other files.
 */
export function demuxerFor(format: string): string | undefined {
  const base = format.startsWith('wav') ? 'wav' : format.startsWith('ogg') ? 'ogg' : format;
  const demuxers: Record<string, string> = {
    wav: 'wav',
    ogg: 'ogg',
    flac: 'flac',
    mp3: 'mp3',
    aac: 'aac',
    m4a: 'mov',
    mp4: 'mov',
    webm: 'matroska',
    aiff: 'aiff',
    amr: 'amr',
    caf: 'caf',
  };
  return Object.hasOwn(demuxers, base) ? demuxers[base] : undefined;
}

export async function decodeWithFfmpeg(bytes: Uint8Array, format: string, limits: AudioLimits, deadline: Deadline): Promise<DecodedAudio> {
  const demuxer = demuxerFor(format);
  if (!demuxer) throw new VoicemoodError('undecodable', 'This file does not look like audio I can decode.', { details: { format } });
  const bin = await ffmpegPath();
  if (!bin) {
    throw new VoicemoodError(
      'undecodable',
      `This looks like ${format.toUpperCase()}, and decoding it needs ffmpeg, which is not installed here (install ffmpeg, or the optional npm package ffmpeg-static).`,
      { details: { format } },
    );
  }
  // A file, not stdin: MP4/M4A from phones keep their index (moov) at the end and need seeking.
  const dir = await mkdtemp(join(tmpdir(), 'voicemood-'));
  const input = join(dir, 'input');
  try {
    await writeFile(input, bytes);
    return await run(bin, input, demuxer, format, limits, deadline);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function run(bin: string, input: string, demuxer: string, format: string, limits: AudioLimits, deadline: Deadline): Promise<DecodedAudio> {
  const undecodable = (why: string, cause?: unknown, ffmpegStderr?: string) =>
    new VoicemoodError('undecodable', `This looks like ${format.toUpperCase()}, but ${why}`, {
      details: { format, demuxer, ...(ffmpegStderr ? { ffmpegStderr } : {}) },
      cause,
    });
  const args = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-threads',
    '1',
    // Our demuxer, only it, and only local files (the one input): nothing else gets opened.
    '-protocol_whitelist',
    'file',
    '-format_whitelist',
    demuxer,
    '-f',
    demuxer,
    '-i',
    input,
    '-map',
    '0:a:0',
    '-vn',
    '-sn',
    '-dn',
    // Decode at most a little past the bound: enough to know it is too long, no more.
    '-t',
    String(limits.maxDecodeS + 1),
    '-f',
    'wav',
    '-c:a',
    'pcm_f32le',
    'pipe:1',
  ];
  return new Promise<DecodedAudio>((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let header: WavHeader | undefined;
    let head = Buffer.alloc(0);
    let carry = Buffer.alloc(0);
    let resampler: MonoResampler | undefined;
    let opening: Promise<MonoResampler> | undefined;
    const queued: Buffer[] = [];
    let settled = false;

    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      deadline.signal?.removeEventListener('abort', onAbort);
      child.kill('SIGKILL');
      resampler?.dispose();
      reject(e);
    };
    const timer = setTimeout(() => fail(deadline.timeoutError()), deadline.remainingMs);
    const onAbort = () => fail(deadline.error());
    deadline.signal?.addEventListener('abort', onAbort, { once: true });

    const consume = (chunk: Buffer) => {
      if (!resampler || !header) return void queued.push(chunk);
      const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const frames = Math.floor(data.length / header.blockAlign);
      if (frames > 0) resampler.push(samplesToFloat(data, 0, frames, header), header.channels);
      carry = Buffer.from(data.subarray(frames * header.blockAlign));
    };

    child.stdout.on('data', (chunk: Buffer) => {
      if (settled) return;
      try {
        if (!header) {
          head = Buffer.concat([head, chunk]);
          const parsed = parseWavHeader(head);
          if (parsed === 'incomplete') return;
          header = parsed;
          const rest = head.subarray(parsed.dataOffset);
          head = Buffer.alloc(0);
          queued.push(Buffer.from(rest));
          opening = MonoResampler.open(parsed.sampleRate, limits);
          opening.then((r) => {
            if (settled) return r.dispose();
            resampler = r;
            try {
              for (const q of queued.splice(0)) consume(q);
            } catch (e) {
              fail(e);
            }
          }, fail);
          return;
        }
        consume(chunk);
      } catch (e) {
        fail(e);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEEP);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        fail(
          new VoicemoodError(
            'undecodable',
            `Decoding ${format.toUpperCase()} needs ffmpeg, which is not installed here (install ffmpeg, or the optional npm package ffmpeg-static).`,
            { details: { format, ffmpeg: bin }, cause: e },
          ),
        );
      } else fail(undecodable('the decoder could not be started on our side; please try again later.', e, e.message));
    });
    const onClose = async (code: number | null): Promise<void> => {
      if (settled) return;
      try {
        if (code !== 0) {
          // For logs only (details): never in the sentence, and without our temp path.
          const why = lastLines(stderr.split(dirname(input)).join('<tmp>'));
          if (/matches no streams|does not contain any stream|Output file #0 does not contain/i.test(why))
            throw undecodable('it has no audio track.', undefined, why);
          throw undecodable(`it could not be decoded: the data is damaged, or it is not really ${format.toUpperCase()}.`, undefined, why);
        }
        if (!header || !opening) throw undecodable('it holds no audio samples.');
        await opening;
        if (settled) return;
        for (const q of queued.splice(0)) consume(q);
        const r = resampler!;
        if (r.inputFrames === 0) throw undecodable('it holds no audio samples.');
        const samples = r.finish();
        settled = true;
        clearTimeout(timer);
        deadline.signal?.removeEventListener('abort', onAbort);
        resolve({
          samples,
          sampleRate: 16000,
          durationS: samples.length / 16000,
          format,
          sourceSampleRate: header.sampleRate,
          sourceChannels: header.channels,
        });
      } catch (e) {
        fail(isVoicemoodError(e) ? e : undecodable('decoding it failed.', e, e instanceof Error ? e.message : String(e)));
      }
    };
    // onClose catches everything it throws and settles the promise itself.
    child.on('close', (code) => void onClose(code));
  });
}
