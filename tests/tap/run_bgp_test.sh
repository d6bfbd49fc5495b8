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
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SVPC_BUILD_DIR:-$root/build}
if [ "$(id -u)" -ne 0 ]; then
  echo "the BGP TAP test needs root (network namespaces)"; exit 1
fi
command -v bird >/dev/null || { echo "bird (Debian's bird2) is not installed"; exit 1; }

work=$(mktemp -d /tmp/svpc-bgp.XXXXXX)
config=$work/config
cp -r "$root/examples/hybrid-cloud/config" "$config"
log=$work/svpcd.log
counters=$work/counters.json
status=$work/bgp.json
onprem=svpc-bgp-onprem
onprem_mac=02:00:00:00:0e:01
daemon_pid=
bird_pid=
namespaces=$("$build/control/svpc" netns-plan "$config" | awk '{print $2}')

cleanup() {
  set +e
  [ -n "$bird_pid" ] && kill -KILL "$bird_pid" 2>/dev/null
  [ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  for ns in $namespaces $onprem; do
    pids=$(ip netns pids "$ns" 2>/dev/null)
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  ip link del svpc-bgp0 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  echo "--- svpcd log"; tail -40 "$log" 2>/dev/null
  echo "--- bgp status"; cat "$status" 2>/dev/null
  echo "--- bird"; cat "$work/bird.out" 2>/dev/null | tail -20
  exit 1
}
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
ns_a=svpc-svc-a-instance-a
ns_b=svpc-svc-b-instance-b
ns_c=svpc-svc-c-instance-c

# The configuration: no static route to on-prem; a Cloud Router on the tunnel instead.
python3 - "$config" "$onprem_mac" "$via" <<'PY'
import json, sys
config, mac, via = sys.argv[1], sys.argv[2], sys.argv[3]
routes = [r for r in json.load(open(f"{config}/routes.json")) if r["name"] != "to-onprem"]
json.dump(routes, open(f"{config}/routes.json", "w"), indent=1)
router = {
    "kind": "compute#router", "name": "cr-east",
    "selfLink": "https://www.googleapis.com/compute/v1/projects/host-prj/regions/us-east1/routers/cr-east",
    "network": "projects/host-prj/global/networks/shared-net",
    "bgp": {"asn": 64512, "advertiseMode": "DEFAULT", "keepaliveInterval": 20},
    "interfaces": [{"name": "if-tunnel", "ipRange": "169.254.0.1/29",
                    "linkedVpnTunnel": "projects/host-prj/regions/us-east1/vpnTunnels/onprem-tunnel"}],
    "bgpPeers": [{"name": "onprem", "interfaceName": "if-tunnel", "ipAddress": "169.254.0.1",
                  "peerIpAddress": "169.254.0.2", "peerAsn": 65010,
                  "advertisedRoutePriority": 100}],
}
json.dump(router, open(f"{config}/router.json", "w"), indent=1)
testbed = json.load(open(f"{config}/testbed.json"))
for ep in testbed["endpoints"]:
    if "vpnTunnel" in ep:
        ep["mac"] = mac
# A 1 s keepalive (3 s hold time) so the test does not wait GCP's 60 s for a dead peer.
testbed["cloudRouters"] = [{"router": "cr-east", "keepaliveSeconds": 1}]
if via == "dataplane":
    testbed["ports"].append({"name": "cr", "device": "net_tap9,iface=svpc-cr"})
    testbed["cloudRouters"][0]["port"] = "cr"
json.dump(testbed, open(f"{config}/testbed.json", "w"), indent=1)
PY
"$build/control/svpc" validate "$config" >/dev/null || fail "the test configuration is invalid"

ip netns add $onprem
in_ns $onprem ip link set lo up
if [ "$via" = host ]; then
  # The BGP link: a veth pair, the router's side on the host, the peer's in the on-prem namespace.
  ip link add svpc-bgp0 type veth peer name bgp-peer
  ip link set bgp-peer netns $onprem
  ip addr add 169.254.0.1/29 dev svpc-bgp0
  ip link set svpc-bgp0 up
  in_ns $onprem ip addr add 169.254.0.2/29 dev bgp-peer
  in_ns $onprem ip link set bgp-peer up
fi

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
"$build/control/svpcd" "$config" --log "$log" --counters "$counters" --counters-interval 1 \
  --bgp-status "$status" --api "127.0.0.1:$api_port" >"$work/stdout" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 100); do
  grep -q "serving" "$log" 2>/dev/null && break
  kill -0 "$daemon_pid" 2>/dev/null || fail "svpcd exited early: $(cat "$work/stdout")"
  sleep 0.2
