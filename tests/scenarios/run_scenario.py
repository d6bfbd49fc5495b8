#!/usr/bin/env python3
"""Runs one scenario folder end to end and checks what a user would check.

A scenario folder holds:
  scenario.json   {"description": ..., "config": DIR (relative to the folder),
                   "inputs": [PORT, ...]  (the --pcap argument order),
                   "replay_args": [...]   (optional extra `svpc replay` options)}
  traffic.json    packets in svpc-craft's readable format (see pcap/README.md); scenario.json
                  may point elsewhere with "traffic": PATH
  expected.jsonl  one object per input packet, in processing order; every field given must
                  equal the field in OUT_DIR/verdicts.jsonl (fields left out are not checked)
  expected-captures.json (optional) {PORT: [{"src_mac", "dst_mac", "vlan", "src", "dst"}, ...]}
                  the frames that must have left each port, in order (fields optional)
  expected-counters.json (optional) fields counters.json must have (nested, as given)
  expected-firewall.jsonl (optional) the Firewall Rules Logging records of OUT_DIR/firewall.jsonl,
                  in order; nested fields given must match
  expected-flows.jsonl (optional) the VPC Flow Logs records of OUT_DIR/flows.jsonl, the same way

It crafts the pcaps, runs `svpc replay` twice (outputs must be byte-identical), compares
verdicts line by line, checks that every port's output capture holds exactly the frames the
verdicts sent there, and that counters.json agrees with the verdicts.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile


def read_pcap(path):
    frames = []
    with open(path, "rb") as f:
        header = f.read(24)
        if len(header) < 24:
            raise ValueError(f"{path}: not a pcap file")
        magic = struct.unpack("<I", header[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        while True:
            rec = f.read(16)
            if not rec:
                break
            _, _, incl, _ = struct.unpack(endian + "IIII", rec)
            frames.append(f.read(incl))
    return frames


def describe(frame):
    mac = lambda b: ":".join(f"{x:02x}" for x in b)
    d = {"dst_mac": mac(frame[0:6]), "src_mac": mac(frame[6:12]), "vlan": None}
    off = 12
    ethertype = struct.unpack("!H", frame[off:off + 2])[0]
    if ethertype == 0x8100:
        d["vlan"] = struct.unpack("!H", frame[14:16])[0] & 0xFFF
        off = 16
        ethertype = struct.unpack("!H", frame[off:off + 2])[0]
    l3 = frame[off + 2:]
    if ethertype == 0x0800 and len(l3) >= 20:
        d["src"] = ".".join(str(x) for x in l3[12:16])
        d["dst"] = ".".join(str(x) for x in l3[16:20])
    elif ethertype == 0x0806 and len(l3) >= 28:
        d["arp_op"] = struct.unpack("!H", l3[6:8])[0]
        d["src"] = ".".join(str(x) for x in l3[14:18])
        d["dst"] = ".".join(str(x) for x in l3[24:28])
    return d


def subset_problems(want, got, path):
    """Yields (path, problem) where `got` lacks or differs from what `want` gives."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            yield path, f"{got!r} is not an object"
            return
        for key, value in want.items():
            if key not in got:
                yield f"{path}.{key}", "missing"
            else:
                yield from subset_problems(value, got[key], f"{path}.{key}")
    elif want != got:
        yield path, f"{got!r}, expected {want!r}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--svpc", required=True)
    ap.add_argument("--craft", required=True)
    ap.add_argument("scenario")
    ap.add_argument("--keep", help="write outputs here instead of a temporary folder")
    args = ap.parse_args()

    folder = os.path.abspath(args.scenario)
    with open(os.path.join(folder, "scenario.json")) as f:
        scenario = json.load(f)
    config = os.path.normpath(os.path.join(folder, scenario["config"]))
    work = args.keep or tempfile.mkdtemp(prefix="svpc-scenario-")
    os.makedirs(work, exist_ok=True)
    crafted = os.path.join(work, "in")
    out = os.path.join(work, "out")

    traffic = os.path.normpath(os.path.join(folder, scenario.get("traffic", "traffic.json")))
    subprocess.run([args.craft, traffic, crafted], check=True)
    cmd = [args.svpc, "replay", config, "--out", out] + scenario.get("replay_args", [])
    for port in scenario["inputs"]:
        path = os.path.join(crafted, port + ".pcap")
        if os.path.exists(path):
            cmd += ["--pcap", f"{port}={path}"]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        print(run.stdout, run.stderr, sep="\n")
        print(f"FAIL: svpc replay exited {run.returncode}")
        return 1
    # Replays are deterministic: a second run writes byte-identical outputs.
    again = os.path.join(work, "out-again")
    subprocess.run(cmd[:cmd.index("--out") + 1] + [again] + cmd[cmd.index("--out") + 2:],
                   check=True, capture_output=True)
    differing = [f for f in sorted(os.listdir(out))
                 if open(os.path.join(out, f), "rb").read() != open(os.path.join(again, f), "rb").read()]

    with open(os.path.join(out, "verdicts.jsonl")) as f:
        got = [json.loads(line) for line in f if line.strip()]
    with open(os.path.join(folder, "expected.jsonl")) as f:
        want = [json.loads(line) for line in f if line.strip() and not line.startswith("//")]

    failures = [f"{f} differs between two replays of the same input" for f in differing]
    if len(got) != len(want):
        failures.append(f"{len(got)} verdicts, expected {len(want)}")
    for i, (g, w) in enumerate(zip(got, want)):
        for key, value in w.items():
            if key not in g:
                failures.append(f"line {i + 1}: field '{key}' missing")
            elif g[key] != value:
                failures.append(f"line {i + 1} ({g.get('flow')}): {key} = {g[key]!r}, expected {value!r}")

    # Output captures hold exactly what the verdicts sent out, per port, in order.
    sent = {}
    for g in got:
        if g["verdict"] != "DROP" and g["out_port"] is not None:
            sent.setdefault(g["out_port"], []).append(g)
    counters = json.load(open(os.path.join(out, "counters.json")))
    captures_path = os.path.join(folder, "expected-captures.json")
    expected_captures = json.load(open(captures_path)) if os.path.exists(captures_path) else {}
    for port in counters["ports"]:
        frames = read_pcap(os.path.join(out, port + ".pcap"))
        if len(frames) != len(sent.get(port, [])):
            failures.append(f"{port}.pcap holds {len(frames)} frames, verdicts sent {len(sent.get(port, []))}")
        if counters["ports"][port]["tx"] != len(frames):
            failures.append(f"counters.json {port} tx {counters['ports'][port]['tx']} != {len(frames)} frames")
        if port in expected_captures:
            wanted = expected_captures[port]
            if len(wanted) != len(frames):
                failures.append(f"{port}.pcap: {len(frames)} frames, expected {len(wanted)}")
            for j, (frame, w) in enumerate(zip(frames, wanted)):
                d = describe(frame)
                for key, value in w.items():
                    if d.get(key) != value:
                        failures.append(f"{port}.pcap frame {j + 1}: {key} = {d.get(key)!r}, expected {value!r}")
    # Firewall Rules Logging and VPC Flow Logs records, compared field by field (nested
    # objects: the fields given).
    for log_name in ("firewall.jsonl", "flows.jsonl"):
        logs_path = os.path.join(folder, "expected-" + log_name)
        if not os.path.exists(logs_path):
            continue
        with open(os.path.join(out, log_name)) as f:
            got_logs = [json.loads(line) for line in f if line.strip()]
        with open(logs_path) as f:
            want_logs = [json.loads(line) for line in f if line.strip()]
        if len(got_logs) != len(want_logs):
            failures.append(f"{log_name}: {len(got_logs)} records, expected {len(want_logs)}")
        if log_name == "flows.jsonl":
            # Flow records leave when their interval ends or at the end of the capture, in table
            # order: each expected record must match a record of its own, in any order.
            unmatched = list(got_logs)
            for i, w in enumerate(want_logs):
                match = next((g for g in unmatched if not list(subset_problems(w, g, ""))), None)
                if match is None:
                    failures.append(f"{log_name}: expected record {i + 1} not found: {json.dumps(w)}")
                else:
                    unmatched.remove(match)
            continue
        for i, (g, w) in enumerate(zip(got_logs, want_logs)):
            for path, problem in subset_problems(w, g, ""):
                failures.append(f"{log_name} record {i + 1}: {path}: {problem}")
    counters_want = os.path.join(folder, "expected-counters.json")
    if os.path.exists(counters_want):
        for path, problem in subset_problems(json.load(open(counters_want)), counters, ""):
            failures.append(f"counters.json: {path}: {problem}")
    drops = sum(1 for g in got if g["verdict"] == "DROP")
    if counters["verdicts"]["DROP"] != drops:
        failures.append(f"counters.json DROP {counters['verdicts']['DROP']} != {drops} drop verdicts")
    for g in got:
        if g["verdict"] == "DROP" and g["cause"] is None:
            failures.append(f"drop without a cause: {g}")

    name = os.path.basename(folder)
    if failures:
        print(f"FAIL {name}: {scenario.get('description', '')}")
        for f in failures:
            print("  " + f)
        print(f"  outputs kept in {work}")
        return 1
    print(f"ok {name}: {len(got)} packets as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
