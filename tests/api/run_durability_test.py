#!/usr/bin/env python3
"""The API's changes survive SIGHUP, restarts and kill -9 (api/README.md, "Durability").

svpcd runs the API test's configuration (run_api_test.make_config: the hybrid-cloud example on
net_null ports, tokens.json, IAM) copied into a temporary directory, with --state-dir there too:
  a. 30 firewall inserts with 5 SIGHUPs in between: all 30 there afterwards.
  b. inserts, a patch, deletes, a network, a subnet IAM policy and enableXpnResource, then
     SIGTERM and a restart: everything as written.
  c. 50 rounds of writes from a thread and kill -9 after a random delay, then a restart: every
     write answered 200 DONE is there (or gone, for deletes), and svpcd starts every time.
  d. a conflict: the API patches a rule, the directory's file is edited too, SIGHUP: the file's
     version serves, the API's is under STATE_DIR/conflicts/, the log says so.
Exits non-zero at the first failed check, printing svpcd's log.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_api_test import Api, Fail, check, free_port, make_config  # noqa: E402

FIREWALLS = 'projects/host-prj/global/firewalls'


class Daemon:
    def __init__(self, build, config, state, work):
        self.build, self.config, self.state, self.work = build, config, state, work
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        self.port = free_port()
        self.log = os.path.join(self.work, f'svpcd-{self.starts}.log')
        self.proc = subprocess.Popen(
            [os.path.join(self.build, 'cli/svpcd'), self.config, '--log', self.log,
             '--state-dir', self.state, '--api', f'127.0.0.1:{self.port}'],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        for _ in range(300):
            if 'API on' in self.text():
                self.api = Api(self.port)
                return
            if self.proc.poll() is not None:
                raise Fail(f'svpcd exited early ({self.proc.returncode}): {self.text()[-3000:]}')
            time.sleep(0.05)
        raise Fail('svpcd did not start its API')

    def text(self):
        return open(self.log).read() if os.path.exists(self.log) else ''

    def reloads(self):
        return self.text().count('API change(s) re-applied')

    def sighup(self):
        before = self.reloads()
        self.proc.send_signal(signal.SIGHUP)
        for _ in range(200):
            if self.reloads() > before:
                return
            time.sleep(0.02)
        raise Fail('SIGHUP: no reload in the log')

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        status = self.proc.wait(timeout=30)
        self.proc = None
        return status


def rule(name, priority):
    return {'name': name, 'network': 'global/networks/shared-net', 'direction': 'INGRESS',
            'priority': priority, 'allowed': [{'IPProtocol': 'tcp', 'ports': [str(priority)]}],
            'sourceRanges': ['10.9.0.0/16']}


def done(result):
    status, body = result
    return status == 200 and isinstance(body, dict) and body.get('status') == 'DONE'


def firewall_names(api):
    files = api.config()
    prefix = FIREWALLS + '/'
    return {p[len(prefix):-5] for p in files if p.startswith(prefix)}


def part_a(d):
    lost = []
    for i in range(30):
        check(done(d.api.call('POST', FIREWALLS, 'tok-admin', body=rule(f'fw-a-{i}', 100 + i))),
              f'a: insert fw-a-{i}')
        if i % 6 == 4:
            d.sighup()
    check(d.text().count('API change(s) re-applied') >= 6, 'a: 5 SIGHUPs reloaded (and the start)')
    for i in range(30):
        status, body = d.api.call('GET', f'{FIREWALLS}/fw-a-{i}', 'tok-admin')
        if status != 200 or body.get('priority') != 100 + i:
            lost.append(i)
    check(not lost, f'a: all 30 inserts present after 5 SIGHUPs, {len(lost)} lost {lost}')
    return len(lost)


def part_b(d):
    api = d.api
    check(done(api.call('POST', FIREWALLS, 'tok-admin', body=rule('fw-b-1', 700))), 'b: insert')
    check(done(api.call('PATCH', f'{FIREWALLS}/allow-web-to-app', 'tok-admin',
                        body={'priority': 999})), 'b: patch a rule of the directory')
    check(done(api.call('DELETE', f'{FIREWALLS}/allow-internal-icmp', 'tok-admin')),
          'b: delete a rule of the directory')
    check(done(api.call('DELETE', f'{FIREWALLS}/fw-a-3', 'tok-admin')), 'b: delete an API rule')
    check(done(api.call('POST', 'projects/host-prj/global/networks', 'tok-admin',
                        body={'name': 'lab-net', 'autoCreateSubnetworks': False})),
          'b: networks.insert')
    lab = 'projects/host-prj/regions/us-west1/subnetworks/lab-west'
    check(done(api.call('POST', 'projects/host-prj/regions/us-west1/subnetworks', 'tok-admin',
                        body={'name': 'lab-west', 'network': 'global/networks/lab-net',
                              'ipCidrRange': '10.50.0.0/24'})), 'b: subnetworks.insert')
    status, body = api.call('GET', lab + '/getIamPolicy', 'tok-admin')
    binding = {'role': 'roles/compute.networkUser', 'members': ['user:alice@example.com']}
    status, body = api.call('POST', lab + '/setIamPolicy', 'tok-admin',
                            body={'policy': {'bindings': [binding], 'etag': body['etag']}})
    check(status == 200, f'b: setIamPolicy ({status})')
    check(done(api.call('POST', 'projects/host-prj/enableXpnResource', 'tok-admin',
                        body={'xpnResource': {'id': 'svc-e', 'type': 'PROJECT'}})),
          'b: enableXpnResource svc-e')
    status = d.stop(signal.SIGTERM)
    check(status == 0 and 'stopped cleanly' in d.text(), f'b: SIGTERM stops svpcd ({status})')
    d.start()
    api = d.api
    status, body = api.call('GET', f'{FIREWALLS}/fw-b-1', 'tok-admin')
    check(status == 200 and body['priority'] == 700, 'b: after a restart the insert is there')
    status, body = api.call('GET', f'{FIREWALLS}/allow-web-to-app', 'tok-admin')
    check(status == 200 and body['priority'] == 999, 'b: the patch is there')
    check(api.call('GET', f'{FIREWALLS}/allow-internal-icmp', 'tok-admin')[0] == 404,
          'b: the deleted directory rule stays deleted')
    check(api.call('GET', f'{FIREWALLS}/fw-a-3', 'tok-admin')[0] == 404,
          'b: the deleted API rule stays deleted')
    check(api.call('GET', 'projects/host-prj/global/networks/lab-net', 'tok-admin')[0] == 200,
          'b: the network is there')
    status, body = api.call('GET', lab + '/getIamPolicy', 'tok-admin')
    check(status == 200 and body.get('bindings') == [binding], 'b: the subnet IAM policy is there')
    status, body = api.call('GET', 'projects/svc-e/getXpnHost', 'tok-admin')
    check(body.get('name') == 'host-prj', 'b: svc-e is still attached to host-prj')
    names = firewall_names(api)
    check(all(f'fw-a-{i}' in names for i in range(30) if i != 3), 'b: part a\'s 29 rules too')


def part_c(d, rounds, seed):
    rng = random.Random(seed)
    present, absent = set(firewall_names(d.api)), set()
    acked = in_doubt = 0
    for r in range(rounds):
        if d.proc is None:
            d.start()  # the directory and the state left by kill -9 load
        api = d.api
        names = firewall_names(api)
        missing, back = present - names, absent & names
        check(not missing and not back,
              f'c: round {r}: {len(present)} acknowledged rules present, {len(absent)} deletes '
              f'hold (missing {sorted(missing)[:5]}, back {sorted(back)[:5]})')
        victims = sorted(n for n in present if n.startswith('fw-c-'))
        victim = rng.choice(victims) if victims and rng.random() < 0.5 else None
        results = []

        def writer():
            try:
                if victim:
                    # Recorded before the call: a delete killed under the request is in doubt.
                    results.append(('delete', victim, None))
                    ok = done(api.call('DELETE', f'{FIREWALLS}/{victim}', 'tok-admin'))
                    results[-1] = ('delete', victim, ok)
                for k in range(8):
                    name = f'fw-c-{r}-{k}'
                    results.append(('insert', name, None))
                    ok = done(api.call('POST', FIREWALLS, 'tok-admin',
                                       body=rule(name, 1000 + r * 8 + k)))
                    results[-1] = ('insert', name, ok)
            except OSError:
                pass  # killed under the request: in doubt

        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(rng.uniform(0.05, 0.9))  # the first write after a start takes ~0.3 s
        d.proc.kill()
        d.proc.wait(timeout=30)
        d.proc = None
        thread.join(timeout=60)
        for kind, name, ok in results:
            if ok:
                acked += 1
                (present if kind == 'insert' else absent).add(name)
                (absent if kind == 'insert' else present).discard(name)
            else:
                in_doubt += ok is None
                present.discard(name)  # an insert or delete without an answer: either outcome
                absent.discard(name)
    d.start()
    names = firewall_names(d.api)
    lost, back = present - names, absent & names
    check(not lost and not back,
          f'c: {rounds} kill -9 rounds: {acked} writes answered DONE, {len(lost)} lost, '
          f'{len(back)} deletes undone, {in_doubt} in doubt (killed under the request)')
    return acked, len(lost)


def part_d(d, config, state):
    api = d.api
    check(done(api.call('PATCH', f'{FIREWALLS}/allow-web-to-app', 'tok-admin',
                        body={'priority': 998})), 'd: the API patches allow-web-to-app')
    path = os.path.join(config, 'firewalls.json')
    rules = json.load(open(path))
    for r in rules:
        if r['name'] == 'allow-web-to-app':
            r['priority'] = 555
    json.dump(rules, open(path, 'w'), indent=1)
    d.sighup()
    status, body = api.call('GET', f'{FIREWALLS}/allow-web-to-app', 'tok-admin')
    check(status == 200 and body['priority'] == 555,
          f'd: after SIGHUP the directory\'s version serves ({body.get("priority")})')
    saved = []
    for root, _, files in os.walk(os.path.join(state, 'conflicts')):
        saved += [os.path.join(root, f) for f in files if f == 'allow-web-to-app.json']
    check(len(saved) == 1 and json.load(open(saved[0]))['priority'] == 998,
          f'd: the API\'s version is under conflicts/ ({saved})')
    line = [l for l in d.text().splitlines() if 'conflict' in l and 'allow-web-to-app' in l]
    check(line and saved[0] in line[0], f'd: a log line names the rule and the file ({line[:1]})')
    check(api.call('GET', f'{FIREWALLS}/fw-b-1', 'tok-admin')[0] == 200,
          'd: the other API changes stay')
    d.sighup()
    status, body = api.call('GET', f'{FIREWALLS}/allow-web-to-app', 'tok-admin')
    check(body['priority'] == 555 and len(os.listdir(os.path.join(state, 'conflicts'))) == 1,
          'd: a second SIGHUP: the file still serves, no new conflict')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--build', required=True)
    parser.add_argument('--rounds', type=int, default=50)
    parser.add_argument('--seed', type=int, default=int(time.time()))
    parser.add_argument('--keep', action='store_true', help='keep the work directory')
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix='svpc-durability-')
    config = make_config(work)
    state = os.path.join(work, 'state')
    d = Daemon(args.build, config, state, work)
    started = time.time()
    print(f'# work {work}, seed {args.seed}')
    try:
        d.start()
        lost_a = part_a(d)
        part_b(d)
        part_d(d, config, state)
        acked, lost_c = part_c(d, args.rounds, args.seed)
        status = d.stop(signal.SIGTERM)
        check(status == 0, 'svpcd stops cleanly at the end')
        json.load(open(os.path.join(state, 'api-changes.json')))
        print(f'# {time.time() - started:.0f} s: a lost {lost_a}/30; c {args.rounds} rounds, '
              f'{acked} acknowledged writes, {lost_c} lost; {d.starts} svpcd starts')
    except Fail as e:
        print(f'FAIL: {e}')
        print('--- svpcd log'); print(d.text()[-4000:])
        if d.proc is not None:
            d.proc.kill()
        print(f'# work directory kept: {work}')
        return 1
    if not args.keep:
        subprocess.run(['rm', '-rf', work])
    return 0


if __name__ == '__main__':
    sys.exit(main())
