#!/bin/sh
# The scale sweep of `svpc bench`: ratio svpc/testpmd and cycles per packet at 10 / 1,000 /
# 10,000 rules and 1k / 100k / 1M established flows (10,000 static routes, 64-byte frames, one
# worker), each point one `svpc bench --json` run (both sides, one after the other). Prints a
# Markdown table, and keeps the JSON lines in $OUT (default sweep.jsonl).
#
#   bench/sweep.sh [SVPC_BINARY] [-- extra svpc bench options]
#   SECONDS_PER_SIDE=5 RULES="10 1000 10000" FLOWS="1000 100000 1000000" bench/sweep.sh
#   WAIT_LOAD=1.5 bench/sweep.sh   # on a shared machine: before each point, wait (at most
#                                  # 5 minutes) until the 1-minute load average is below 1.5
set -eu
SVPC=${1:-build/cli/svpc}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
SECONDS_PER_SIDE=${SECONDS_PER_SIDE:-5}
RULES=${RULES:-"10 1000 10000"}
FLOWS=${FLOWS:-"1000 100000 1000000"}
OUT=${OUT:-sweep.jsonl}
WAIT_LOAD=${WAIT_LOAD:-}
: >"$OUT"
echo "| rules | flows | svpc Mpps | testpmd Mpps | ratio | CPU ratio | svpc cycles/packet | testpmd cycles/packet | CPU share svpc / testpmd |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for rules in $RULES; do
  for flows in $FLOWS; do
    if [ -n "$WAIT_LOAD" ]; then
      i=0
      while [ $i -lt 30 ] && python3 -c "import sys; sys.exit(0 if float(open('/proc/loadavg').read().split()[0]) >= $WAIT_LOAD else 1)"; do
        sleep 10
        i=$((i + 1))
      done
    fi
    if [ -t 2 ]; then printf 'svpc bench --rules %s --flows %s ...\n' "$rules" "$flows" >&2; fi
    "$SVPC" bench --json --rules "$rules" --routes 10000 --flows "$flows" --packet-size 64 \
      --seconds "$SECONDS_PER_SIDE" "$@" >>"$OUT"
    tail -n 1 "$OUT" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("| {:,} | {:,} | {:.2f} | {:.2f} | {:.3f} | {:.3f} | {:.0f} | {:.0f} | {:.2f} / {:.2f} |".format(
    r["rules"], r["flows"], r["mpps"], r["testpmd_mpps"], r["ratio"], r["cpu_ratio"],
    r["cpu_cycles_per_packet"], r["testpmd_cpu_cycles_per_packet"], r["worker_cpu_share"],
    r["testpmd_worker_cpu_share"]))'
  done
done
