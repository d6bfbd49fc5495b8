#!/usr/bin/env bash
# Fault: the connection table full, through svpcd. With --conntrack-capacity 2, two long-lived
# TCP connections (instance-a -> instance-b:8080, instance-b -> instance-c:5432) fill the table
# and keep exchanging a line every 200 ms. New connections (TCP and ping) must then be dropped
# and counted as CONNTRACK_TABLE_FULL, the two established connections must keep working
# throughout, and the daemon's log must say so, rate-limited (one warning per 10 s at most,
# however many drops).
set -euo pipefail
. "$(dirname "$0")/../tap/lib.sh"
tap_setup fault-conntrack-full
svpcd_start --conntrack-capacity 2
netns_up
in_ns $ns_b python3 "$root/tests/tap/tcp_session.py" server 8080 &
in_ns $ns_c python3 "$root/tests/tap/tcp_session.py" server 5432 &
sleep 0.5
started=$(date +%s)

echo "== two long-lived connections fill the table (capacity 2)"
in_ns $ns_a python3 "$root/tests/tap/tcp_session.py" client $ip_b 8080 12 0.2 2 >"$work/session-ab.out" 2>&1 &
session_ab=$!
in_ns $ns_b python3 "$root/tests/tap/tcp_session.py" client $ip_c 5432 12 0.2 2 >"$work/session-bc.out" 2>&1 &
session_bc=$!
sleep 1

echo "== new connections are dropped: 300 TCP connects a -> b:8080 at once, 20 a -> b pings"
in_ns $ns_a python3 - $ip_b <<'PY2' &
import selectors, socket, sys, time
# 300 connection attempts in parallel; each SYN is a new connection for the full table.
selector = selectors.DefaultSelector()
for _ in range(300):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((sys.argv[1], 8080))
    selector.register(s, selectors.EVENT_WRITE)
connected, end = 0, time.monotonic() + 2
while time.monotonic() < end:
    for key, _ in selector.select(timeout=0.1):
        if key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            connected += 1
        selector.unregister(key.fileobj)
print(f"{connected} of 300 new connections established")
sys.exit(1 if connected else 0)
PY2
connects=$!
in_ns $ns_a ping -q -c 20 -i 0.1 -W 1 $ip_b >"$work/ping.out" 2>&1 && fail "pings passed a full table"
wait "$connects" || fail "new connections passed a full table"
grep "packets transmitted" "$work/ping.out"

echo "== the established connections kept working"
wait "$session_ab" || fail "a -> b:8080 broke: $(cat "$work/session-ab.out")"
wait "$session_bc" || fail "b -> c:5432 broke: $(cat "$work/session-bc.out")"
cat "$work/session-ab.out" "$work/session-bc.out"
elapsed=$(($(date +%s) - started))

counters_settle
full=$(counter "c['drops']['CONNTRACK_TABLE_FULL']")
echo "CONNTRACK_TABLE_FULL drops: $full"
[ "$full" -ge 320 ] || fail "expected at least 320 CONNTRACK_TABLE_FULL drops (300 SYNs, 20 echoes), got $full"
other=$(counter "sum(v for k, v in c['drops'].items() if k not in ('CONNTRACK_TABLE_FULL', 'UNSUPPORTED_PROTOCOL'))")
[ "$other" -eq 0 ] || fail "$other drops of other causes"

warnings=$(grep -c "connection table full" "$log" || true)
echo "log: $warnings warning(s) in ${elapsed} s for $full drops:"
grep -m1 "connection table full" "$log"
[ "$warnings" -ge 1 ] || fail "the log does not say the table is full"
[ "$warnings" -le $((elapsed / 10 + 1)) ] || fail "$warnings warnings in ${elapsed} s: not rate-limited"
kill -0 "$daemon_pid" || fail "svpcd died"
svpcd_stop
echo "PASS: fault.conntrack_full"
