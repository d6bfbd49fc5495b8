#!/usr/bin/env python3
"""svpcd's HTTP server against misbehaving clients (api/README.md, Robustness).

svpcd runs the hybrid-cloud example on net_null ports (run_api_test.py's configuration). Checked:
  - Host: an HTTP/1.1 request without a Host header gets 400; HTTP/1.0 without one is served.
  - Isolation: while a slowloris client dribbles its headers a byte a second, a client sends
    pipelined POST+GET requests and never reads the answers (its TCP window fills), and two
    half-open connections say nothing or half a request line, another connection's GETs each
    answer within 1 s; the server then closes every one of those connections by its deadlines.
  - Memory: the same mix of requests (GETs, invalid bodies, a firewall insert and delete) in
    rounds, VmRSS read after each: after warm-up it must stay within a bound (a leak grows with
    every round; allocator high-water does not).
"""
import argparse
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_api_test as base  # noqa: E402
from run_api_test import Api, Fail, check  # noqa: E402

FIREWALLS = '/compute/v1/projects/host-prj/global/firewalls'


def raw_exchange(port, data, timeout=5):
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        s.sendall(data)
        reply = b''
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    return reply.decode(errors='replace')


def closed_by_server(sock, within):
    """True when the server closes (EOF or reset) `sock` within `within` seconds."""
    sock.settimeout(1)
    end = time.time() + within
    while time.time() < end:
        try:
            if sock.recv(65536) == b'':
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def host_checks(port):
    reply = raw_exchange(port, f'GET {FIREWALLS} HTTP/1.1\r\nAuthorization: Bearer tok-admin\r\n'
                               'Connection: close\r\n\r\n'.encode())
    check(reply.startswith('HTTP/1.1 400') and 'Host header' in reply,
          f'HTTP/1.1 without Host: 400 ({reply[:30]!r})')
    reply = raw_exchange(port, f'GET {FIREWALLS} HTTP/1.1\r\nHost: a\r\nHost: b\r\n'
                               'Authorization: Bearer tok-admin\r\n\r\n'.encode())
    check(reply.startswith('HTTP/1.1 400'), f'HTTP/1.1 with two Hosts: 400 ({reply[:30]!r})')
    reply = raw_exchange(port, f'GET {FIREWALLS} HTTP/1.0\r\nAuthorization: Bearer tok-admin\r\n'
                               '\r\n'.encode())
    check(reply.startswith('HTTP/1.0 200') and 'compute#firewallList' in reply,
          f'HTTP/1.0 without Host: served ({reply[:30]!r})')
    reply = raw_exchange(port, f'GET {FIREWALLS} HTTP/1.1\r\nHost: localhost\r\n'
                               'Authorization: Bearer tok-admin\r\nConnection: close\r\n\r\n'.encode())
    check(reply.startswith('HTTP/1.1 200'), f'HTTP/1.1 with Host: served ({reply[:30]!r})')


def isolation_checks(port):
    stop = threading.Event()
    # Slowloris: a byte of the request head every second.
    loris = socket.create_connection(('127.0.0.1', port))
    head = f'GET {FIREWALLS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-admin\r\n'.encode()
    head += b'X-Pad: ' + b'a' * 4000

    def dribble():
        for i in range(len(head)):
            if stop.is_set():
                return
            try:
                loris.send(head[i:i + 1])
            except OSError:
                return
            time.sleep(1)
    threading.Thread(target=dribble, daemon=True).start()

    # A client that pipelines POST (with a body) + GET pairs and never reads: its receive
    # window fills, the server's writes to it cannot complete.
    deaf = socket.socket()
    deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    deaf.connect(('127.0.0.1', port))
    body = b'{"name": "x", '
    pair = (f'POST {FIREWALLS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-sec\r\n'
            f'Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n').encode() + body
    pair += f'GET {FIREWALLS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-admin\r\n\r\n'.encode()
    deaf.setblocking(False)
    sent_pairs = 0

    def flood():
        nonlocal sent_pairs
        data = pair * 200
        pending = memoryview(data)
        end = time.time() + 15
        while time.time() < end and not stop.is_set():
            try:
                n = deaf.send(pending)
                pending = pending[n:]
                if not pending:
                    sent_pairs += 200
                    pending = memoryview(data)
            except BlockingIOError:
                time.sleep(0.05)
            except OSError:
                return
    threading.Thread(target=flood, daemon=True).start()

    # Half-open: one says nothing, one half a request line.
    silent = socket.create_connection(('127.0.0.1', port))
    half = socket.create_connection(('127.0.0.1', port))
    half.sendall(b'GET /compute/v1/proj')

    time.sleep(2)
    api = Api(port)
    worst = 0.0
    for i in range(20):
        start = time.time()
        status, body = api.call('GET', 'projects/host-prj/global/firewalls', 'tok-admin')
        elapsed = time.time() - start
        worst = max(worst, elapsed)
        if status != 200 or elapsed > 1.0:
            raise Fail(f'GET {i} during the misbehaving clients: {status} in {elapsed:.2f} s')
        time.sleep(0.5)
    check(True, f'20 GETs on another connection during slowloris, a deaf pipelining client and '
                f'two half-open connections each answered within 1 s (worst {worst * 1000:.0f} ms, '
                f'{sent_pairs} pipelined pairs sent unread)')
    # Deadlines: request 30 s (from each request's start), write 30 s.
    for name, sock in (('half-open (silent)', silent), ('half-open (half a line)', half),
                       ('slowloris', loris)):
        check(closed_by_server(sock, 40), f'{name} connection closed by the request deadline')
    stop.set()
    check(closed_by_server(deaf, 45), 'the deaf pipelining client closed by the write deadline')
    for sock in (silent, half, loris, deaf):
        sock.close()
    status, _ = api.call('GET', 'projects/host-prj/global/firewalls', 'tok-admin')
    check(status == 200, 'the API still serves afterwards')


