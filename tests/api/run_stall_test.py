#!/usr/bin/env python3
"""A worker that reports no quiescent state does not stall the API (api/README.md, Robustness).

An API write publishes its snapshot under RCU and answers DONE only once every worker has left
the old one. svpcd used to wait for that on the io_context the API runs on
(rte_rcu_qsbr_synchronize): a worker descheduled or stopped stalled every connection. Here the
worker thread is frozen with ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT stops that one thread;
SIGSTOP would stop the whole process), and:
  - a pipelined POST (firewall insert) + GET on one connection is not answered while it is frozen
    (DONE waits for the workers), yet GETs and a metrics scrape on other connections each answer
    within 1 s, and so does a write's validation error;
  - three more writes wait too (each keeps the snapshot it replaced); a fifth is refused with 503
    at once (at most 4 replaced snapshots wait for the workers);
  - once the worker runs again, every waiting write answers a DONE operation and the pipelined
    GET after the first lists the new rule, as do api-changes.json (durable) and a GET on
    another connection; the refused write changed nothing.
svpcd runs the hybrid-cloud example on net_null ports (run_api_test.py's configuration).
"""
import argparse
import ctypes
import http.client
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_api_test as base  # noqa: E402
from run_api_test import Api, Fail, check  # noqa: E402

FIREWALLS = '/compute/v1/projects/host-prj/global/firewalls'
PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
WALL = 0x40000000

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]


def freeze(tid):
    """Stops thread `tid` alone (a ptrace stop); False when ptrace is not permitted."""
    if libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0:
        return False
    if libc.ptrace(PTRACE_INTERRUPT, tid, None, None) != 0:
        raise Fail(f'PTRACE_INTERRUPT {tid}: {os.strerror(ctypes.get_errno())}')
    os.waitpid(tid, WALL)
    return True


def thaw(tid):
    if libc.ptrace(PTRACE_DETACH, tid, None, None) != 0:
        raise Fail(f'PTRACE_DETACH {tid}: {os.strerror(ctypes.get_errno())}')


def raw_exchange(port, data, timeout):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
            s.sendall(data.encode())
            reply = b''
            while chunk := s.recv(65536):
                reply += chunk
        return reply.decode(errors='replace')
    except OSError as e:
        raise Fail(f'no answer within {timeout} s ({e!r})')


def post(port, rule):
    """Sends a firewall insert on a new connection, not waiting for the answer."""
    body = json.dumps(rule).encode()
    sock = socket.create_connection(('127.0.0.1', port), timeout=5)
    sock.sendall(f'POST {FIREWALLS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-sec\r\n'
                 f'Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n'
                 .encode() + body)
    return sock


def thread_state(pid, tid):
    return open(f'/proc/{pid}/task/{tid}/stat').read().rsplit(')', 1)[1].split()[0]


def worker_threads(pid):
    tids = []
    for tid in os.listdir(f'/proc/{pid}/task'):
        if open(f'/proc/{pid}/task/{tid}/comm').read().startswith('rte-worker'):
            tids.append(int(tid))
    return tids


def timed_get(port, path, token='tok-admin', timeout=3):
    """GET `path` on a new connection: (status, parsed body, seconds); Fail on no answer."""
    start = time.time()
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        conn.request('GET', path if path.startswith('/') else '/compute/v1/' + path,
                     headers={'Authorization': 'Bearer ' + token})
        response = conn.getresponse()
        text = response.read()
    except OSError as e:
        raise Fail(f'GET {path}: no answer within {timeout} s ({e!r})')
    finally:
        conn.close()
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = text
    return response.status, body, time.time() - start


def read_responses(sock, count, within):
    """The first `count` HTTP responses on `sock` (status, body) read within `within` seconds."""
    sock.settimeout(0.2)
    data = b''
    end = time.time() + within
    responses = []
    while len(responses) < count and time.time() < end:
        try:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        except socket.timeout:
            continue
        while len(responses) < count:
            head_end = data.find(b'\r\n\r\n')
            if head_end < 0:
                break
            head = data[:head_end].decode()
            length = 0
            for line in head.split('\r\n')[1:]:
                name, _, value = line.partition(':')
                if name.strip().lower() == 'content-length':
                    length = int(value)
            if len(data) < head_end + 4 + length:
                break
            body = data[head_end + 4:head_end + 4 + length]
            data = data[head_end + 4 + length:]
            responses.append((int(head.split()[1]), json.loads(body) if body else None))
    return responses


