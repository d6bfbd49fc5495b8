#!/usr/bin/env python3
"""The control API over real HTTP against a running svpcd.

svpcd runs the hybrid-cloud example on net_null ports (no namespaces needed) with a tokens.json
and the IAM bindings and org policies of the seed's Shared VPC roles:

  admin       roles/owner on the organization
  xpn         roles/compute.xpnAdmin on folders/100 (host-prj, svc-a..c, svc-e, svc-f are there;
              svc-d is in folders/200)
  netadmin    roles/compute.networkAdmin on projects/host-prj
  secadmin    roles/compute.securityAdmin on projects/host-prj
  alice       Service Project Admin of svc-a: instanceAdmin.v1 on svc-a, networkUser on
              subnet-us-west1 only (subnet level)
  carol       Service Project Admin of svc-c: instanceAdmin.v1 on svc-c, networkUser on the whole
              host project (project level); svc-c's restrictSharedVpcSubnetworks allows only the
              two us-east1 subnets
  bob         networkUser on subnet-us-east1, no role on svc-b
  svc-f's restrictSharedVpcHostProjects allows only projects/other-host.

Every resource kind and method is exercised, each IAM case of the seed, the audit log, and the
security properties (no/invalid token, oversized and malformed bodies change nothing, loopback
only by default). Exits non-zero at the first failed check, printing svpcd's log.
"""
import argparse
import fcntl
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
checks = 0


class Fail(Exception):
    pass


def check(condition, what):
    global checks
    checks += 1
    if not condition:
        raise Fail(what)
    print(f'ok {checks} - {what}')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, port):
        self.port = port

    def call(self, method, path, token=None, body=None, raw_body=None):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=30)
        headers = {}
        if token:
            headers['Authorization'] = 'Bearer ' + token
        data = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            headers['Content-Type'] = 'application/json'
        conn.request(method, path if path.startswith('/') else '/compute/v1/' + path,
                     body=data, headers=headers)
        response = conn.getresponse()
        text = response.read()
        conn.close()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return response.status, parsed

    def config(self):
        status, body = self.call('GET', '/svpc/v1/config', 'tok-admin')
        assert status == 200, body
        return body['files']


def expect_denied(result, permission, resource, what):
    status, body = result
    check(status == 403, f'{what}: 403' + ('' if status == 403 else f' (got {status} {body})'))
    message = body['error']['message']
    check(message == f"Required '{permission}' permission for '{resource}'",
          f'{what}: the message names {permission} on {resource} ({message})')
    check(body['error']['errors'][0]['reason'] == 'forbidden', f'{what}: reason forbidden')


def expect_op(result, what):
    status, body = result
    good = status == 200 and body.get('kind') == 'compute#operation' and body['status'] == 'DONE'
    check(good, f'{what}: a DONE compute#operation' + ('' if good else f' (got {status} {body})'))
    return body