def rss_kb(pid):
    for line in open(f'/proc/{pid}/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1])
    raise Fail('no VmRSS')


def memory_checks(port, pid, rounds, per_round, sanitized):
    api = Api(port)
    rule = {'name': 'rss-probe', 'network': 'global/networks/shared-net',
            'allowed': [{'IPProtocol': 'tcp', 'ports': ['8443']}], 'sourceRanges': ['10.9.0.0/16']}
    figures = []
    for r in range(rounds):
        for i in range(per_round):
            k = i % 10
            if k < 5:
                status, _ = api.call('GET', 'projects/host-prj/global/firewalls', 'tok-admin')
            elif k == 5:
                status, _ = api.call('POST', 'projects/host-prj/global/firewalls', 'tok-sec',
                                     raw_body='{"name": "x", ')
            elif k == 6:
                status, _ = api.call('POST', 'projects/host-prj/global/firewalls', 'tok-sec',
                                     body=dict(rule, sourceRanges=['10.0.0.0/33']))
            elif k == 7:
                status, _ = api.call('GET', 'projects/host-prj/global/networks', 'tok-admin')
            elif k == 8:
                status, _ = api.call('POST', 'projects/host-prj/global/firewalls', 'tok-sec',
                                     body=rule) if i % 50 == 8 else (200, None)
            else:
                status, _ = api.call('DELETE', 'projects/host-prj/global/firewalls/rss-probe',
                                     'tok-sec') if i % 50 == 9 else (200, None)
        figures.append(rss_kb(pid))
        print(f'# round {r + 1}: {(r + 1) * per_round} requests, VmRSS {figures[-1] / 1024:.1f} MB',
              flush=True)
    warm = figures[1]
    growth = figures[-1] - warm
    if sanitized:
        # ASan keeps freed blocks in quarantine (256 MB by default): RSS grows by design there.
        print(f'# sanitized build: VmRSS {warm / 1024:.1f} -> {figures[-1] / 1024:.1f} MB, '
              'not bounded')
        return
    check(growth < 16 * 1024,
          f'VmRSS after warm-up stays within 16 MB over {(rounds - 2) * per_round} requests '
          f'({warm / 1024:.1f} -> {figures[-1] / 1024:.1f} MB; max {max(figures) / 1024:.1f} MB)')


def run(build, work, rounds, per_round):
    config = base.make_config(work)
    port = base.free_port()
    proc, log = base.start_svpcd(build, config, work, ['--api', f'127.0.0.1:{port}'], 'svpcd')
    try:
        print(f'# VmRSS at start {rss_kb(proc.pid) / 1024:.1f} MB')
        host_checks(port)
        isolation_checks(port)
        cache = os.path.join(build, 'CMakeCache.txt')
        sanitized = os.path.exists(cache) and 'SVPC_SANITIZE:BOOL=ON' in open(cache).read()
        memory_checks(port, proc.pid, rounds, per_round, sanitized)
        check(proc.poll() is None, 'svpcd still running')
    except Fail:
        print('--- svpcd log'); print(open(log).read()[-4000:])
        raise
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--build', default=os.path.join(base.ROOT, 'build'))
    parser.add_argument('--rounds', type=int, default=10)
    parser.add_argument('--per-round', type=int, default=200)
    args = parser.parse_args()
    return base.run_tap(lambda work: run(args.build, work, args.rounds, args.per_round),
                        'svpc-http-robust-')


if __name__ == '__main__':
    sys.exit(main())
