#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (committed; rerun after changing the seeds):
  corpus/packet/  frames of every kind for fuzz_packet.cc's testbed (packet_config), crafted by
                  svpc-craft; each file is a selector byte + frame, or several length-prefixed
                  records (see fuzz_packet.cc)
  corpus/config/  the valid files of the base configuration and of examples/, each behind the
                  byte that makes fuzz_config.cc write it under that name
Usage: make_corpus.py SVPC_CRAFT
"""
import json, os, struct, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.normpath(os.path.join(here, "..", ".."))
PORTS = {"vm-a": 0, "trunk": 1, "onprem": 2}  # packet_config/testbed.json order
A, B, C = "10.0.1.3", "10.15.2.4", "10.7.1.50"


def tcp(src, dst, sport, dport, flags="S", **extra):
    return dict(ip=dict(src=src, dst=dst), tcp=dict(sport=sport, dport=dport, flags=flags), **extra)


# (name, [(port, vlan or None, packet fields), ...]); one seed file per entry.
SEEDS = [
    ("arp", [("vm-a", None, dict(arp=dict(op="request", sender_ip=A, target_ip="10.0.1.1")))]),
    ("arp-vlan", [("trunk", 20, dict(arp=dict(op="request", sender_ip=B, target_ip="10.0.1.3")))]),
    ("icmp-echo", [("vm-a", None, dict(ip=dict(src=A, dst=B), icmp=dict(type=8, id=7, seq=1))),
                   ("trunk", 20, dict(ip=dict(src=B, dst=A), icmp=dict(type=0, id=7, seq=1)))]),
    ("tcp-handshake", [("vm-a", None, tcp(A, B, 40001, 8080)),
                       ("trunk", 20, tcp(B, A, 8080, 40001, "SA")),
                       ("vm-a", None, tcp(A, B, 40001, 8080, "A")),
                       ("vm-a", None, tcp(A, B, 40001, 8080, "F")),
                       ("trunk", 20, tcp(B, A, 8080, 40001, "R"))]),
    ("tcp-to-onprem", [("trunk", 30, tcp(C, "192.168.10.5", 40004, 443))]),
    ("tcp-from-onprem", [("onprem", None, tcp("192.168.10.5", C, 40005, 5432))]),
    ("udp-internet", [("trunk", 30, dict(ip=dict(src=C, dst="8.8.8.8"),
                                         udp=dict(sport=40007, dport=53), payload_len=32))]),
    ("tcp-from-internet", [("trunk", 300, tcp("93.184.216.34", A, 443, 40008, "SA"))]),
    ("tcp-25", [("vm-a", None, tcp(A, "93.184.216.34", 40009, 25))]),
    ("metadata", [("vm-a", None, tcp(A, "169.254.169.254", 40014, 80))]),
    ("spoofed", [("vm-a", None, dict(src_mac="42:01:0a:00:01:03", **tcp("10.0.1.99", B, 1, 8080)))]),
    ("fragments", [("vm-a", None, dict(ip=dict(src=A, dst=B, id=9, more_fragments=True),
                                       udp=dict(sport=1000, dport=8080), payload_len=64)),
                   ("vm-a", None, dict(ip=dict(src=A, dst=B, id=9, frag_offset=72, proto=17),
                                       payload_len=40))]),
    ("later-fragment", [("vm-a", None, dict(ip=dict(src=A, dst=B, id=3, frag_offset=1480,
                                                    proto=6), payload_len=20))]),
    ("ip-options", [("vm-a", None, dict(ip=dict(src=A, dst=B, options_len=8),
                                        tcp=dict(sport=40020, dport=8080, flags="S")))]),
    ("icmp-error", [("trunk", 20, dict(ip=dict(src=B, dst=A), icmp=dict(
        type=3, code=4, mtu=1400, inner=dict(ip=dict(src=A, dst=B), tcp=dict(sport=40001, dport=8080)))))]),
    ("mtu", [("vm-a", None, dict(ip=dict(src=A, dst=B), udp=dict(sport=1, dport=2), payload_len=1600))]),
    ("truncated-tcp", [("trunk", 20, dict(truncate=30, **tcp(B, A, 40013, 8080)))]),
    ("bad-ip-checksum", [("vm-a", None, dict(ip=dict(src=A, dst=B, bad_checksum=True),
                                             icmp=dict(type=8)))]),
    ("ipv6", [("vm-a", None, dict(src_mac="42:01:0a:00:01:03", dst_mac="42:01:0a:00:01:01",
                                  ethertype=0x86DD, raw_hex="60000000000011400000"))]),
    ("qinq", [("trunk", 20, dict(src_mac="42:01:0a:0f:02:04", dst_mac="42:01:0a:0f:02:01",
                                 ethertype=0x8100, raw_hex="001e08004500001c0000000040010000"))]),
    ("proto-gre", [("vm-a", None, dict(ip=dict(src=A, dst=B, proto=47), payload_len=24))]),
]


def packet_corpus(craft, out):
    os.makedirs(out, exist_ok=True)
    packets = []
    for s, (name, frames) in enumerate(SEEDS):
        for f, (port, vlan, fields) in enumerate(frames):
            p = dict(port=f"s{s:02d}", time=0.001 * (f + 1), **fields)
            if vlan is not None:
                p["vlan"] = vlan
            packets.append(p)
    with tempfile.TemporaryDirectory() as tmp:
        traffic = os.path.join(tmp, "traffic.json")
        json.dump({"packets": packets}, open(traffic, "w"))
        subprocess.run([craft, traffic, tmp], check=True, stdout=subprocess.DEVNULL)
        for s, (name, frames) in enumerate(SEEDS):
            data = open(os.path.join(tmp, f"s{s:02d}.pcap"), "rb").read()[24:]
            seed = b""
            for f, (port, _, _) in enumerate(frames):
                incl = struct.unpack("<I", data[8:12])[0]
                frame, data = data[16:16 + incl], data[16 + incl:]
                last = f == len(frames) - 1
                seed += bytes([PORTS[port]]) if last else bytes([0x80 | PORTS[port]]) + struct.pack(">H", len(frame))
                seed += frame
            open(os.path.join(out, name), "wb").write(seed)


FILES = ["network.json", "subnetworks.json", "instances.json", "firewalls.json", "routes.json",
         "router.json", "shared-vpc.json", "testbed.json", "extra.json", "extra.ndjson"]


def config_corpus(out):
    os.makedirs(out, exist_ok=True)
    base = os.path.join(root, "tests/scenarios/cloud-router-vlan/config")
    for name in sorted(os.listdir(base)):
        open(os.path.join(out, "base-" + name), "wb").write(
            bytes([FILES.index(name)]) + open(os.path.join(base, name), "rb").read())
    for d in ["examples/hybrid-cloud/config", "tests/scenarios/firewall-policies/config/policies"]:
        for name in sorted(os.listdir(os.path.join(root, d))):
            path = os.path.join(root, d, name)
            if name in ("shared-vpc.json", "testbed.json") or not name.endswith("json"):
                continue
            open(os.path.join(out, ("policies-" if "policies" in d else "hybrid-cloud-") + name), "wb").write(
                bytes([FILES.index("extra.json")]) + open(path, "rb").read())


if __name__ == "__main__":
    packet_corpus(sys.argv[1], os.path.join(here, "corpus/packet"))
    config_corpus(os.path.join(here, "corpus/config"))