done
grep -q "serving" "$log" || fail "svpcd did not start"
SVPC_BUILD_DIR=$build "$root/scripts/tap-netns.sh" up "$config"
# The tunnel's TAP port becomes the on-prem network's interface.
ip link set svpc-onprem netns $onprem
in_ns $onprem ip link set svpc-onprem address $onprem_mac
in_ns $onprem ip addr add 192.168.1.1/24 dev svpc-onprem
# Through the data plane the BGP peer's address is on the tunnel's link itself.
[ "$via" = dataplane ] && in_ns $onprem ip addr add 169.254.0.2/29 dev svpc-onprem
in_ns $onprem ip link set svpc-onprem up
in_ns $onprem ip route add 10.0.0.0/8 dev svpc-onprem

echo "== before BGP: instance-b cannot reach on-prem"
if in_ns $ns_b ping -c 1 -W 1 192.168.1.1 >/dev/null; then fail "reached on-prem without a route"; fi

write_bird() {  # $1: the static routes BIRD originates
  cat >"$work/bird.conf" <<EOF
router id 192.168.1.1;
protocol device {}
protocol static onprem_routes { ipv4; $1 }
protocol bgp cloud_router {
  local 169.254.0.2 as 65010;
  neighbor 169.254.0.1 as 64512;
  hold time 3; keepalive time 1; connect retry time 1; connect delay time 1; error wait time 1, 2;
  ipv4 { import all; export filter { bgp_med = 50; accept; }; };
}
EOF
}
start_bird() {
  rm -f "$work/bird.pid"
  # Directly, not through in_ns: $! must be BIRD's own pid for the kill below.
  ip netns exec $onprem bird -f -c "$work/bird.conf" -s "$work/bird.ctl" -P "$work/bird.pid" \
    >>"$work/bird.out" 2>&1 &
  bird_pid=$!
}
birdc() { in_ns $onprem birdc -s "$work/bird.ctl" "$@"; }
wait_for() {  # $1: seconds, rest: a command that succeeds when the condition holds
  local limit=$1; shift
  for _ in $(seq 1 $((limit * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}
learned() {  # the Cloud Router has learned $1
  python3 - "$status" "$1" <<'PY'
import json, sys
peers = json.load(open(sys.argv[1]))["peers"]
sys.exit(0 if any(r["destRange"] == sys.argv[2] for p in peers if p["state"] == "Established"
                  for r in p["learnedRoutes"]) else 1)
PY
}
nothing_learned() {
  python3 - "$status" <<'PY'
import json, sys
sys.exit(0 if all(not p["learnedRoutes"] for p in json.load(open(sys.argv[1]))["peers"]) else 1)
PY
}

write_bird "route 192.168.0.0/16 unreachable;"
start_bird
echo "== the session comes up and 192.168.0.0/16 is learned"
wait_for 30 learned 192.168.0.0/16 || fail "192.168.0.0/16 not learned"
"$build/control/svpc" bgp "$status" --routes | tee "$work/bgp.txt"
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

kill -TERM "$daemon_pid"
wait "$daemon_pid" || fail "svpcd did not stop cleanly"
daemon_pid=
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