def make_config(work):
    config = os.path.join(work, 'config')
    shutil.copytree(os.path.join(ROOT, 'examples/hybrid-cloud/config'), config)
    testbed = json.load(open(os.path.join(config, 'testbed.json')))
    for i, port in enumerate(testbed['ports']):
        port['device'] = f'net_null{i}'
    json.dump(testbed, open(os.path.join(config, 'testbed.json'), 'w'), indent=1)
    shared = json.load(open(os.path.join(config, 'shared-vpc.json')))
    shared['resourceHierarchy'] = {
        'organization': 'organizations/123',
        'folders': [{'name': 'folders/100', 'parent': 'organizations/123'},
                    {'name': 'folders/200', 'parent': 'organizations/123'}],
        'projects': [{'projectId': p, 'parent': 'folders/100'}
                     for p in ('host-prj', 'svc-a', 'svc-b', 'svc-c', 'svc-e', 'svc-f', 'host2')]
        + [{'projectId': 'svc-d', 'parent': 'folders/200'}]}
    west = 'projects/host-prj/regions/us-west1/subnetworks/subnet-us-west1'
    east = 'projects/host-prj/regions/us-east1/subnetworks/subnet-us-east1'
    shared['iamPolicies'] = [
        {'resource': 'organizations/123',
         'bindings': [{'role': 'roles/owner', 'members': ['user:admin@example.com']}]},
        {'resource': 'folders/100',
         'bindings': [{'role': 'roles/compute.xpnAdmin', 'members': ['user:xpn@example.com']}]},
        {'resource': 'projects/host-prj',
         'bindings': [{'role': 'roles/compute.networkAdmin', 'members': ['user:netadmin@example.com']},
                      {'role': 'roles/compute.securityAdmin', 'members': ['user:secadmin@example.com']},
                      {'role': 'roles/compute.networkUser', 'members': ['user:carol@example.com']}]},
        {'resource': 'projects/svc-a',
         'bindings': [{'role': 'roles/compute.instanceAdmin.v1', 'members': ['user:alice@example.com']}]},
        {'resource': 'projects/svc-c',
         'bindings': [{'role': 'roles/compute.instanceAdmin.v1', 'members': ['user:carol@example.com']}]},
        {'resource': west,
         'bindings': [{'role': 'roles/compute.networkUser', 'members': ['user:alice@example.com']}]},
        {'resource': east,
         'bindings': [{'role': 'roles/compute.networkUser', 'members': ['user:bob@example.com']}]},
    ]
    shared['orgPolicies'] = [
        {'name': 'projects/svc-f/policies/compute.restrictSharedVpcHostProjects',
         'spec': {'rules': [{'values': {'allowedValues': ['projects/other-host']}}]}},
        {'name': 'projects/svc-c/policies/compute.restrictSharedVpcSubnetworks',
         'spec': {'rules': [{'values': {'allowedValues': [
             east, 'projects/host-prj/regions/us-east1/subnetworks/subnet-us-east1-c']}}]}},
    ]
    json.dump(shared, open(os.path.join(config, 'shared-vpc.json'), 'w'), indent=1)
    json.dump({'tok-admin': 'user:admin@example.com', 'tok-xpn': 'user:xpn@example.com',
               'tok-net': 'user:netadmin@example.com', 'tok-sec': 'user:secadmin@example.com',
               'tok-alice': 'user:alice@example.com', 'tok-carol': 'user:carol@example.com',
               'tok-bob': {'principal': 'user:bob@example.com', 'groups': []}},
              open(os.path.join(config, 'tokens.json'), 'w'))
    return config


