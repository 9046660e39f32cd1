#!/usr/bin/env bash
# `make pds`: a local network with the mock as its chat service (docs/pds.md), until Ctrl-C.
# PLC on $PLC_PORT (2582), PDS on $PDS_PORT (2583), the mock on $CHAT_PORT (2584), all on 127.0.0.1.
# Arguments go to `bsky-chat-mock serve` (say --seed 1 or --record FILE).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
PLC_PORT=${PLC_PORT:-2582} PDS_PORT=${PDS_PORT:-2583} CHAT_PORT=${CHAT_PORT:-2584}
node=$("$here/install.sh" | tail -1)

"$root/.venv/bin/bsky-chat-mock" serve --empty --port "$CHAT_PORT" --plc-url "http://localhost:$PLC_PORT" "$@" &
mock=$!
# network.mjs stops when its stdin closes: give it one that stays open until this script ends
tail -f /dev/null | PLC_PORT=$PLC_PORT PDS_PORT=$PDS_PORT "$node" "$here/network.mjs" > >(while read -r line; do
  echo "PLC + PDS up: $line" >&2
  echo "chat service: did:web:localhost%3A$CHAT_PORT at http://localhost:$CHAT_PORT" >&2
  echo "clients: log in to http://localhost:$PDS_PORT, proxy chat to did:web:localhost%3A$CHAT_PORT#bsky_chat" >&2
done) &
network=$!
stop() { pkill -TERM -P $$ 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT INT TERM
wait -n "$mock" "$network"
