#!/usr/bin/env bash
# Google's Node.js client (@google-cloud/compute from the npm registry) drives svpcd's API, and
# real traffic between network namespaces shows each change took effect:
#   1. svpcd runs the hybrid-cloud example on TAP ports, plus a port for an instance that does
#      not exist yet (testbed `awaitInstance`), with the control API on a free loopback port.
#   2. A Service Project Admin (networkUser on subnet-us-west1 only) creates `api-vm` (tag api)
#      in svc-a through the Node client; its namespace gets the IP the API allocated.
#   3. instance-a -> api-vm:7000 is refused (implied deny ingress): no rule allows it yet.
#   4. The Service Project Admin's firewall insert is refused (403); a Security Admin's is not.
#   5. instance-a -> api-vm:7000 now carries data intact.
# Needs root, node and npm (scripts/install-deps.sh); npm installs into a cache directory
# ($SVPC_NPM_CACHE, default /tmp/svpc-npm-cache) at test time.
set -euo pipefail
. "$(dirname "$0")/../tap/lib.sh"
cache=${SVPC_NPM_CACHE:-/tmp/svpc-npm-cache}
tap_setup api-node
command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm are needed (scripts/install-deps.sh)"

echo "== npm install @google-cloud/compute (cache $cache)"
mkdir -p "$work/node" "$cache"
npm install --silent --no-audit --no-fund --prefix "$work/node" --cache "$cache" \
  @google-cloud/compute@6 >"$work/npm.log" 2>&1 || { cat "$work/npm.log"; fail "npm install"; }
echo "installed @google-cloud/compute $(node -p "require('$work/node/node_modules/@google-cloud/compute/package.json').version")"

python3 - "$config" <<'PY'
import json, os, sys
config = sys.argv[1]
testbed = json.load(open(os.path.join(config, 'testbed.json')))
for i, port in enumerate(testbed['ports']):  # own interface names: no clash with other tests
    port['device'] = port['device'].replace('iface=svpc-', 'iface=apit-')
testbed['ports'].append({'name': 'vm-api', 'device': 'net_tap5,iface=apit-vm-api'})
testbed['endpoints'].append({'port': 'vm-api', 'awaitInstance': True,
                             'instance': 'projects/svc-a/zones/us-west1-b/instances/api-vm'})
json.dump(testbed, open(os.path.join(config, 'testbed.json'), 'w'), indent=1)
shared = json.load(open(os.path.join(config, 'shared-vpc.json')))
west = 'projects/host-prj/regions/us-west1/subnetworks/subnet-us-west1'
shared['iamPolicies'] = [
    {'resource': 'projects/host-prj', 'bindings': [
        {'role': 'roles/compute.securityAdmin', 'members': ['user:secops@example.com']}]},
    {'resource': 'projects/svc-a', 'bindings': [
        {'role': 'roles/compute.instanceAdmin.v1', 'members': ['user:alice@example.com']}]},
    {'resource': west, 'bindings': [
        {'role': 'roles/compute.networkUser', 'members': ['user:alice@example.com']}]},
    {'resource': 'organizations/1', 'bindings': [
        {'role': 'roles/viewer', 'members': ['user:auditor@example.com']}]},
]
json.dump(shared, open(os.path.join(config, 'shared-vpc.json'), 'w'), indent=1)
json.dump({'tok-secops': 'user:secops@example.com', 'tok-alice': 'user:alice@example.com',
           'tok-auditor': 'user:auditor@example.com'},
          open(os.path.join(config, 'tokens.json'), 'w'))
PY
# The changed testbed's namespaces, and api-vm's (made below), go with the test.
tap_namespaces="$("$svpc_bin" netns-plan "$config" | awk '{print $2}') svpc-svc-a-api-vm"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

svpcd_start --api "127.0.0.1:$port" --audit-log "$work/audit.jsonl" -- --file-prefix=svpc-api-node
wait_for 20 grep -q "API on" "$log" || fail "svpcd did not start its API"
netns_up

node_client() { NODE_PATH="$work/node/node_modules" node "$root/tests/api/node_client.js" "$port" tok-secops tok-alice "$1"; }

echo "== Node client: the Service Project Admin creates api-vm in the shared subnet"
out=$(node_client instance) || fail "node client (instance): $out"
echo "$out"
ip=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["instanceIp"])' "$out")
[ "$ip" = 10.0.1.2 ] || fail "api-vm got $ip; the first free address of 10.0.1.0/24 is 10.0.1.2"

# api-vm's namespace, configured as GCP configures a VM, from the running configuration.
SVPC_API=http://127.0.0.1:$port SVPC_TOKEN=tok-auditor "$svpc_bin" export "$work/running" >/dev/null \
  || fail "svpc export"
plan=$("$svpc_bin" netns-plan "$work/running" | grep '^apit-vm-api ') || fail "no plan for api-vm"
read -r iface ns vm_ip gateway mac mtu vlan <<<"$plan"
[ "$vm_ip" = "$ip" ] || fail "the running configuration has $vm_ip for api-vm"
ip netns add "$ns"
ip link set "$iface" netns "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" ip link set "$iface" address "$mac" mtu "$mtu" up
ip netns exec "$ns" ip addr add "$vm_ip/32" dev "$iface"
ip netns exec "$ns" ip route add "$gateway" dev "$iface" scope link
ip netns exec "$ns" ip route add default via "$gateway" dev "$iface"

head -c 300000 /dev/urandom >"$work/payload"
transfer() {
  rm -f "$work/received"
  ip netns exec "$ns" sh -c "exec timeout 8 nc -l -p 7000 >'$work/received'" &
  local listener=$!
  sleep 0.5
  local rc=0
  ip netns exec $ns_a timeout 5 nc -N -w 3 "$ip" 7000 <"$work/payload" || rc=$?
  kill $listener 2>/dev/null; wait $listener 2>/dev/null || true
  return $rc
}

echo "== instance-a -> api-vm:7000 before any rule allows it"
ip netns exec $ns_a ping -c 1 -W 2 "$ip" >/dev/null || fail "ping instance-a -> api-vm (allow-internal-icmp)"
echo "ping reaches api-vm (allow-internal-icmp): the instance is wired and routed"
if transfer; then fail "tcp:7000 reached api-vm with no rule allowing it"; fi
echo "refused, as expected (implied deny ingress)"

echo "== Node client: a Security Admin allows tcp:7000 to tag api (the Service Project Admin may not)"
out=$(node_client firewall) || fail "node client (firewall): $out"
echo "$out" | cut -c1-300
echo "$out" | grep -q "Required 'compute.firewalls.create' permission for 'projects/host-prj/global/firewalls/allow-api-7000'" \
  || fail "the Service Project Admin's firewall insert was not refused with GCP's 403"

echo "== instance-a -> api-vm:7000 after the rule"
transfer || fail "tcp:7000 to api-vm after the rule"
cmp "$work/payload" "$work/received" || fail "received data differs"
echo "300 kB arrived intact"

grep -q '"principal":"user:alice@example.com","method":"v1.compute.firewalls.insert".*"allowed":false' \
  "$work/audit.jsonl" || fail "the audit log lacks the refused firewall insert"
svpcd_stop
echo "PASS"
