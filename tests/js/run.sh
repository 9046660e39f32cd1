#!/usr/bin/env bash
# The TypeScript check: start a mock, walk a group life with @atproto/api against it (check.mjs),
# then follow it as the official app does (app_poll.mjs), walk a direct chat (direct_flow.mjs), stop it.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  msg="Node.js and npm are needed for the TypeScript check (apt-get install nodejs npm)"
  if [ "${CI:-}" = "true" ]; then echo "$msg" >&2; exit 1; fi
  echo "skipped: $msg"; exit 0
fi
[ -d node_modules/@atproto/api ] || npm ci --no-audit --no-fund --loglevel=error
out=$(mktemp)
../../.venv/bin/bsky-chat-mock serve --port 0 --empty --log-level WARNING >"$out" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$out" && break; sleep 0.1; done
url=$(sed -n 's/.*listening on //p' "$out")
[ -n "$url" ] || { echo "the mock did not start" >&2; exit 1; }
node check.mjs "$url"
node app_poll.mjs "$url"
node direct_flow.mjs "$url"
