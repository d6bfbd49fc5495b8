#!/usr/bin/env python3
"""A hostile BGP peer: opens TCP connections to a Cloud Router from the configured peer's address
and sends malformed messages, one case per connection. For each it expects the router to answer
with a NOTIFICATION of the right error code (RFC 4271 §6) and close; prints what came back.
  bgp_garbage.py ROUTER_IP LOCAL_IP PEER_AS
The router refuses connections while its session is in an idle hold (growing after each error):
a connection closed before the router's OPEN is retried every 0.5 s, up to 40 s per case."""
import socket
import struct
import sys
import time

MARKER = b"\xff" * 16


def message(msg_type, body=b""):
    return MARKER + struct.pack("!HB", 19 + len(body), msg_type) + body


def open_message(asn, hold=9, router_id="192.168.1.1", version=4):
    return message(1, struct.pack("!BHH4sB", version, asn, hold, socket.inet_aton(router_id), 0))


def read_message(sock):
    header = b""
    while len(header) < 19:
        chunk = sock.recv(19 - len(header))
        if not chunk:
            return None
        header += chunk
    length, msg_type = struct.unpack("!HB", header[16:19])
    body = b""
    while len(body) < length - 19:
        chunk = sock.recv(length - 19 - len(body))
        if not chunk:
            return None
        body += chunk
    return msg_type, body


def connect(router, local, deadline):
    """A connection on which the router has sent its OPEN (it accepted us)."""
    while time.monotonic() < deadline:
        sock = socket.socket()
        sock.settimeout(5)
        sock.bind((local, 0))
        try:
            sock.connect((router, 179))
            first = read_message(sock)
            if first and first[0] == 1:
                return sock
        except OSError:
            pass
        sock.close()
        time.sleep(0.5)
    raise SystemExit("the router never accepted a connection")


def notification(sock):
    """The NOTIFICATION the router answers with (skipping KEEPALIVEs), or None on close."""
    try:
        while (m := read_message(sock)) is not None:
            if m[0] == 3:
                return m[1][0], m[1][1]
    except OSError:
        pass
    return None


def main():
    router, local, peer_as = sys.argv[1], sys.argv[2], int(sys.argv[3])
    bad_update = (message(2, struct.pack("!H", 500) + b"\x18\x0a"))  # withdrawn length past the end
    cases = [
        ("random bytes (no marker)", None, b"\x13\x37" * 20, 1),
        ("a header with length 5000 (> 4096)", None, MARKER + struct.pack("!HB", 5000, 2) + b"\0" * 64, 1),
        ("OPEN with BGP version 9", None, open_message(peer_as, version=9), 2),
        ("UPDATE with a withdrawn-routes length past the message, after a valid OPEN",
         open_message(peer_as), bad_update, 3),
    ]
    failures = 0
    for name, handshake, payload, want_code in cases:
        sock = connect(router, local, time.monotonic() + 40)
        if handshake:
            sock.sendall(handshake + message(4))
            while (m := read_message(sock)) is not None and m[0] != 4:
                pass  # the router's KEEPALIVE: Established
        sock.sendall(payload)
        got = notification(sock)
        sock.close()
        verdict = "ok" if got and got[0] == want_code else "UNEXPECTED"
        failures += verdict != "ok"
        print(f"bgp_garbage: {name}: NOTIFICATION {got[0]}/{got[1]}" if got
              else f"bgp_garbage: {name}: closed without a NOTIFICATION", f"(want code {want_code}): {verdict}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
