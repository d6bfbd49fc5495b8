#!/usr/bin/env bash
# End-to-end Cloud Router test: the hybrid-cloud example with its static on-prem route replaced
# by a Cloud Router (us-east1, REGIONAL routing) peering over BGP with a real BIRD 2 in an
# "on-prem" network namespace. svpcd runs the engine on TAP ports; instances live in their own
# namespaces; the on-prem namespace holds the tunnel's TAP port (data) and a veth pair to the
# host (the BGP session reaches the router on a host interface, the direct way). Checks:
#   - before BGP, instance-b cannot reach on-prem 192.168.1.1 (no route but the internet's);
#   - the session comes up, BIRD's 192.168.0.0/16 (MED 50) is learned and svpc bgp shows it;
#     BIRD learns the us-east1 subnets with MED 100 (advertisedRoutePriority) and not us-west1's;
#   - then instance-b pings 192.168.1.1 through the engine; instance-a (us-west1) still cannot:
#     REGIONAL dynamic routes apply in the router's region only;
#   - the firewall still decides: on-prem -> instance-c tcp:5432 passes, tcp:80 is denied;
#   - a SIGHUP reload keeps the session and the learned routes (the new tables get them);
#   - BIRD withdraws the prefix (reconfigure): the route leaves the FIB, ping fails;
#   - BIRD freezes (SIGSTOP): after the 3 s hold time every route learned from it is gone;
#   - BIRD is killed and restarted: the routes come back.
# With `dataplane` as argument, BGP takes GCP's way instead: BIRD peers over the tunnel's own
# link (169.254.0.2 on the on-prem side of the tunnel's TAP port), and the engine hands the
# frames for the router's address to a TAP port whose kernel side svpcd gave the router's
# address; the kernel's replies go back out the tunnel.
# Needs root and bird2. Tears everything down, even after a failure.
set -euo pipefail
via=${1:-host}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/bgp_lib.sh"
command -v bird >/dev/null || { echo "bird (Debian's bird2) is not installed"; exit 1; }
tap_setup bgp
bgp_setup "$via"
# The control API on a free loopback port, for routers.getRouterStatus (api/README.md).
api_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo '{"tok-net": "user:netadmin@example.com"}' >"$config/tokens.json"
python3 - "$config/shared-vpc.json" <<'PY'
import json, sys
shared = json.load(open(sys.argv[1]))
shared["iamPolicies"].append({"resource": "projects/host-prj", "bindings": [
    {"role": "roles/compute.networkAdmin", "members": ["user:netadmin@example.com"]}]})
json.dump(shared, open(sys.argv[1], "w"))
PY
svpcd_start --bgp-status "$status" --api "127.0.0.1:$api_port"
netns_up
bgp_wire_onprem

echo "== before BGP: instance-b cannot reach on-prem"
if in_ns $ns_b ping -c 1 -W 1 192.168.1.1 >/dev/null; then fail "reached on-prem without a route"; fi

write_bird "route 192.168.0.0/16 unreachable;"
start_bird
echo "== the session comes up and 192.168.0.0/16 is learned"
wait_for 30 learned 192.168.0.0/16 || fail "192.168.0.0/16 not learned"
"$build/cli/svpc" bgp "$status" --routes | tee "$work/bgp.txt"
grep -q "Established" "$work/bgp.txt" || fail "svpc bgp does not show the session Established"
python3 - "$status" <<'PY' || fail "learned route MED"
import json, sys
peer = json.load(open(sys.argv[1]))["peers"][0]
route = [r for r in peer["learnedRoutes"] if r["destRange"] == "192.168.0.0/16"][0]
assert route["med"] == 50 and route["asPath"] == [65010], route
PY

echo "== routers.getRouterStatus through the API: the session UP, the learned route with its MED"
python3 - "$api_port" <<'PY' || fail "getRouterStatus"
import http.client, json, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
conn.request("GET", "/compute/v1/projects/host-prj/regions/us-east1/routers/cr-east/getRouterStatus",
             headers={"Authorization": "Bearer tok-net"})
r = conn.getresponse()
body = json.loads(r.read())
assert r.status == 200, body
peer = body["result"]["bgpPeerStatus"][0]
assert peer["status"] == "UP" and peer["state"] == "Established", peer
assert peer["numLearnedRoutes"] >= 1 and peer["advertisedRoutes"], peer
best = [x for x in body["result"]["bestRoutes"] if x["destRange"] == "192.168.0.0/16"]
assert best and best[0]["priority"] == 50 and best[0]["nextHopIp"] == "169.254.0.2", best
print("getRouterStatus:", peer["name"], peer["status"], peer["numLearnedRoutes"], "learned,",
      len(peer["advertisedRoutes"]), "advertised")
PY

