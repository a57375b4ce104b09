#!/usr/bin/env bash
# Makes a fresh machine ready for voicemood: Node.js >= 22.12, ffmpeg, npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh

# System packages: ffmpeg decodes MP3/M4A/FLAC/WebM; the test suite also uses redis-server and
# Postgres (test/history/postgres.test.ts fails in CI when Postgres is missing).
want=(ffmpeg)
[ "${CI:-}" = "true" ] || [ "${VOICEMOOD_SETUP_TEST_DEPS:-}" = "1" ] && want+=(redis-server postgresql)
# Postgres's server binaries live in /usr/lib/postgresql/<version>/bin, not on PATH.
have() {
  case "$1" in
    postgresql) compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1 ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}
missing=()
for pkg in "${want[@]}"; do
  have "$pkg" || missing+=("$pkg")
done
# apt_install PKG...: installs the packages with apt-get as root; otherwise asks the user to.
apt_install() {
  [ $# -gt 0 ] || return 0
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "voicemood: installing $* with apt-get" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
  else
    echo "voicemood: please install $* (not root, or no apt-get)" >&2
  fi
}
apt_install ${missing[@]+"${missing[@]}"}

# Web app and charts (issue 15): a CJK font so that Chinese chart text is drawn (without one,
# charts fall back to English), and in CI Chromium for the browser test. Separate from the block
# above on purpose; same apt_install (apt-get only as root).
web_missing=()
cjk_font="$(find /usr/share/fonts /usr/local/share/fonts \( -iname '*wqy*' -o -iname '*cjk*' \) 2>/dev/null | head -n1 || true)"
[ -n "$cjk_font" ] || web_missing+=(fonts-wqy-microhei)
[ "${CI:-}" = "true" ] && [ ! -x /usr/bin/chromium ] && web_missing+=(chromium)
apt_install ${web_missing[@]+"${web_missing[@]}"}

# onnxruntime-node's install script only fetches CUDA extras; .npmrc skips it.
export ONNXRUNTIME_NODE_INSTALL=skip
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi
echo "voicemood: setup done (node $(node --version))" >&2