def stall_checks(port, pid, work):
    workers = worker_threads(pid)
    check(len(workers) == 1, f'one worker thread ({workers})')
    worker = workers[0]
    if not freeze(worker):
        print(f'# ptrace not permitted ({os.strerror(ctypes.get_errno())}); nothing to check')
        return False
    api = Api(port)
    waiting = []  # connections whose write waits for the worker
    try:
        check(thread_state(pid, worker) == 't' and thread_state(pid, pid) != 't',
              'the worker thread is stopped (ptrace), the main thread is not')
        rule = {'name': 'stall-fw', 'network': 'global/networks/shared-net',
                'direction': 'INGRESS', 'allowed': [{'IPProtocol': 'tcp', 'ports': ['2222']}],
                'sourceRanges': ['10.99.0.0/16']}
        body = json.dumps(rule).encode()
        writer = socket.create_connection(('127.0.0.1', port), timeout=5)
        waiting.append(writer)
        writer.sendall(f'POST {FIREWALLS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-sec\r\n'
                       f'Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n'
                       .encode() + body +
                       f'GET {FIREWALLS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-admin'
                       '\r\n\r\n'.encode())
        time.sleep(0.3)
        worst = 0.0
        for i in range(10):
            status, _, elapsed = timed_get(port, 'projects/host-prj/global/firewalls')
            worst = max(worst, elapsed)
            if status != 200 or elapsed > 1.0:
                raise Fail(f'GET {i} on another connection while the worker is stopped: {status} '
                           f'in {elapsed:.2f} s')
        check(True, f'10 GETs on another connection while the worker is stopped and a write '
                    f'waits for it each answered within 1 s (worst {worst * 1000:.0f} ms)')
        status, _, elapsed = timed_get(port, '/metrics')
        check(status == 200 and elapsed < 1.0,
              f'a metrics scrape answers meanwhile ({status} in {elapsed * 1000:.0f} ms)')
        start = time.time()
        reply = raw_exchange(port, f'POST {FIREWALLS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer '
                                   'tok-sec\r\nContent-Length: 9\r\nConnection: close\r\n\r\n'
                                   '{"name": ', 3)
        status = int(reply.split()[1]) if reply.startswith('HTTP/1.1 ') else reply
        elapsed = time.time() - start
        check(status == 400 and elapsed < 1.0,
              f'an invalid write answers 400 meanwhile ({status} in {elapsed * 1000:.0f} ms)')
        # Each write keeps the snapshot it replaced until the worker leaves it: three more are
        # published (and wait), the one after is refused.
        for i in range(3):
            more = dict(rule, name=f'stall-fw-{i}', sourceRanges=[f'10.{100 + i}.0.0/16'])
            waiting.append(post(port, more))
        wanted = {f'stall-fw-{i}' for i in range(3)}
        for _ in range(50):  # published (and listed) before their answers
            _, listing, _ = timed_get(port, 'projects/host-prj/global/firewalls')
            if wanted <= {f['name'] for f in listing.get('items', [])}:
                break
            time.sleep(0.1)
        else:
            raise Fail('the three writes were not published')
        start = time.time()
        refused = read_responses(post(port, dict(rule, name='stall-fw-refused')), 1, 3)
        elapsed = time.time() - start
        check(len(refused) == 1 and refused[0][0] == 503 and elapsed < 1.0,
              f'with 4 replaced snapshots waiting for the worker a fifth write answers 503 '
              f'({refused[0][1]["error"]["message"] if refused else "no answer"}, '
              f'{elapsed * 1000:.0f} ms)')
        early = read_responses(writer, 1, 1.0)
        check(early == [], 'the POST is not answered while the worker has not left the old '
                           f'snapshot ({[s for s, _ in early]})')
    finally:
        thaw(worker)
    for sock in waiting[1:]:
        op = read_responses(sock, 1, 10)
        sock.close()
        check(len(op) == 1 and op[0][0] == 200 and op[0][1]['status'] == 'DONE',
              'a write that waited answers DONE once the worker runs '
              f'({op[0][1]["name"] if op and isinstance(op[0][1], dict) else op})')
    responses = read_responses(writer, 2, 10)
    writer.close()
    check(len(responses) == 2, f'both pipelined requests answered once the worker runs '
                               f'({len(responses)} responses)')
    (post_status, op), (get_status, listing) = responses
    check(post_status == 200 and op.get('kind') == 'compute#operation' and op['status'] == 'DONE',
          f'the POST answers a DONE operation ({post_status} {op.get("name")})')
    names = [f['name'] for f in listing.get('items', [])] if get_status == 200 else []
    check('stall-fw' in names, f'the pipelined GET after it lists the new rule ({get_status})')
    changes = json.load(open(os.path.join(work, 'svpcd-state', 'api-changes.json')))
    check('stall-fw' in json.dumps(changes), 'api-changes.json holds the new rule (durable)')
    status, listing, elapsed = timed_get(port, 'projects/host-prj/global/firewalls')
    check(status == 200 and 'stall-fw' in [f['name'] for f in listing.get('items', [])],
          f'a GET on another connection lists it ({elapsed * 1000:.0f} ms)')
    names = [f['name'] for f in listing.get('items', [])]
    check('stall-fw-refused' not in names, 'the refused write changed nothing')
    for name in ['stall-fw'] + [f'stall-fw-{i}' for i in range(3)]:
        status, op = api.call('DELETE', FIREWALLS[len('/compute/v1/'):] + '/' + name, 'tok-sec')
        check(status == 200 and op['status'] == 'DONE', f'{name} deleted ({status})')
    return True


def run(build, work):
    config = base.make_config(work)
    port = base.free_port()
    proc, log = base.start_svpcd(build, config, work, ['--api', f'127.0.0.1:{port}'], 'svpcd')
    try:
        if stall_checks(port, proc.pid, work):
            check(proc.poll() is None, 'svpcd still running')
    except Fail:
        print('--- svpcd log')
        print(open(log).read()[-4000:])
        raise
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--build', default=os.path.join(base.ROOT, 'build'))
    args = parser.parse_args()
    return base.run_tap(lambda work: run(args.build, work), 'svpc-stall-')


if __name__ == '__main__':
    sys.exit(main())
