#!/usr/bin/env bash
# bench/cpuprofile.sh: server CPU per persisted capture, and where it goes.
#
# Builds cmd/hookscope, starts it on a free port with a temporary data dir,
# creates a bin, warms up, then runs `wrk -t2 -c$CONNS -d$SECS` with
# bench/wrk/post.lua (the harness's 1 KB Stripe POST) and waits until every
# answered request is stored. It prints the process's user+system CPU time
# (/proc/PID/stat) over load + drain divided by the requests persisted: the
# figure that depends least on other load on a shared machine.
#
# With PERF=1 it also records the server with `perf record -g` during the
# load and prints the top of `perf report` (self and children), so the
# per-stage cost is CPU share × µs/request.
#
#   bench/cpuprofile.sh                      # ack=durable, 16 connections, 5 s
#   HOOKSCOPE_ACK=fast bench/cpuprofile.sh   # any HOOKSCOPE_* reaches the server
#   CONNS=64 SECS=10 PERF=1 bench/cpuprofile.sh
#   KEEP=1 ...                               # keep the temp dir (perf.data, server log)
#   BIN=/path/to/hookscope ...               # another build (A/B against a baseline)
#   PERF=1 PERF_EVENT=sched:sched_switch ... # where it blocks instead of where it runs
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${CONNS:-16}
SECS=${SECS:-5}
tmp=$(mktemp -d)
bin=${BIN:-$tmp/hookscope}
[ -n "${BIN:-}" ] || go build -o "$bin" ./cmd/hookscope
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
addr=127.0.0.1:$port
HOOKSCOPE_ADDR=$addr HOOKSCOPE_DATA_DIR=$tmp/data HOOKSCOPE_LOG_LEVEL=warn HOOKSCOPE_RATE_PER_IP=0 \
  "$bin" >"$tmp/server.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ -z "${KEEP:-}" ]; then rm -rf "$tmp"; else echo "kept $tmp"; fi
}
trap cleanup EXIT
for _ in $(seq 200); do curl -fs "http://$addr/healthz" >/dev/null && break; sleep 0.05; done
binid=$(curl -fs -X POST -H 'Content-Type: application/json' -d '{"name":"bench","expires_in":null}' "http://$addr/api/v1/bins" | jq -r .id)
url=http://$addr/h/$binid/stripe/events
count() { curl -fs "http://$addr/api/v1/bins/$binid" | jq -r .request_count; }
wait_count() { # until the stored count reaches $1 (or 60 s)
  for _ in $(seq 1200); do [ "$(count)" -ge "$1" ] && return 0; sleep 0.05; done
  echo "store did not catch up: $(count) < $1" >&2; return 1
}
cputicks() { awk '{print $14+$15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)

wrk -t$(( CONNS < 2 ? CONNS : 2 )) -c"$CONNS" -d2s -s bench/wrk/post.lua "$url" >/dev/null
sleep 0.3
before=$(count)
wait_count "$before" >/dev/null
before=$(count)
t0=$(cputicks)
if [ -n "${PERF:-}" ]; then
  perf record ${PERF_EVENT:+-e $PERF_EVENT} -F 999 -g -p "$pid" -o "$tmp/perf.data" -- sleep "$SECS" >/dev/null 2>&1 &
  perfpid=$!
fi
out=$(wrk -t$(( CONNS < 2 ? CONNS : 2 )) -c"$CONNS" -d"${SECS}s" -s bench/wrk/post.lua "$url")
[ -n "${PERF:-}" ] && wait "$perfpid"
json=$(echo "$out" | sed -n 's/^WRKJSON //p')
reqs=$(echo "$json" | jq .requests)
non2xx=$(echo "$json" | jq .non2xx)
answered=$((reqs - non2xx))
wait_count $((before + answered))
t1=$(cputicks)
after=$(count)
stored=$((after - before))
echo "$out" | grep -E 'Requests/sec|Latency  ' || true
echo "$json" | jq -c '{requests, non2xx, lat_p50_us, lat_p99_us}'
awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$stored" -v a="$answered" -v s="$SECS" 'BEGIN {
  printf "answered %d, stored %d, server CPU %.2f s = %.1f us/request, %.2f cores over the load\n", a, n, d/hz, d/hz*1e6/n, d/hz/s }'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${PERF:-}" ]; then
  perf report -i "$tmp/perf.data" --no-children --sort sym --stdio 2>/dev/null | grep -v '^#' | grep '%' | head -${TOP:-40}
fi
