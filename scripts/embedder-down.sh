#!/usr/bin/env bash
# embedder-down.sh BIN — how a `shelf serve` binary indexes and searches
# while its embedder is down: refused connections, then a server that
# accepts connections and never answers. It writes one file, shows the
# index status 3 s later, and times five hybrid searches (curl gives up
# after 20 s). Needs curl and python3; uses ports 18111-18112 and
# 18998-18999 on loopback.
set -euo pipefail
BIN=${1:?usage: embedder-down.sh BIN}
KEY=embedder-down-master-key-0123456789abcdef

python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 18999)); s.listen(100)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' &
SILENT=$!
trap 'kill $SILENT' EXIT

run() { # run PORT EMBED_PORT LABEL
	local dir pid out
	dir=$(mktemp -d)
	SHELF_MASTER_KEY=$KEY "$BIN" serve --addr 127.0.0.1:$1 --data "$dir" \
		--embed-url http://127.0.0.1:$2/v1 --embed-model m >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:$1/healthz && break; sleep 0.1; done
	curl -s -o /dev/null -X PUT -H 'Content-Type: text/plain' -H "Authorization: Bearer $KEY" \
		--data-binary 'penguins swim in cold water' http://127.0.0.1:$1/v1/files/a.txt
	sleep 3
	echo "$3: index status after 3 s: $(curl -s -H "Authorization: Bearer $KEY" http://127.0.0.1:$1/v1/index/status)"
	for i in 1 2 3 4 5; do
		out=$(curl -s -o "$dir.json" -w '%{http_code} %{time_total}s' --max-time 20 \
			-H "Authorization: Bearer $KEY" -d '{"query":"penguins"}' http://127.0.0.1:$1/v1/search || true)
		echo "$3: search $i: $out $(grep -o '"mode":"[a-z]*"' "$dir.json" 2>/dev/null || true)"
		rm -f "$dir.json"
	done
	kill $pid; wait $pid 2>/dev/null || true
	rm -rf "$dir"
}
run 18111 18998 "embedder refusing connections"
run 18112 18999 "embedder never answering"
