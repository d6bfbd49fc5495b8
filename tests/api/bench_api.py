#!/usr/bin/env python3
"""Latency of the control API against a running svpcd (hybrid-cloud example on net_null ports):
median and 90th percentile of N firewalls.get and N firewalls.insert (each insert goes the whole
reload path: written, loaded, validated, compiled, published).
  python3 tests/api/bench_api.py [--build build] [--n 100]"""
import argparse, http.client, json, os, shutil, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--build', default=os.path.join(ROOT, 'build'))
    p.add_argument('--n', type=int, default=100)
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix='svpc-api-bench-')
    config = os.path.join(work, 'config')
    shutil.copytree(os.path.join(ROOT, 'examples/hybrid-cloud/config'), config)
    testbed = json.load(open(os.path.join(config, 'testbed.json')))
    for i, port in enumerate(testbed['ports']):
        port['device'] = f'net_null{i}'
    json.dump(testbed, open(os.path.join(config, 'testbed.json'), 'w'))
    shared = json.load(open(os.path.join(config, 'shared-vpc.json')))
    shared['iamPolicies'].append({'resource': 'projects/host-prj', 'bindings': [
        {'role': 'roles/compute.securityAdmin', 'members': ['user:sec@example.com']}]})
    json.dump(shared, open(os.path.join(config, 'shared-vpc.json'), 'w'))
    json.dump({'t': 'user:sec@example.com'}, open(os.path.join(config, 'tokens.json'), 'w'))
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    log = os.path.join(work, 'log')
    proc = subprocess.Popen([os.path.join(args.build, 'cli/svpcd'), config, '--log', log,
                             '--state-dir', os.path.join(work, 'svpcd-state'),
                             '--api', f'127.0.0.1:{port}'], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    try:
        while not (os.path.exists(log) and 'API on' in open(log).read()):
            time.sleep(0.1)
        conn = http.client.HTTPConnection('127.0.0.1', port)
        headers = {'Authorization': 'Bearer t', 'Content-Type': 'application/json'}

        def timed(method, path, body=None):
            start = time.perf_counter()
            conn.request(method, '/compute/v1/' + path, body=body, headers=headers)
            r = conn.getresponse()
            text = r.read()
            assert r.status == 200, (r.status, text[:400])
            return (time.perf_counter() - start) * 1000

        gets = [timed('GET', 'projects/host-prj/global/firewalls/allow-web-to-app')
                for _ in range(args.n)]
        inserts = [timed('POST', 'projects/host-prj/global/firewalls', json.dumps({
            'name': f'bench-{i}', 'network': 'global/networks/shared-net',
            'allowed': [{'IPProtocol': 'tcp', 'ports': [str(1000 + i)]}],
            'sourceRanges': ['10.0.0.0/8']})) for i in range(args.n)]
        for name, values in (('firewalls.get', gets), ('firewalls.insert', inserts)):
            q = statistics.quantiles(values, n=10)
            print(f'{name:17} n={len(values)}  median {statistics.median(values):.2f} ms  '
                  f'p90 {q[8]:.2f} ms')
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
