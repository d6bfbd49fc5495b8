#!/usr/bin/env bash
# Fault: a TAP interface deleted under the running engine. instance-c's TAP (svpc-vm-c) is
# deleted (`ip link del` in its namespace) while instance-a pings instance-b every 5 ms, an
# established connection a -> b:8080 exchanges a line every 100 ms, and a ping a -> c keeps
# sending towards the deleted port. Checks: svpcd stays up; no busy error loop (its log and
# DPDK's output stay quiet); the other ports keep forwarding (no ping a -> b lost, the
# connection works); the daemon reports the port's state (transmit failing, then the count);
# a SIGHUP reload is still accepted and the port stays gone (ports change only on restart);
# SIGTERM still stops cleanly; a restart brings the port back.
set -euo pipefail
. "$(dirname "$0")/../tap/lib.sh"
tap_setup fault-tap-deleted
svpcd_start
netns_up
in_ns $ns_b python3 "$root/tests/tap/tcp_session.py" server 8080 &
sleep 0.3
wait_for 5 in_ns $ns_a ping -c 1 -W 1 $ip_c || fail "instance-a cannot ping instance-c"

echo "== traffic on a -> b (ping every 5 ms, a connection) and a -> c (ping every 20 ms)"
in_ns $ns_a python3 "$root/tests/tap/tcp_session.py" client $ip_b 8080 8 0.1 2 >"$work/session.out" 2>&1 &
session_pid=$!
ping_start $ns_a $ip_b 1400 0.005
in_ns $ns_a ping -q -i 0.02 -W 1 $ip_c >/dev/null 2>&1 &
sleep 1
echo "== ip link del svpc-vm-c (instance-c's TAP) under traffic"
in_ns $ns_c ip link del svpc-vm-c
deleted_at=$(date +%s)
sleep 1.5
log_lines=$(wc -l <"$log")
dpdk_lines=$(wc -l <"$work/svpcd.stdout")
sleep 3
kill -0 "$daemon_pid" 2>/dev/null || fail "svpcd died after the TAP was deleted: $(tail "$work/svpcd.stdout")"
log_growth=$(($(wc -l <"$log") - log_lines))
dpdk_growth=$(($(wc -l <"$work/svpcd.stdout") - dpdk_lines))
echo "3 s with traffic towards the deleted port: $log_growth new log line(s), $dpdk_growth line(s) of DPDK output"
[ "$log_growth" -le 3 ] && [ "$dpdk_growth" -le 3 ] || fail "error spin: $(tail -5 "$work/svpcd.stdout")"

wait "$session_pid" || fail "the a -> b connection broke: $(cat "$work/session.out")"
cat "$work/session.out"
ping_check
echo "== the daemon reports the port"
wait_for 5 grep -q "port vm-c: transmit failing" "$log" || fail "the daemon did not report vm-c's state"
grep "port vm-c" "$log"

echo "== SIGHUP: the reload is accepted; vm-c stays gone (ports change only on restart)"
kill -HUP "$daemon_pid"
wait_for 10 grep -q "configuration generation 2 published" "$log" || fail "reload not published"
in_ns $ns_a ping -c 3 -i 0.2 -W 1 $ip_b >/dev/null || fail "a -> b after the reload"
if in_ns $ns_a ping -c 1 -W 1 $ip_c >/dev/null 2>&1; then fail "instance-c answered without its TAP"; fi
counters_settle
echo "TX_FAILED: $(counter "c['drops']['TX_FAILED']"), vm-c tx: $(counter "c['ports']['vm-c']['tx']")"
svpcd_stop
echo "== restart: svpcd creates the TAP again, tap-netns.sh moves it, instance-c answers"
: >"$log"
svpcd_start
netns_up
wait_for 5 in_ns $ns_a ping -c 1 -W 1 $ip_c || fail "instance-c unreachable after a restart"
svpcd_stop
echo "PASS: fault.tap_deleted"
