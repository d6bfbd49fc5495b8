#!/usr/bin/env python3
"""`svpc export` round trip on every scenario configuration.

For each tests/scenarios/*/ folder: export its configuration (`svpc export OUT --config DIR`),
export the export again and require byte-identical files (loading an export gives the same
configuration), then run the scenario itself on the exported configuration: the same traffic must
get the same verdicts, so nothing the data plane uses was lost on the way out.
"""
import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile


def files_of(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, root)] = open(path, 'rb').read()
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--svpc', required=True)
    parser.add_argument('--craft', required=True)
    parser.add_argument('--scenarios', required=True)
    args = parser.parse_args()
    runner = os.path.join(args.scenarios, 'run_scenario.py')
    failures = 0
    checked = 0
    for name in sorted(os.listdir(args.scenarios)):
        folder = os.path.join(args.scenarios, name)
        spec_path = os.path.join(folder, 'scenario.json')
        if not os.path.isfile(spec_path):
            continue
        spec = json.load(open(spec_path))
        config = os.path.normpath(os.path.join(folder, spec['config']))
        with tempfile.TemporaryDirectory(prefix='svpc-export-') as work:
            first = os.path.join(work, 'first')
            second = os.path.join(work, 'second')
            for src, dst in ((config, first), (first, second)):
                r = subprocess.run([args.svpc, 'export', dst, '--config', src],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    print(f'FAIL {name}: svpc export --config {src}: {r.stdout}{r.stderr}')
                    failures += 1
                    break
            else:
                a, b = files_of(first), files_of(second)
                if a != b:
                    diff = sorted(set(a) ^ set(b)) or [k for k in a if a[k] != b[k]]
                    print(f'FAIL {name}: exporting the export differs: {diff[:5]}')
                    failures += 1
                    continue
                # The scenario on the exported configuration.
                copy = os.path.join(work, 'scenario')
                shutil.copytree(folder, copy, ignore=shutil.ignore_patterns('config'))
                spec['config'] = first
                if 'traffic' in spec:
                    spec['traffic'] = os.path.abspath(os.path.join(folder, spec['traffic']))
                json.dump(spec, open(os.path.join(copy, 'scenario.json'), 'w'))
                r = subprocess.run([sys.executable, runner, '--svpc', args.svpc, '--craft',
                                    args.craft, copy], capture_output=True, text=True)
                if r.returncode != 0:
                    print(f'FAIL {name}: the scenario on the exported configuration:\n'
                          f'{r.stdout[-3000:]}{r.stderr[-2000:]}')
                    failures += 1
                    continue
                checked += 1
                print(f'ok   {name}: {len(a)} files, identical on re-export, scenario passes')
    if checked == 0:
        print('FAIL: no scenario checked')
        return 1
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
