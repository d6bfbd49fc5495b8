#!/usr/bin/env python3
"""Checks what `svpc bench --json` printed: one well-formed JSON object, both sides measured,
the scale asked for, fields consistent with each other. No timing is asserted (a shared CI
machine may be slow); only that each side forwarded packets.

usage: check_bench_json.py FILE --rules N --routes N --flows N --packet-size N [--workers N]
"""
import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    for name in ("rules", "routes", "flows", "packet_size"):
        ap.add_argument("--" + name.replace("_", "-"), type=int, required=True)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    with open(args.file) as f:
        text = f.read()
    lines = [l for l in text.splitlines() if l.strip()]
    problems = []
    if len(lines) != 1:
        problems.append(f"expected one line of JSON on stdout, got {len(lines)}")
    try:
        r = json.loads(text)
    except json.JSONDecodeError as e:
        print(f"not JSON: {e}\n{text[:2000]}")
        return 1
    if not isinstance(r, dict):
        print("not a JSON object")
        return 1

    def number(key, minimum=None):
        v = r.get(key)
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            problems.append(f"{key}: not a number ({v!r})")
            return None
        if minimum is not None and v < minimum:
            problems.append(f"{key}: {v} < {minimum}")
        return v

    for key in ("mpps", "testpmd_mpps", "ratio", "cycles_per_packet"):
        v = number(key)
        if v is not None and v <= 0:
            problems.append(f"{key}: {v} should be > 0")
    for key, want in (("rules", args.rules), ("routes", args.routes), ("flows", args.flows),
                      ("packet_size", args.packet_size), ("workers", args.workers)):
        if r.get(key) != want:
            problems.append(f"{key}: {r.get(key)!r}, asked for {want}")
    mpps, tmpps, ratio = r.get("mpps"), r.get("testpmd_mpps"), r.get("ratio")
    if all(isinstance(v, (int, float)) and v > 0 for v in (mpps, tmpps, ratio)):
        if abs(ratio - mpps / tmpps) > 0.01 * ratio + 1e-3:
            problems.append(f"ratio {ratio} is not mpps/testpmd_mpps = {mpps / tmpps:.4f}")
    packets = number("packets", 1)
    number("testpmd_packets", 1)
    if not isinstance(r.get("drops"), dict):
        problems.append("drops: not an object of counts by cause")
    else:
        for cause, n in r["drops"].items():
            if not cause.isupper() or not isinstance(n, int) or n <= 0:
                problems.append(f"drops: {cause}={n!r}")
        # Denied flows come round in the loop, so the rules drop packets; nothing else should.
        if r.get("denied_flows", 0) > 0 and r["drops"].get("FIREWALL_RULE", 0) == 0:
            problems.append("denied flows in the traffic but no FIREWALL_RULE drops")
        other = {c: n for c, n in r["drops"].items() if c != "FIREWALL_RULE"}
        if other:
            problems.append(f"drops other than the rules' denials: {other}")
        if packets and sum(r["drops"].values()) > packets:
            problems.append("more drops than packets")
    parts = [r.get(k) for k in ("established_flows", "new_flows", "denied_flows")]
    if any(not isinstance(p, int) for p in parts) or sum(parts) != args.flows:
        problems.append(f"established + new + denied flows {parts} != flows {args.flows}")
    per_port = r.get("pcap_packets_per_port")
    if not isinstance(per_port, list) or sum(per_port) != args.flows or \
            max(per_port) - min(per_port) > 1:
        problems.append(f"pcap_packets_per_port {per_port!r}: not an even split of the flows")
    if isinstance(parts[0], int) and r.get("conntrack_live_start") != parts[0]:
        problems.append(f"conntrack_live_start {r.get('conntrack_live_start')} != established "
                        f"flows {parts[0]}")
    if isinstance(r.get("conntrack_live_end"), int) and isinstance(parts[0], int) and \
            isinstance(parts[1], int) and r["conntrack_live_end"] != parts[0] + parts[1]:
        problems.append(f"conntrack_live_end {r['conntrack_live_end']} != established + new "
                        f"{parts[0] + parts[1]} (every new flow opens once, none expires)")
    command = str(r.get("testpmd_command"))
    if "--forward-mode=io" not in command:
        problems.append("testpmd_command does not run io forwarding")
    if f"--nb-cores={args.workers} " not in command or f"--rxq={args.workers} " not in command:
        problems.append(f"testpmd does not forward with {args.workers} cores and queues")
    if problems:
        print("svpc bench --json output is wrong:\n  " + "\n  ".join(problems))
        print(text[:3000])
        return 1
    print(f"ok: svpc {mpps} Mpps, testpmd {tmpps} Mpps, ratio {ratio}, "
          f"{r['cycles_per_packet']} cycles/packet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