echo "== BIRD learns the us-east1 subnets with MED 100, not us-west1's (REGIONAL)"
wait_for 10 sh -c "ip netns exec $onprem birdc -s '$work/bird.ctl' show route all 10.15.2.0/24 | grep -q 'BGP.med: 100'" \
  || fail "BIRD did not learn 10.15.2.0/24 with MED 100: $(birdc show route all)"
birdc show route all 10.7.1.0/24 | grep -q "BGP.med: 100" || fail "10.7.1.0/24 not advertised"
if birdc show route 10.0.1.0/24 | grep -q "10.0.1.0/24"; then
  fail "us-west1's subnet was advertised by a REGIONAL router of us-east1"
fi

echo "== instance-b (us-east1) reaches on-prem over the learned route"
wait_for 5 in_ns $ns_b ping -c 1 -W 1 192.168.1.1 || fail "ping b -> on-prem"
in_ns $ns_b ping -c 3 -i 0.2 -W 2 192.168.1.1 || fail "ping b -> on-prem"
echo "== instance-a (us-west1) does not: regional dynamic routes"
if in_ns $ns_a ping -c 1 -W 1 192.168.1.1 >/dev/null; then
  fail "instance-a in us-west1 used a REGIONAL dynamic route of us-east1"
fi

echo "== the firewall still decides: on-prem -> instance-c tcp:5432 allowed, tcp:80 denied"
in_ns $ns_c sh -c "echo db-ok | nc -l -p 5432 -q 1" >"$work/db.out" 2>&1 &
in_ns $ns_c sh -c "echo web-open | nc -l -p 80 -q 1" >"$work/web.out" 2>&1 &
sleep 0.5
got=$(in_ns $onprem nc -w 3 10.7.1.50 5432 </dev/null || true)
[ "$got" = "db-ok" ] || fail "on-prem -> instance-c:5432 should pass (allow-onprem-to-db), got '$got'"
got=$(in_ns $onprem nc -w 2 10.7.1.50 80 </dev/null || true)
[ -z "$got" ] || fail "on-prem -> instance-c:80 should be denied by the firewall"
pids=$(ip netns pids $ns_c); [ -z "$pids" ] || kill $pids 2>/dev/null || true

echo "== SIGHUP reload: the new configuration's tables get the learned routes before traffic"
kill -HUP "$daemon_pid"
wait_for 10 grep -q "configuration generation 2 published" "$log" || fail "reload not published"
in_ns $ns_b ping -c 1 -W 1 192.168.1.1 >/dev/null || fail "on-prem unreachable right after a reload"
learned 192.168.0.0/16 || fail "the session lost its routes over a reload"

echo "== BIRD withdraws 192.168.0.0/16: the route leaves the FIB"
write_bird "route 192.168.50.0/24 unreachable;"
birdc configure >/dev/null || fail "birdc configure"
wait_for 10 sh -c "! python3 -c \"import json,sys; sys.exit(0 if any(r['destRange']=='192.168.0.0/16' for p in json.load(open('$status'))['peers'] for r in p['learnedRoutes']) else 1)\"" \
  || fail "192.168.0.0/16 still learned after the withdrawal"
if in_ns $ns_b ping -c 1 -W 1 192.168.1.1 >/dev/null; then fail "on-prem still reachable after the withdrawal"; fi
learned 192.168.50.0/24 || fail "the new prefix 192.168.50.0/24 not learned"

echo "== BIRD freezes (SIGSTOP, no keepalives, TCP stays open): routes go when the hold time expires"
kill -STOP "$bird_pid"
sleep 1
learned 192.168.50.0/24 || fail "routes went before the hold time expired"
wait_for 10 nothing_learned || fail "learned routes still there after the hold time"
grep -q "hold timer expired" "$status" || fail "the status does not say the hold timer expired"
echo "== BIRD is killed (SIGKILL)"
write_bird "route 192.168.0.0/16 unreachable;"
kill -KILL "$bird_pid"; kill -CONT "$bird_pid" 2>/dev/null || true
wait "$bird_pid" 2>/dev/null || true; bird_pid=
echo "== BIRD restarts: the routes come back"
start_bird
wait_for 30 learned 192.168.0.0/16 || fail "routes did not come back after BIRD restarted"
wait_for 5 in_ns $ns_b ping -c 1 -W 1 192.168.1.1 || fail "ping b -> on-prem after the restart"

svpcd_stop
if [ "$via" = dataplane ]; then
  # The sessions really went through the engine: frames to and from the router's port.
  python3 - "$counters" <<'PY' || fail "no BGP frames through the router's port"
import json, sys
cr = json.load(open(sys.argv[1]))["ports"]["cr"]
assert cr["rx"] > 10 and cr["tx"] > 10, cr
print("router port frames:", cr)
PY
fi
echo "PASS: Cloud Router BGP ($via) with BIRD, routes in the data plane"
