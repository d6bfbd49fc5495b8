# Cloud Router pieces shared by the BGP TAP tests (sourced after lib.sh and tap_setup): the
# hybrid-cloud example with its static on-prem route replaced by a Cloud Router (us-east1,
# REGIONAL, AS 64512, 169.254.0.1/29) peering with a BIRD 2 (AS 65010, 169.254.0.2) in an
# "on-prem" namespace that also holds the tunnel's TAP port (192.168.1.1/24).
#   bgp_setup host|dataplane   writes the configuration, creates the on-prem namespace (and, for
#                              `host`, the veth pair carrying BGP to the router on the host)
#   bgp_wire_onprem            after svpcd_start and netns_up: the tunnel's TAP into on-prem
#   write_bird 'ROUTES'        BIRD's configuration, originating ROUTES (static protocol body)
#   start_bird / birdc ARGS    BIRD in on-prem ($bird_pid), its CLI
#   learned PREFIX / nothing_learned   the Cloud Router's learned routes (from --bgp-status)
onprem=svpc-bgp-onprem
onprem_mac=02:00:00:00:0e:01
bird_pid=

fail() {
  echo "FAIL: $*"
  echo "--- svpcd log (last 40 lines)"; tail -40 "$log" 2>/dev/null
  echo "--- bgp status"; cat "$status" 2>/dev/null
  echo "--- bird"; tail -20 "$work/bird.out" 2>/dev/null
  exit 1
}

bgp_setup() {
  local via=$1
  status=$work/bgp.json
  on_cleanup '[ -n "$bird_pid" ] && kill -KILL "$bird_pid"'
  on_cleanup "ip netns pids $onprem | xargs -r kill -KILL; ip netns del $onprem; ip link del svpc-bgp0"
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
  "$svpc_bin" validate "$config" >/dev/null || fail "the test configuration is invalid"
  ip netns add $onprem
  in_ns $onprem ip link set lo up
  if [ "$via" = host ]; then
    # The BGP link: a veth pair, the router's side on the host, the peer's in on-prem.
    ip link add svpc-bgp0 type veth peer name bgp-peer
    ip link set bgp-peer netns $onprem
    ip addr add 169.254.0.1/29 dev svpc-bgp0
    ip link set svpc-bgp0 up
    in_ns $onprem ip addr add 169.254.0.2/29 dev bgp-peer
    in_ns $onprem ip link set bgp-peer up
  fi
  bgp_via=$via
}

bgp_wire_onprem() {
  # The tunnel's TAP port becomes the on-prem network's interface.
  ip link set svpc-onprem netns $onprem
  in_ns $onprem ip link set svpc-onprem address $onprem_mac
  in_ns $onprem ip addr add 192.168.1.1/24 dev svpc-onprem
  # Through the data plane the BGP peer's address is on the tunnel's link itself.
  if [ "$bgp_via" = dataplane ]; then in_ns $onprem ip addr add 169.254.0.2/29 dev svpc-onprem; fi
  in_ns $onprem ip link set svpc-onprem up
  in_ns $onprem ip route add 10.0.0.0/8 dev svpc-onprem
}

write_bird() {  # $1: the static routes BIRD originates
  cat >"$work/bird.conf" <<BIRD
router id 192.168.1.1;
protocol device {}
protocol static onprem_routes { ipv4; $1 }
protocol bgp cloud_router {
  local 169.254.0.2 as 65010;
  neighbor 169.254.0.1 as 64512;
  hold time 3; keepalive time 1; connect retry time 1; connect delay time 1; error wait time 1, 2;
  ipv4 { import all; export filter { bgp_med = 50; accept; }; };
}
BIRD
}

start_bird() {
  rm -f "$work/bird.pid"
  # Directly, not through in_ns: $! must be BIRD's own pid for kill.
  ip netns exec $onprem bird -f -c "$work/bird.conf" -s "$work/bird.ctl" -P "$work/bird.pid" \
    >>"$work/bird.out" 2>&1 &
  bird_pid=$!
}

birdc() { in_ns $onprem birdc -s "$work/bird.ctl" "$@"; }

learned() {  # the Cloud Router has learned $1 on an Established session
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
