#!/bin/bash
# Instruction counts of one server child under wrk (callgrind; counts are deterministic enough to
# compare on a loaded machine, wall-clock is not).
#   bench/profile/server-http.sh ours|jsonrpsee|floor-http [CONNS=64] [SECS=5]
# Builds nothing: run `cargo build --release -p bench` first. Writes $OUT/cg.KIND.out.1 (the
# measured period only: zeroed after a 1 s warm-up, dumped after the run) and $OUT/wrk.KIND.txt,
# then prints instructions per request by category (categories.py).
set -e
KIND=$1; C=${2:-64}; S=${3:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-$ROOT/target/release/compare}
OUT=${OUT:-/tmp/bench-profile}
mkdir -p "$OUT"
rm -f "$OUT/cg.$KIND.out"* "$OUT/in.$KIND"
mkfifo "$OUT/in.$KIND"
valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$KIND.out" "$B" serve "$KIND" \
  < "$OUT/in.$KIND" > "$OUT/ready.$KIND" 2> "$OUT/valgrind.$KIND.log" &
VPID=$!
exec 4> "$OUT/in.$KIND"   # the child serves until its stdin closes
for _ in $(seq 100); do grep -q ready "$OUT/ready.$KIND" 2>/dev/null && break; sleep 0.2; done
URL=$(sed 's/.*http=\([^ ]*\).*/\1/' "$OUT/ready.$KIND")
wrk -t1 -c"$C" -d1s -s "$ROOT/bench/wrk/add.lua" "$URL" > /dev/null
callgrind_control -z $VPID > /dev/null 2>&1
wrk -t1 -c"$C" -d"${S}s" -s "$ROOT/bench/wrk/add.lua" "$URL" > "$OUT/wrk.$KIND.txt"
callgrind_control -d $VPID > /dev/null 2>&1
exec 4>&-
wait $VPID || true
N=$(awk '/requests in/ {print $1}' "$OUT/wrk.$KIND.txt")
python3 "$ROOT/bench/profile/categories.py" "$OUT/cg.$KIND.out.1" "$N"
