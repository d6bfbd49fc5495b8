#!/usr/bin/env bash
# End-to-end test with real Linux network namespaces and real TCP stacks: svpcd runs the
# hybrid-cloud example on TAP ports; each instance lives in its own namespace; real ping and a
# real TCP transfer go between instances of different service projects through the engine,
# and the stateful firewall decides (replies pass by connection tracking, new connections the
# other way are denied). Then SIGHUP reloads (a valid change applies, an invalid one is
# rejected while the old configuration keeps serving) and SIGTERM stops the daemon cleanly.
# Needs root. Tears everything down, even after a failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tap_setup tap
# SVPC_WORKERS=N: the same test with N worker cores (queues per TAP, per-worker conntrack);
# svpcd_start passes it.
svpcd_start --firewall-log "$work/firewall.jsonl"
netns_up

echo "== ping instance-a (svc-a) -> instance-b (svc-b): allowed by allow-internal-icmp"
in_ns $ns_a ping -c 3 -i 0.2 -W 2 10.15.2.4 || fail "ping a -> b"

echo "== TCP transfer instance-a -> instance-b:8080 (allow-web-to-app; replies by TRACKING_STATE)"
head -c 2000000 /dev/urandom >"$work/payload"
in_ns $ns_b sh -c "exec nc -l -p 8080 >'$work/received'" &
listener=$!
sleep 0.5
in_ns $ns_a nc -N -w 10 10.15.2.4 8080 <"$work/payload" || fail "nc a -> b"
wait $listener || true
cmp "$work/payload" "$work/received" || fail "received data differs"
echo "2 MB arrived intact"
sleep 0.5
python3 - "$work/firewall.jsonl" <<'PY' || fail "no Firewall Rules Logging record for the a -> b connection"
import json, sys
records = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
hits = [r for r in records
        if r["jsonPayload"]["rule_details"]["reference"] == "network:shared-net/firewall:allow-web-to-app"
        and r["jsonPayload"]["disposition"] == "ALLOWED"
        and r["jsonPayload"]["connection"]["dest_port"] == 8080
        and r["jsonPayload"]["instance"]["vm_name"] == "instance-b"
        and r["jsonPayload"]["remote_instance"]["project_id"] == "svc-a"]
assert len(hits) == 1, records
PY
echo "one ALLOWED record for the connection in the firewall log"

echo "== TCP instance-b -> instance-c:5432 (allow-app-to-db; replies by TRACKING_STATE)"
# The server only reads (a server that also writes and closes can race the client's data into
# an RST); the handshake already proves the way back.
in_ns $ns_c sh -c "exec nc -l -p 5432 >'$work/c-received'" &
listener=$!
sleep 0.5
echo ping | in_ns $ns_b nc -N -w 5 10.7.1.50 5432 || fail "nc b -> c"
wait $listener || true
[ "$(cat "$work/c-received")" = "ping" ] || fail "b -> c delivered '$(cat "$work/c-received")'"

echo "== a new connection in the reverse direction, instance-b -> instance-a:8080, is denied"
in_ns $ns_a sh -c "exec nc -l -p 8080 >/dev/null" &
listener=$!
sleep 0.5
if in_ns $ns_b nc -z -w 3 10.0.1.3 8080; then fail "b -> a:8080 should be blocked"; fi
kill $(ip netns pids $ns_a) 2>/dev/null || true
wait $listener 2>/dev/null || true
echo "blocked"

echo "== TCP instance-a -> instance-c:5432 denied (implied-deny-ingress)"
in_ns $ns_c sh -c "exec nc -l -p 5432 >/dev/null" &
listener=$!
sleep 0.5
before=$(python3 -c "import json;print(json.load(open('$counters'))['drops']['FIREWALL_RULE'])")
if in_ns $ns_a nc -z -w 3 10.7.1.50 5432; then fail "a -> c:5432 should be blocked"; fi
# $listener is the backgrounded shell function, not nc: stop whatever runs in C's namespace.
kill $(ip netns pids $ns_c) 2>/dev/null || true
wait $listener 2>/dev/null || true
sleep 1.5
after=$(python3 -c "import json;print(json.load(open('$counters'))['drops']['FIREWALL_RULE'])")
[ "$after" -gt "$before" ] || fail "FIREWALL_RULE drop counter did not move ($before -> $after)"
echo "blocked; FIREWALL_RULE drops $before -> $after"

echo "== SIGHUP with a valid change: deny ICMP to app instances"
cat >"$config/deny-icmp.json" <<'JSON'
{"kind": "compute#firewall", "name": "deny-icmp-to-app",
 "selfLink": "https://www.googleapis.com/compute/v1/projects/host-prj/global/firewalls/deny-icmp-to-app",
 "network": "projects/host-prj/global/networks/shared-net", "direction": "INGRESS", "priority": 100,
 "targetTags": ["app"], "denied": [{"IPProtocol": "icmp"}]}
JSON
kill -HUP "$daemon_pid"
for _ in $(seq 1 50); do grep -q "generation 2 published" "$log" && break; sleep 0.1; done
grep -q "generation 2 published" "$log" || fail "reload not published"
if in_ns $ns_a ping -c 2 -i 0.2 -W 1 10.15.2.4 >/dev/null; then fail "ping should now be denied"; fi
echo "ping now denied"

echo "== SIGHUP with an invalid change: rejected, generation 2 keeps serving"
echo '{"kind": "compute#firewall", "name": "broken", "network": "nope", "priority": 99999' \
  >"$config/broken.json"
kill -HUP "$daemon_pid"
for _ in $(seq 1 50); do grep -q "reload rejected" "$log" && break; sleep 0.1; done
grep -q "reload rejected" "$log" || fail "invalid reload not rejected"
if in_ns $ns_a ping -c 2 -i 0.2 -W 1 10.15.2.4 >/dev/null; then fail "old config should still deny ping"; fi
in_ns $ns_c sh -c "exec nc -l -p 5432 >'$work/c-received'" &
listener=$!
sleep 0.5
echo again | in_ns $ns_b nc -N -w 5 10.7.1.50 5432 || fail "b -> c after rejected reload"
wait $listener || true
[ "$(cat "$work/c-received")" = "again" ] || fail "b -> c after rejected reload delivered '$(cat "$work/c-received")'"
echo "rejected; previous configuration still serving"

echo "== SIGTERM: clean stop"
svpcd_stop
python3 -c "import json;c=json.load(open('$counters'));assert c['verdicts']['DELIVER']>0, c" \
  || fail "final counters"
echo "PASS: TAP test"
