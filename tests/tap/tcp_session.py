#!/usr/bin/env python3
"""One long-lived TCP connection that proves it still works: the client sends a numbered line
every INTERVAL seconds for DURATION seconds and expects each echoed back within TIMEOUT.
  tcp_session.py server PORT                       echoes every connection (runs until killed)
  tcp_session.py client HOST PORT DURATION [INTERVAL] [TIMEOUT]
The client prints one summary line and exits 0 only if every echo came back in time on the
one connection it opened (a reset, a timeout or a short echo: exit 1)."""
import socket
import sys
import threading
import time


def server(port):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(64)

    def echo(conn):
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=echo, args=(conn,), daemon=True).start()


def client(host, port, duration, interval, timeout):
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.settimeout(timeout)
    end = time.monotonic() + duration
    exchanged = 0
    try:
        while time.monotonic() < end:
            line = f"{exchanged:08d}\n".encode()
            sock.sendall(line)
            got = b""
            while len(got) < len(line):
                chunk = sock.recv(len(line) - len(got))
                if not chunk:
                    raise ConnectionError("closed by the peer")
                got += chunk
            if got != line:
                raise ConnectionError(f"echo {got!r} for {line!r}")
            exchanged += 1
            time.sleep(interval)
    except (OSError, ConnectionError) as e:
        print(f"tcp_session: FAILED after {exchanged} exchanges: {e}")
        return 1
    print(f"tcp_session: {exchanged} exchanges on one connection, all echoed")
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(int(sys.argv[2]))
    else:
        args = sys.argv[2:]
        sys.exit(client(args[0], int(args[1]), float(args[2]),
                        float(args[3]) if len(args) > 3 else 0.2,
                        float(args[4]) if len(args) > 4 else 3.0))