def start_svpcd(build, config, work, extra, name):
    log = os.path.join(work, name + '.log')
    # The API's state (api-changes.json) under the work directory, never in a source tree.
    proc = subprocess.Popen([os.path.join(build, 'cli/svpcd'), config, '--log', log,
                             '--state-dir', os.path.join(work, 'svpcd-state')] + extra,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    for _ in range(150):
        if os.path.exists(log) and 'API on' in open(log).read():
            return proc, log
        if proc.poll() is not None:
            raise Fail(f'svpcd exited early: {open(log).read() if os.path.exists(log) else ""}')
        time.sleep(0.1)
    raise Fail('svpcd did not start its API')


def run(build, work):
    config = make_config(work)
    svpcd = os.path.join(build, 'cli/svpcd')

    # A non-loopback address is refused unless --api-allow-remote says so.
    r = subprocess.run([svpcd, config, '--api', '0.0.0.0:9181'], capture_output=True, text=True)
    check(r.returncode == 2 and 'not a loopback address' in r.stderr,
          f'--api 0.0.0.0:PORT is refused without --api-allow-remote ({r.stderr.strip()})')

    port = free_port()
    audit = os.path.join(work, 'audit.jsonl')
    proc, log = start_svpcd(build, config, work, ['--api', f'127.0.0.1:{port}', '--audit-log', audit],
                            'svpcd')
    try:
        api = Api(port)
        body_of_log = lambda: open(log).read()
        exercise(api, audit, config, build, work)
        # The default address: 127.0.0.1:9180 (checked only when the port is free here). Under
        # the TAP lock: TAP tests start svpcd with the default address too.
        lock = open('/tmp/svpc-tap.lock', 'a')
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not port_in_use(9180):
            proc.terminate()
            proc.wait(timeout=30)
            proc, log = start_svpcd(build, config, work, [], 'svpcd-default')
            out = subprocess.run(['ss', '-ltnpH'], capture_output=True, text=True).stdout
            local = [l.split()[3] for l in out.splitlines() if f'pid={proc.pid},' in l]
            check(local == ['127.0.0.1:9180'],
                  f'without --api svpcd listens on 127.0.0.1:9180 only ({local})')
            # With 9180 taken the default only warns and the data plane still serves; an
            # explicit --api on a taken port stops svpcd.
            busy_log = os.path.join(work, 'busy.log')
            r = subprocess.run([svpcd, config, '--log', busy_log, '--api', '127.0.0.1:9180',
                                '--state-dir', os.path.join(work, 'svpcd-state')],
                               capture_output=True, text=True, timeout=60)
            check(r.returncode == 2 and 'cannot listen on 127.0.0.1:9180' in open(busy_log).read(),
                  f'an explicit --api on a taken port stops svpcd (exit {r.returncode})')
            quiet_log = os.path.join(work, 'quiet.log')
            quiet = subprocess.Popen([svpcd, config, '--log', quiet_log,
                                      '--state-dir', os.path.join(work, 'svpcd-state')],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
            for _ in range(150):
                if os.path.exists(quiet_log) and 'serving' in open(quiet_log).read():
                    break
                time.sleep(0.1)
            text = open(quiet_log).read() if os.path.exists(quiet_log) else ''
            alive = quiet.poll() is None
            quiet.terminate()
            quiet.wait(timeout=30)
            check(alive and 'serving without the API' in text and 'svpcd: serving' in text,
                  'with the default address taken svpcd warns and serves its data plane')
        else:
            print('# port 9180 is in use here: the default-address check is skipped')
        lock.close()
    except Fail:
        print('--- svpcd log'); print(open(log).read()[-4000:])
        raise
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def port_in_use(port):
    with socket.socket() as s:
        return s.connect_ex(('127.0.0.1', port)) == 0


def exercise(api, audit, config, build, work):
    P = 'projects/'
    west = 'projects/host-prj/regions/us-west1/subnetworks/subnet-us-west1'
    east = 'projects/host-prj/regions/us-east1/subnetworks/subnet-us-east1'
    east_c = 'projects/host-prj/regions/us-east1/subnetworks/subnet-us-east1-c'

    # --- authentication
    before = api.config()
    status, body = api.call('GET', 'projects/host-prj/global/firewalls')
    check(status == 401 and body['error']['code'] == 401 and
          body['error']['errors'][0]['reason'] == 'required', 'no token: 401 required')
    status, body = api.call('GET', 'projects/host-prj/global/firewalls', token='wrong')
    check(status == 401 and body['error']['errors'][0]['reason'] == 'authError',
          'an unknown token: 401 authError')
    status, body = api.call('POST', 'projects/host-prj/global/firewalls', token='wrong',
                            body={'name': 'sneaky', 'network': 'global/networks/shared-net',
                                  'allowed': [{'IPProtocol': 'all'}]})
    check(status == 401, 'an insert with an unknown token: 401')

    # --- bodies
    status, body = api.call('POST', 'projects/host-prj/global/firewalls', 'tok-sec',
                            raw_body='{"name": "x", ')
    check(status == 400 and body['error']['errors'][0]['reason'] == 'parseError',
          'malformed JSON body: 400 parseError')
    big = json.dumps({'name': 'big', 'network': 'global/networks/shared-net',
                      'allowed': [{'IPProtocol': 'all'}], 'description': 'x' * (2 << 20)})
    status, body = api.call('POST', 'projects/host-prj/global/firewalls', 'tok-sec', raw_body=big)
    check(status == 400 and 'larger than the limit' in body['error']['message'],
          f'a 2 MiB body: 400 ({status})')
    status, body = api.call('POST', 'projects/host-prj/global/firewalls', 'tok-sec',
                            body={'name': 'bad-range', 'network': 'global/networks/shared-net',
                                  'allowed': [{'IPProtocol': 'tcp'}], 'sourceRanges': ['10.0.0.0/33']})
    check(status == 400 and 'sourceRanges' in body['error']['message'],
          f'an invalid rule: 400 naming the field ({body["error"]["message"]})')
    with socket.create_connection(('127.0.0.1', api.port)) as s:
        s.sendall(b'GARBAGE / HTTP/9\r\n\r\n')
        reply = s.recv(4096).decode(errors='replace')
    check(reply.startswith('HTTP/1.1 400'), f'malformed HTTP: 400 ({reply[:40]!r})')
    check(api.config() == before, 'after the refused requests the configuration is unchanged')

    # --- read methods
    status, body = api.call('GET', 'projects/host-prj/global/networks', 'tok-admin')
    check(status == 200 and body['kind'] == 'compute#networkList' and
          [n['name'] for n in body['items']] == ['shared-net'], 'networks.list')
    status, body = api.call('GET', 'projects/host-prj/global/networks/shared-net', 'tok-admin')
    check(status == 200 and body['kind'] == 'compute#network' and len(body['subnetworks']) == 3,
          'networks.get with its subnetworks')
    status, body = api.call('GET', 'projects/host-prj/regions/us-west1/subnetworks', 'tok-admin')
    check(status == 200 and [s['ipCidrRange'] for s in body['items']] == ['10.0.1.0/24'],
          'subnetworks.list in us-west1')
    status, body = api.call('GET', 'projects/host-prj/regions/us-west1/subnetworks/subnet-us-west1',
                            'tok-alice')
    check(status == 200 and body['gatewayAddress'] == '10.0.1.1',
          'subnetworks.get by a networkUser of the subnet')
    status, body = api.call('GET', 'projects/host-prj/global/firewalls/allow-web-to-app', 'tok-admin')
    check(status == 200 and body['allowed'] == [{'IPProtocol': 'tcp', 'ports': ['8080']}],
          'firewalls.get')
    status, body = api.call('GET', 'projects/host-prj/global/firewalls/nope', 'tok-admin')
    check(status == 404 and body['error']['errors'][0]['reason'] == 'notFound' and
          body['error']['message'] == "The resource 'projects/host-prj/global/firewalls/nope' was not found",
          'a missing firewall: 404 notFound in GCP words')
    status, body = api.call('GET', 'projects/host-prj/global/routes', 'tok-admin')
    check(status == 200 and {r['name'] for r in body['items']} == {'default-route-internet', 'to-onprem'},
          'routes.list')
    status, body = api.call('GET', 'projects/svc-a/zones/us-west1-a/instances/instance-a', 'tok-alice')
    check(status == 200 and body['networkInterfaces'][0]['networkIP'] == '10.0.1.3', 'instances.get')
    status, body = api.call('GET', 'projects/svc-a/aggregated/instances', 'tok-alice')
    check(status == 200 and list(body['items']) == ['zones/us-west1-a'], 'instances.aggregatedList')
    status, body = api.call('GET', 'projects/svc-b/zones/us-east1-b/instances', 'tok-alice')
    expect_denied((status, body), 'compute.instances.list', 'projects/svc-b',
                  'alice listing svc-b instances')

    # --- Shared VPC project methods
    status, body = api.call('GET', 'projects/svc-a/getXpnHost', 'tok-alice')
    check(status == 200 and body['name'] == 'host-prj' and body['xpnProjectStatus'] == 'HOST',
          'projects.getXpnHost')
    status, body = api.call('GET', 'projects/host-prj/getXpnResources', 'tok-xpn')
    check(status == 200 and sorted(r['id'] for r in body['resources']) == ['svc-a', 'svc-b', 'svc-c'],
          'projects.getXpnResources')
    status, body = api.call('POST', 'projects/host-prj/listXpnHosts', 'tok-xpn',
                            body={'organization': '123'})
    check(status == 200 and [p['name'] for p in body['items']] == ['host-prj'], 'projects.listXpnHosts')
    expect_op(api.call('POST', 'projects/host2/enableXpnHost', 'tok-xpn'), 'xpnAdmin enables host2')
    status, body = api.call('POST', 'projects/host2/listXpnHosts', 'tok-xpn', body={})
    check(sorted(p['name'] for p in body['items']) == ['host-prj', 'host2'], 'host2 is listed as a host')
    expect_op(api.call('POST', 'projects/host2/disableXpnHost', 'tok-xpn'), 'xpnAdmin disables host2')
    expect_denied(api.call('POST', 'projects/host2/enableXpnHost', 'tok-net'),
                  'compute.organizations.enableXpnHost', 'projects/host2',
                  'a Network Admin enabling a host project')
    attach = lambda svc, token: api.call('POST', 'projects/host-prj/enableXpnResource', token,
                                         body={'xpnResource': {'id': svc, 'type': 'PROJECT'}})
    op = expect_op(attach('svc-e', 'tok-xpn'), 'xpnAdmin attaches svc-e (same folder)')
    status, body = api.call('GET', op['selfLink'].split('/compute/v1/')[1], 'tok-xpn')
    check(status == 200 and body['name'] == op['name'] and body['status'] == 'DONE',
          'operations.get on the returned operation')
    status, body = api.call('GET', 'projects/svc-e/getXpnHost', 'tok-admin')
    check(body.get('name') == 'host-prj', 'svc-e is a service project of host-prj')
    expect_op(api.call('POST', 'projects/host-prj/disableXpnResource', 'tok-xpn',
                       body={'xpnResource': {'id': 'svc-e', 'type': 'PROJECT'}}),
              'xpnAdmin detaches svc-e')
    expect_denied(attach('svc-d', 'tok-xpn'), 'compute.organizations.enableXpnResource',
                  'projects/svc-d', 'xpnAdmin of folders/100 attaching svc-d of folders/200')
    status, body = attach('svc-f', 'tok-xpn')
    check(status == 412 and body['error']['errors'][0]['reason'] == 'conditionNotMet' and
          'compute.restrictSharedVpcHostProjects' in body['error']['message'],
          f'an org policy forbids attaching svc-f to host-prj ({status} {body["error"]["message"]})')
    expect_denied(attach('svc-e', 'tok-net'), 'compute.organizations.enableXpnResource',
                  'projects/host-prj', 'a Network Admin attaching a project')
    status, body = api.call('POST', 'projects/host-prj/disableXpnHost', 'tok-xpn')
    check(status == 400, 'a host with service projects cannot be disabled')

    # --- firewalls: Security Admin yes, Network Admin no
    rule = {'name': 'allow-ssh-from-onprem', 'network': 'global/networks/shared-net',
            'direction': 'INGRESS', 'priority': 900,
            'allowed': [{'IPProtocol': 'tcp', 'ports': ['22']}], 'sourceRanges': ['192.168.0.0/16'],
            'targetTags': ['web']}
    expect_denied(api.call('POST', 'projects/host-prj/global/firewalls', 'tok-net', body=rule),
                  'compute.firewalls.create', 'projects/host-prj/global/firewalls/allow-ssh-from-onprem',
                  'a Network Admin creating a firewall rule')
    expect_op(api.call('POST', 'projects/host-prj/global/firewalls', 'tok-sec', body=rule),
              'a Security Admin creates a firewall rule')
    status, body = api.call('POST', 'projects/host-prj/global/firewalls', 'tok-sec', body=rule)
    check(status == 409 and body['error']['errors'][0]['reason'] == 'alreadyExists',
          'inserting it again: 409 alreadyExists')
    expect_denied(api.call('PATCH', 'projects/host-prj/global/firewalls/allow-web-to-app', 'tok-net',
                           body={'disabled': True}),
                  'compute.firewalls.update', 'projects/host-prj/global/firewalls/allow-web-to-app',
                  'a Network Admin changing a firewall rule')
    expect_op(api.call('PATCH', 'projects/host-prj/global/firewalls/allow-ssh-from-onprem', 'tok-sec',
                       body={'allowed': [{'IPProtocol': 'tcp', 'ports': ['22', '2222']}]}),
              'a Security Admin patches the rule')
    status, body = api.call('GET', 'projects/host-prj/global/firewalls/allow-ssh-from-onprem', 'tok-sec')
    check(body['allowed'][0]['ports'] == ['22', '2222'] and body['priority'] == 900 and
          body['targetTags'] == ['web'], 'the patch changed the ports and kept the other fields')
    expect_op(api.call('DELETE', 'projects/host-prj/global/firewalls/allow-ssh-from-onprem', 'tok-sec'),
              'firewalls.delete')
    status, _ = api.call('GET', 'projects/host-prj/global/firewalls/allow-ssh-from-onprem', 'tok-sec')
    check(status == 404, 'the deleted rule is gone')

    # --- firewall policies (global network policy)
    policy = {'name': 'net-policy', 'rules': [
        {'priority': 100, 'action': 'deny', 'direction': 'INGRESS',
         'match': {'srcIpRanges': ['203.0.113.0/24'], 'layer4Configs': [{'ipProtocol': 'all'}]}}]}
    expect_denied(api.call('POST', 'projects/host-prj/global/firewallPolicies', 'tok-net', body=policy),
                  'compute.firewallPolicies.create', 'projects/host-prj/global/firewallPolicies/net-policy',
                  'a Network Admin creating a firewall policy')
    expect_op(api.call('POST', 'projects/host-prj/global/firewallPolicies', 'tok-sec', body=policy),
              'a Security Admin creates a network firewall policy')
    status, body = api.call('GET', 'projects/host-prj/global/firewallPolicies/net-policy', 'tok-sec')
    check(status == 200 and body['rules'][0]['action'] == 'deny', 'firewallPolicies.get')
    status, body = api.call('GET', 'projects/host-prj/global/firewallPolicies', 'tok-sec')
    check([p['name'] for p in body['items']] == ['net-policy'], 'firewallPolicies.list')
    expect_op(api.call('DELETE', 'projects/host-prj/global/firewallPolicies/net-policy', 'tok-sec'),
              'firewallPolicies.delete')

    # --- routes: Network Admin yes, Security Admin no
    route = {'name': 'to-lab', 'network': 'global/networks/shared-net', 'destRange': '172.16.0.0/12',
             'priority': 500, 'nextHopVpnTunnel': 'regions/us-east1/vpnTunnels/onprem-tunnel'}
    expect_denied(api.call('POST', 'projects/host-prj/global/routes', 'tok-sec', body=route),
                  'compute.routes.create', 'projects/host-prj/global/routes/to-lab',
                  'a Security Admin creating a route')
    expect_op(api.call('POST', 'projects/host-prj/global/routes', 'tok-net', body=route),
              'a Network Admin creates a route')
    status, body = api.call('GET', 'projects/host-prj/global/routes/to-lab', 'tok-net')
    check(status == 200 and body['destRange'] == '172.16.0.0/12' and
          body['nextHopVpnTunnel'].endswith('regions/us-east1/vpnTunnels/onprem-tunnel'), 'routes.get')
    expect_op(api.call('DELETE', 'projects/host-prj/global/routes/to-lab', 'tok-net'), 'routes.delete')

    # --- networks and subnetworks (Network Admin), subnet IAM (Shared VPC Admin)
    expect_op(api.call('POST', 'projects/host-prj/global/networks', 'tok-net',
                       body={'name': 'lab-net', 'autoCreateSubnetworks': False}), 'networks.insert')
    expect_op(api.call('POST', 'projects/host-prj/regions/us-west1/subnetworks', 'tok-net',
                       body={'name': 'lab-west', 'network': 'global/networks/lab-net',
                             'ipCidrRange': '10.50.0.0/24'}), 'subnetworks.insert')
    status, body = api.call('POST', 'projects/host-prj/regions/us-west1/subnetworks', 'tok-net',
                            body={'name': 'lab-overlap', 'network': 'global/networks/lab-net',
                                  'ipCidrRange': '10.50.0.128/25'})
    check(status == 400 and 'overlap' in body['error']['message'],
          f'an overlapping subnet is refused by validation ({body["error"]["message"][:120]})')
    lab = 'projects/host-prj/regions/us-west1/subnetworks/lab-west'
    status, body = api.call('GET', lab + '/getIamPolicy', 'tok-xpn')
    check(status == 200 and body['bindings'] == [], 'subnetworks.getIamPolicy: no bindings yet')
    expect_denied(api.call('POST', lab + '/setIamPolicy', 'tok-net',
                           body={'policy': {'bindings': []}}),
                  'compute.subnetworks.setIamPolicy', lab, 'a Network Admin setting a subnet IAM policy')
    status, body = api.call('POST', lab + '/setIamPolicy', 'tok-xpn', body={'policy': {
        'bindings': [{'role': 'roles/compute.networkUser', 'members': ['user:alice@example.com']}],
        'etag': body['etag']}})
    check(status == 200 and body['bindings'][0]['members'] == ['user:alice@example.com'],
          'a Shared VPC Admin grants alice networkUser on lab-west')
    status, body = api.call('GET', lab + '/getIamPolicy', 'tok-xpn')
    check(body['bindings'][0]['role'] == 'roles/compute.networkUser', 'the binding is there')

    # --- instances: the seed's Service Project Admin cases
    def vm(name, subnet, **extra):
        return dict({'name': name, 'machineType': 'zones/x/machineTypes/e2-small',
                     'networkInterfaces': [{'subnetwork': subnet}]}, **extra)
    expect_op(api.call('POST', 'projects/svc-a/zones/us-west1-b/instances', 'tok-alice',
                       body=vm('web-2', west, tags={'items': ['web']})),
              'alice (subnet-level networkUser) creates an instance in subnet-us-west1')
    status, body = api.call('GET', 'projects/svc-a/zones/us-west1-b/instances/web-2', 'tok-alice')
    ip = body['networkInterfaces'][0]['networkIP']
    check(ip == '10.0.1.2', f'its ephemeral IP is the first free one, never .0/.1/.254/.255 ({ip})')
    expect_denied(api.call('POST', 'projects/svc-a/zones/us-east1-b/instances', 'tok-alice',
                           body=vm('web-3', east)),
                  'compute.subnetworks.use', east,
                  'alice creating an instance in a subnet she was not granted')
    status, body = api.call('POST', 'projects/svc-a/zones/us-east1-b/instances', 'tok-alice',
                            body=vm('web-4', west))
    check(status == 400 and 'is not in region us-west1' in body['error']['message'],
          'an instance in a zone outside the subnet\'s region: 400')
    expect_op(api.call('POST', 'projects/svc-a/zones/us-west1-a/instances', 'tok-alice',
                       body=vm('lab-vm', lab)), 'the new subnet-level grant lets alice use lab-west')
    expect_op(api.call('POST', 'projects/svc-c/zones/us-east1-b/instances', 'tok-carol',
                       body=vm('db-2', east)),
              'carol (project-level networkUser) creates an instance in subnet-us-east1')
    status, body = api.call('POST', 'projects/svc-c/zones/us-west1-a/instances', 'tok-carol',
                            body=vm('db-3', west))
    check(status == 412 and 'compute.restrictSharedVpcSubnetworks' in body['error']['message'],
          'svc-c\'s restrictSharedVpcSubnetworks forbids subnet-us-west1 despite project-level networkUser')
    expect_denied(api.call('POST', 'projects/svc-b/zones/us-east1-b/instances', 'tok-bob',
                           body=vm('b-2', east)),
                  'compute.instances.create', 'projects/svc-b/zones/us-east1-b/instances/b-2',
                  'bob (networkUser, no instance admin on svc-b) creating an instance')
    expect_denied(api.call('DELETE', 'projects/svc-c/zones/us-east1-b/instances/db-2', 'tok-alice'),
                  'compute.instances.delete', 'projects/svc-c/zones/us-east1-b/instances/db-2',
                  'alice deleting an instance of svc-c')
    expect_op(api.call('POST', 'projects/svc-a/zones/us-west1-b/instances/web-2/setTags', 'tok-alice',
                       body={'items': ['web', 'frontend'], 'fingerprint': 'x'}), 'instances.setTags')
    status, body = api.call('GET', 'projects/svc-a/zones/us-west1-b/instances/web-2', 'tok-alice')
    check(body['tags']['items'] == ['web', 'frontend'] and
          body['networkInterfaces'][0]['networkIP'] == ip, 'the tags changed, the IP did not')
    status, body = api.call('GET', 'projects/svc-a/zones/us-west1-b/instances', 'tok-alice')
    check([i['name'] for i in body['items']] == ['web-2'], 'instances.list in us-west1-b')

    # --- static internal addresses
    expect_op(api.call('POST', 'projects/svc-a/regions/us-west1/addresses', 'tok-alice',
                       body={'name': 'reserved-1', 'addressType': 'INTERNAL', 'subnetwork': west}),
              'alice reserves a static internal address in the shared subnet')
    status, body = api.call('GET', 'projects/svc-a/regions/us-west1/addresses/reserved-1', 'tok-alice')
    check(status == 200 and body['address'] == '10.0.1.4' and body['status'] == 'RESERVED',
          f'it gets the next free address ({body.get("address")})')
    expect_op(api.call('POST', 'projects/svc-a/zones/us-west1-b/instances', 'tok-alice',
                       body=vm('web-5', west)), 'another instance in the subnet')
    status, body = api.call('GET', 'projects/svc-a/zones/us-west1-b/instances/web-5', 'tok-alice')
    check(body['networkInterfaces'][0]['networkIP'] == '10.0.1.5',
          'ephemeral allocation skips the reserved address')
    expect_denied(api.call('POST', 'projects/svc-a/regions/us-east1/addresses', 'tok-alice',
                           body={'name': 'reserved-2', 'subnetwork': east}),
                  'compute.subnetworks.use', east, 'alice reserving an address in a subnet not granted')
    status, body = api.call('GET', 'projects/svc-a/regions/us-west1/addresses', 'tok-alice')
    check([a['name'] for a in body['items']] == ['reserved-1'], 'addresses.list')
    expect_op(api.call('DELETE', 'projects/svc-a/regions/us-west1/addresses/reserved-1', 'tok-alice'),
              'addresses.delete')

    # --- routers
    router = {'name': 'cr-lab', 'network': 'global/networks/shared-net',
              'bgp': {'asn': 64514, 'advertiseMode': 'DEFAULT'},
              'interfaces': [{'name': 'if-0', 'ipRange': '169.254.10.1/30',
                              'linkedVpnTunnel': 'regions/us-east1/vpnTunnels/onprem-tunnel'}],
              'bgpPeers': [{'name': 'onprem', 'interfaceName': 'if-0', 'peerIpAddress': '169.254.10.2',
                            'peerAsn': 65010}]}
    expect_denied(api.call('POST', 'projects/host-prj/regions/us-east1/routers', 'tok-sec', body=router),
                  'compute.routers.create', 'projects/host-prj/regions/us-east1/routers/cr-lab',
                  'a Security Admin creating a Cloud Router')
    expect_op(api.call('POST', 'projects/host-prj/regions/us-east1/routers', 'tok-net', body=router),
              'routers.insert')
    status, body = api.call('GET', 'projects/host-prj/regions/us-east1/routers/cr-lab', 'tok-net')
    check(status == 200 and body['bgp']['asn'] == 64514 and body['bgpPeers'][0]['peerAsn'] == 65010,
          'routers.get')
    status, body = api.call('GET', 'projects/host-prj/regions/us-east1/routers/cr-lab/getRouterStatus',
                            'tok-net')
    peers = body['result']['bgpPeerStatus']
    check(status == 200 and body['kind'] == 'compute#routerStatusResponse' and
          peers[0]['name'] == 'onprem' and peers[0]['status'] == 'DOWN' and
          peers[0]['numLearnedRoutes'] == 0,
          'routers.getRouterStatus: the peer (not run by the testbed) is DOWN with 0 routes')
    expect_op(api.call('DELETE', 'projects/host-prj/regions/us-east1/routers/cr-lab', 'tok-net'),
              'routers.delete')

    # --- deletions through validation
    status, body = api.call('DELETE', 'projects/host-prj/global/networks/lab-net', 'tok-net')
    check(status == 400, f'a network with subnets cannot be deleted ({body["error"]["message"][:100]})')
    expect_op(api.call('DELETE', 'projects/svc-a/zones/us-west1-a/instances/lab-vm', 'tok-alice'),
              'instances.delete')
    expect_op(api.call('DELETE', 'projects/host-prj/regions/us-west1/subnetworks/lab-west', 'tok-net'),
              'subnetworks.delete')
    expect_op(api.call('DELETE', 'projects/host-prj/global/networks/lab-net', 'tok-net'),
              'networks.delete')

    # --- the audit log
    records = [json.loads(l) for l in open(audit)]
    denial = [r for r in records if r['method'] == 'v1.compute.firewalls.patch' and not r['allowed']]
    check(len(denial) == 1 and denial[0]['principal'] == 'user:netadmin@example.com' and
          denial[0]['resource'] == 'projects/host-prj/global/firewalls/allow-web-to-app' and
          denial[0]['missingPermission'] == 'compute.firewalls.update' and denial[0]['status'] == 403,
          'the audit log records the Network Admin\'s denied firewall change')
    granted = [r for r in records if r['method'] == 'v1.compute.instances.insert' and r['allowed']
               and r['status'] == 200]
    check({r['principal'] for r in granted} == {'user:alice@example.com', 'user:carol@example.com'},
          'and the allowed instance inserts, by principal')
    check(any(r['principal'] is None and r['status'] == 401 for r in records),
          'and the unauthenticated requests')

    # --- svpc as the client, and export of the running configuration
    svpc = os.path.join(build, 'cli/svpc')
    env = dict(os.environ, SVPC_API=f'http://127.0.0.1:{api.port}', SVPC_TOKEN='tok-admin')
    out = subprocess.run([svpc, 'instances', 'list', '--project', 'svc-a'], capture_output=True,
                         text=True, env=env).stdout
    check(out.splitlines()[0].split() == ['NAME', 'ZONE', 'INTERNAL_IP', 'EXTERNAL_IP', 'STATUS'] and
          any(l.split()[:3] == ['web-2', 'us-west1-b', '10.0.1.2'] for l in out.splitlines()),
          'svpc instances list shows the API-created instance')
    out = subprocess.run([svpc, 'firewall-rules', 'list', '--format=json'], capture_output=True,
                         text=True, env=env).stdout
    check(len(json.loads(out)) == 6, 'svpc firewall-rules list --format=json')
    r = subprocess.run([svpc, 'routes', 'list', '--token', 'wrong'], capture_output=True, text=True,
                       env=env)
    check(r.returncode == 1 and '[401]' in r.stderr, 'svpc routes list with a bad token fails with 401')
    exported = os.path.join(work, 'exported')
    r = subprocess.run([svpc, 'export', exported], capture_output=True, text=True, env=env)
    check(r.returncode == 0, f'svpc export from the daemon ({r.stderr})')
    r = subprocess.run([svpc, 'validate', exported], capture_output=True, text=True)
    check(r.returncode == 0 and 'web-2' in r.stdout, 'the export loads, with the API\'s instance')
    again = os.path.join(work, 'again')
    subprocess.run([svpc, 'export', again, '--config', exported], check=True, capture_output=True)
    same = all(open(os.path.join(dp, f), 'rb').read() ==
               open(os.path.join(again, os.path.relpath(os.path.join(dp, f), exported)), 'rb').read()
               for dp, _, fs in os.walk(exported) for f in fs)
    check(same, 'loading the export and exporting again gives the same files')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--build', default=os.path.join(ROOT, 'build'))
    args = parser.parse_args()
    return run_tap(lambda work: run(args.build, work), 'svpc-api-')


def run_tap(body, prefix):
    """Runs body(work) in a fresh work directory, printing TAP's plan or the failed check."""
    work = tempfile.mkdtemp(prefix=prefix)
    try:
        body(work)
    except Fail as e:
        print(f'not ok {checks + 1} - {e}')
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f'1..{checks}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
