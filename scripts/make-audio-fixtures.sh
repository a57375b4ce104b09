#!/usr/bin/env bash
# Regenerates test/fixtures/audio/: short real encodings of one espeak-ng sentence in every
# format the decoder handles, WAV variants, and a corpus of broken files.
# Needs espeak-ng, ffmpeg, opusenc (opus-tools), sox and python3. Tests only read the results.
set -euo pipefail
cd "$(dirname "$0")/.."
out=test/fixtures/audio
rm -rf "$out"
mkdir -p "$out/broken"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
q=(-hide_banner -loglevel error -y)

# The speech source: espeak-ng (22.05 kHz), then the 16 kHz reference every decode is compared with.
espeak-ng -s 190 -w "$tmp/espeak.wav" "How are you today?"
sox "$tmp/espeak.wav" -r 48000 -b 16 -c 1 "$tmp/speech48k.wav"
ffmpeg "${q[@]}" -i "$tmp/espeak.wav" -ar 16000 -ac 1 -c:a pcm_s16le "$out/speech_16k_pcm16.wav"

# Compressed formats, from the 48 kHz source.
opusenc --quiet --bitrate 24 --comp 10 "$tmp/speech48k.wav" "$out/voice_telegram.ogg"   # like a Telegram voice note
sox "$tmp/speech48k.wav" "$tmp/speech48k_short.wav" trim 0.3 0.2
opusenc --quiet --bitrate 24 --comp 10 "$tmp/speech48k_short.wav" "$out/voice_tiny_0.2s.ogg"   # base of the fuzz test
ffmpeg "${q[@]}" -i "$tmp/speech48k.wav" -c:a libmp3lame -b:a 32k "$out/speech.mp3"
ffmpeg "${q[@]}" -i "$tmp/speech48k.wav" -c:a aac -b:a 32k "$out/speech.m4a"
ffmpeg "${q[@]}" -i "$tmp/espeak.wav" -c:a flac "$out/speech.flac"
ffmpeg "${q[@]}" -i "$tmp/speech48k.wav" -c:a libvorbis -q:a 0 "$out/speech_vorbis.ogg"
ffmpeg "${q[@]}" -i "$tmp/speech48k.wav" -c:a libopus -b:a 24k "$out/speech.webm"
# A Telegram-style video note: square video plus an AAC track.
ffmpeg "${q[@]}" -f lavfi -i "color=c=gray:s=64x64:r=10" -i "$tmp/speech48k.wav" -shortest \
  -c:v libx264 -preset veryfast -crf 40 -pix_fmt yuv420p -c:a aac -b:a 32k "$out/videonote.mp4"

# WAV variants (sox -t wavpcm writes the plain header; ffmpeg writes WAVE_FORMAT_EXTENSIBLE above 16 bits).
sox "$tmp/espeak.wav" -r 16000 -e unsigned -b 8 -t wavpcm "$out/speech_16k_u8.wav"
sox "$tmp/espeak.wav" -r 16000 -e signed -b 24 -t wavpcm "$out/speech_16k_pcm24.wav"
sox "$tmp/espeak.wav" -r 16000 -e signed -b 32 -t wavpcm "$out/speech_16k_pcm32.wav"
sox "$tmp/espeak.wav" -r 16000 -e floating-point -b 32 -t wavpcm "$out/speech_16k_float32.wav"
sox "$tmp/espeak.wav" -r 8000 -e floating-point -b 64 -t wavpcm "$out/speech_8k_float64.wav"
ffmpeg "${q[@]}" -i "$tmp/espeak.wav" -ar 16000 -c:a pcm_s24le "$out/speech_16k_extensible_pcm24.wav"
ffmpeg "${q[@]}" -i "$tmp/espeak.wav" -ar 8000 -c:a pcm_s16le "$out/speech_8k_pcm16.wav"
ffmpeg "${q[@]}" -i "$tmp/espeak.wav" -ar 44100 -ac 2 -t 0.5 -c:a pcm_s16le "$out/speech_44k1_stereo_0.5s.wav"
ffmpeg "${q[@]}" -i "$tmp/espeak.wav" -ar 48000 -t 0.9 -c:a pcm_s16le "$out/speech_48k_pcm16_0.9s.wav"

# Broken files.
head -c 700 "$out/voice_telegram.ogg" > "$out/broken/truncated.ogg"                  # cut inside an audio page
python3 - "$out" <<'PY'
import random, struct, sys
out = sys.argv[1]
voice = open(f"{out}/voice_telegram.ogg", "rb").read()
open(f"{out}/broken/wrong_magic.ogg", "wb").write(b"OggX" + voice[4:])              # magic damaged
open(f"{out}/broken/empty.wav", "wb").write(b"")                                   # zero bytes
rate, hours = 16000, 3600
data = rate * 2 * hours                                                            # header claims 1 h of pcm16
hdr = b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE" + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", data)
open(f"{out}/broken/hours.wav", "wb").write(hdr)                                   # … and holds nothing
random.seed(7)
open(f"{out}/broken/random.wav", "wb").write(bytes(random.getrandbits(8) for _ in range(8192)))
PY
ls -l "$out" "$out/broken"
