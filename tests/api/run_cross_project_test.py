#!/usr/bin/env python3
"""Cross-project references and the API's wording, over real HTTP against a running svpcd.

The reproduction of issue 13: a principal with roles/compute.securityAdmin (or roles/owner) on
service project svc-a files a firewall rule under projects/svc-a/global/firewalls that names the
host's network. In GCP a firewall rule lives in its network's project, and changing a network's
rules needs compute.networks.updatePolicy on the network: the insert is refused (403 naming the
network), an organization owner who has that permission still gets a 400 (cross-project
reference), and the packets that the rule would have changed (instance-c -> instance-b,
instance-b -> instance-a, traced on the live engine) keep their verdicts. A rule the host's
Security Admin files in the host project does change them: the traces can see a change.

Also: the lowercase `bearer` scheme, percent-encoded names, a list of an unknown project (404),
a non-string name, deleting a network in use, the 5,000-range cap, and the audit log's reasons.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_api_test as base  # noqa: E402  (make_config, start_svpcd, Api, check)
from run_api_test import check, expect_denied  # noqa: E402

HOST_NET = 'projects/host-prj/global/networks/shared-net'
IP = {'instance-a': '10.0.1.3', 'instance-b': '10.15.2.4', 'instance-c': '10.7.1.50'}


def make_config(work):
    config = base.make_config(work)
    shared_path = os.path.join(config, 'shared-vpc.json')
    shared = json.load(open(shared_path))
    shared['iamPolicies'] += [
        {'resource': 'projects/svc-a',
         'bindings': [{'role': 'roles/compute.securityAdmin', 'members': ['user:sa-sec@example.com']},
                      {'role': 'roles/owner', 'members': ['user:sa-owner@example.com']}]}]
    json.dump(shared, open(shared_path, 'w'), indent=1)
    tokens_path = os.path.join(config, 'tokens.json')
    tokens = json.load(open(tokens_path))
    tokens.update({'tok-sa-sec': 'user:sa-sec@example.com', 'tok-sa-owner': 'user:sa-owner@example.com'})
    json.dump(tokens, open(tokens_path, 'w'))
    return config


def verdict(api, source, destination, port):
    query = urllib.parse.urlencode({'source': source, 'destination': IP[destination],
                                    'port': port})
    status, body = api.call('GET', '/svpc/v1/trace?' + query, 'tok-admin')
    assert status == 200, body
    return [trace['steps'][-1]['state'] for trace in body['traces']]


def rule(name, direction, action, priority=0):
    body = {'name': name, 'network': HOST_NET, 'priority': priority, 'direction': direction,
            action: [{'IPProtocol': 'all'}]}
    body['sourceRanges' if direction == 'INGRESS' else 'destinationRanges'] = ['0.0.0.0/0']
    return body


def exercise(api, audit):
    flows = [('instance-a', 'instance-b', 8080), ('instance-b', 'instance-a', 22)]
    before = {f: verdict(api, *f) for f in flows}

    # The two reproductions: refused on the network's permission, nothing changes.
    deny_egress = rule('deny-all-egress', 'EGRESS', 'denied')
    expect_denied(api.call('POST', 'projects/svc-a/global/firewalls', 'tok-sa-owner', deny_egress),
                  'compute.networks.updatePolicy', HOST_NET,
                  "svc-a's owner filing a deny-all egress rule on the host's network")
    allow_ingress = rule('allow-all-ingress', 'INGRESS', 'allowed')
    expect_denied(api.call('POST', 'projects/svc-a/global/firewalls', 'tok-sa-sec', allow_ingress),
                  'compute.networks.updatePolicy', HOST_NET,
                  "svc-a's securityAdmin filing an allow-all ingress rule on the host's network")
    # An organization owner has the permission, and still may not file it in svc-a.
    status, body = api.call('POST', 'projects/svc-a/global/firewalls', 'tok-admin', deny_egress)
    check(status == 400 and 'Cross project referencing is not allowed' in body['error']['message']
          and body['error']['errors'][0]['reason'] == 'invalid',
          f'the org owner gets a 400 naming the cross-project reference ({status} {body})')
    status, body = api.call('GET', 'projects/svc-a/global/firewalls', 'tok-admin')
    check(status == 200 and not body['items'], 'svc-a holds no firewall rule afterwards')
    after = {f: verdict(api, *f) for f in flows}
    check(after == before, f'the traced flows keep their verdicts ({before} -> {after})')

    # The host's Security Admin may: each rule filed in host-prj flips its flow's verdict, so the
    # traces above would have seen the change.
    for body, flow, was_dropped in ((deny_egress, flows[0], False), (allow_ingress, flows[1], True)):
        status, _ = api.call('POST', 'projects/host-prj/global/firewalls', 'tok-sec', body)
        check(status == 200, f"the host project's Security Admin files {body['name']} in host-prj")
        now = verdict(api, *flow)
        check((before[flow][-1] == 'DROP') == was_dropped and (now[-1] == 'DROP') != was_dropped,
              f"{body['name']} flips {flow[0]} -> {flow[1]}:{flow[2]} ({before[flow]} -> {now})")
        status, _ = api.call('DELETE', 'projects/host-prj/global/firewalls/' + body['name'],
                             'tok-sec')
        check(status == 200 and verdict(api, *flow) == before[flow],
              f"deleting {body['name']} restores the verdict")

    # Smaller things.
    existing = api.call('GET', 'projects/host-prj/global/firewalls', 'tok-admin')[1]['items'][0]['name']
    encoded = ''.join('%%%02X' % ord(ch) if ch == '-' else ch for ch in existing)
    status, body = api.call('GET', 'projects/host-prj/global/firewalls/' + encoded, 'tok-admin')
    check(status == 200 and body['name'] == existing,
          f'a percent-encoded name ({encoded}) finds the rule ({status})')
    status, _ = api.call('GET', 'projects/host-prj/global/firewalls/bad%zz', 'tok-admin')
    check(status == 400, f'a malformed percent escape is a 400 ({status})')

    conn = base.http.client.HTTPConnection('127.0.0.1', api.port, timeout=30)
    conn.request('GET', '/compute/v1/projects/host-prj/global/firewalls',
                 headers={'Authorization': 'bearer tok-admin'})
    response = conn.getresponse()
    response.read()
    conn.close()
    check(response.status == 200, f'the lowercase "bearer" scheme is accepted ({response.status})')

    status, body = api.call('GET', 'projects/no-such-project/global/firewalls', 'tok-admin')
    check(status == 404 and body['error']['errors'][0]['reason'] == 'notFound',
          f'listing a project that does not exist is 404 ({status})')
    status, body = api.call('GET', 'projects/no-such-project/aggregated/instances', 'tok-admin')
    check(status == 404, f'and so is its aggregated list ({status})')

    status, body = api.call('POST', 'projects/host-prj/global/firewalls', 'tok-admin',
                            dict(rule('x', 'INGRESS', 'allowed', 900), name=12345))
    message = body['error']['message']
    check(status == 400 and 'resource.name' in message and 'not specified' not in message
          and body['error']['errors'][0]['reason'] == 'invalid',
          f'a number as name is a wrong type, not a missing field ({message})')

    status, body = api.call('DELETE', 'projects/host-prj/global/networks/shared-net', 'tok-admin')
    message = body['error']['message']
    check(status == 400 and 'already being used by' in message
          and body['error']['errors'][0]['reason'] == 'resourceInUseByAnotherResource',
          f'deleting a network with subnets says it is in use ({message})')

    many = dict(rule('too-many-ranges', 'INGRESS', 'allowed', 900),
                sourceRanges=[f'10.{i // 256}.{i % 256}.0/24' for i in range(5001)])
    status, body = api.call('POST', 'projects/host-prj/global/firewalls', 'tok-admin', many)
    check(status == 400 and 'at most 5000' in body['error']['message'],
          f'a rule with 5,001 source ranges is refused ({status})')
    many['sourceRanges'] = many['sourceRanges'][:5000]
    status, body = api.call('POST', 'projects/host-prj/global/firewalls', 'tok-admin', many)
    check(status == 200, f'and one with 5,000 is accepted ({status} {str(body)[:200]})')

    # The audit log says why: no header, an unknown token, a bad body.
    api.call('GET', 'projects/host-prj/global/firewalls')
    api.call('GET', 'projects/host-prj/global/firewalls', 'tok-wrong')
    api.call('POST', 'projects/host-prj/global/firewalls', 'tok-admin', raw_body='{not json')
    records = [json.loads(line) for line in open(audit)]
    reasons = [r.get('reason') for r in records[-3:]]
    check(reasons[:2] == ['no Authorization header', 'unknown token'],
          f'unauthenticated audit records give their reason ({reasons[:2]})')
    bad_body = records[-1]
    check(bad_body['status'] == 400 and bad_body['resource'] and bad_body.get('message'),
          f'a 400 for a bad body names the resource and the message ({bad_body})')
    cross = [r for r in records if r.get('missingPermission') == 'compute.networks.updatePolicy']
    check(len(cross) == 2 and all(r['resource'] == 'projects/svc-a/global/firewalls/'
                                  + n for r, n in zip(cross, ['deny-all-egress',
                                                              'allow-all-ingress'])),
          'both refused cross-project inserts are audited with the missing permission')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--build', default=os.path.join(base.ROOT, 'build'))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix='svpc-xproj-')
    base.checks = 0
    proc = None
    try:
        config = make_config(work)
        port = base.free_port()
        audit = os.path.join(work, 'audit.jsonl')
        proc, log = base.start_svpcd(args.build, config, work,
                                     ['--api', f'127.0.0.1:{port}', '--audit-log', audit], 'svpcd')
        exercise(base.Api(port), audit)
    except (base.Fail, AssertionError, KeyError) as e:
        print(f'not ok {base.checks + 1} - {e!r}')
        if proc is not None and os.path.exists(os.path.join(work, 'svpcd.log')):
            print(open(os.path.join(work, 'svpcd.log')).read()[-4000:])
        return 1
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    print(f'1..{base.checks}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
