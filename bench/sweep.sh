#!/bin/sh
# The scale sweep of `svpc bench`: ratio svpc/testpmd and cycles per packet at 10 / 1,000 /
# 10,000 rules and 1k / 100k / 1M established flows (10,000 static routes, 64-byte frames, one
# worker), each point one `svpc bench --json` run (both sides, one after the other). Prints a
# Markdown table, and keeps the JSON lines in $OUT (default sweep.jsonl).
#
#   bench/sweep.sh [SVPC_BINARY] [-- extra svpc bench options]
#   SECONDS_PER_SIDE=5 RULES="10 1000 10000" FLOWS="1000 100000 1000000" bench/sweep.sh
set -eu
SVPC=${1:-build/control/svpc}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
SECONDS_PER_SIDE=${SECONDS_PER_SIDE:-5}
RULES=${RULES:-"10 1000 10000"}
FLOWS=${FLOWS:-"1000 100000 1000000"}
OUT=${OUT:-sweep.jsonl}
: >"$OUT"
echo "| rules | flows | svpc Mpps | testpmd Mpps | ratio | cycles/packet (TSC) | cycles/packet (CPU) | testpmd cycles/packet (CPU) | load |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for rules in $RULES; do
  for flows in $FLOWS; do
    [ -t 2 ] && printf 'svpc bench --rules %s --flows %s ...\n' "$rules" "$flows" >&2
    "$SVPC" bench --json --rules "$rules" --routes 10000 --flows "$flows" --packet-size 64 \
      --seconds "$SECONDS_PER_SIDE" "$@" >>"$OUT"
    tail -n 1 "$OUT" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("| {:,} | {:,} | {:.2f} | {:.2f} | {:.3f} | {:.0f} | {:.0f} | {:.0f} | {} -> {} |".format(
    r["rules"], r["flows"], r["mpps"], r["testpmd_mpps"], r["ratio"], r["cycles_per_packet"],
    r["cpu_cycles_per_packet"], r["testpmd_cpu_cycles_per_packet"],
    r["load_average_start"].split()[0], r["load_average_end"].split()[0]))'
  done
done
