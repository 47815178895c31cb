#!/bin/bash
# Instruction counts of one server child while a client in another process runs a workload of
# `compare profile` (callgrind, measured period only).
#   bench/profile/server-ws.sh ours|jsonrpsee CLIENT(ours|jsonrpsee) WORKLOAD N CALLS
# WORKLOAD: ws-throughput (64 in flight), batch (100 per batch), ws-latency; CALLS: how many
# calls that is, for the per-call figures (ws-throughput N: N+20; batch N: 100*N+100;
# ws-latency N: N+20).
set -e
KIND=$1; CL=$2; W=$3; N=$4; CALLS=$5
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-$ROOT/target/release/compare}
OUT=${OUT:-/tmp/bench-profile}
mkdir -p "$OUT"
F="$OUT/cgws.$KIND.$CL.$W.out"
rm -f "$F"* "$OUT/inws.$KIND"
mkfifo "$OUT/inws.$KIND"
valgrind --tool=callgrind --callgrind-out-file="$F" "$B" serve "$KIND" \
  < "$OUT/inws.$KIND" > "$OUT/readyws.$KIND" 2> "$OUT/valgrind-ws.$KIND.log" &
VPID=$!
exec 6> "$OUT/inws.$KIND"
for _ in $(seq 100); do grep -q ready "$OUT/readyws.$KIND" 2>/dev/null && break; sleep 0.2; done
WS=$(sed 's/.*ws=\([^ ]*\).*/\1/' "$OUT/readyws.$KIND")
HTTP=$(sed 's/.*http=\([^ ]*\).*/\1/' "$OUT/readyws.$KIND")
BENCH_WS_URL=$WS BENCH_HTTP_URL=$HTTP "$B" profile "$CL" "$W" 200 2> /dev/null
callgrind_control -z $VPID > /dev/null 2>&1
BENCH_WS_URL=$WS BENCH_HTTP_URL=$HTTP "$B" profile "$CL" "$W" "$N"
callgrind_control -d $VPID > /dev/null 2>&1
exec 6>&-
wait $VPID || true
python3 "$ROOT/bench/profile/categories.py" "$F.1" "$CALLS"
