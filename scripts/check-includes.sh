#!/bin/bash
# Fails when a file includes a header from a folder its library may not depend on. The table is
# the DAG the root CMakeLists.txt describes (as DPDK's `deps +=` lists): FOLDER=the folders it may
# include from besides itself. A folder's unit tests (FOLDER/tests) follow their folder's row and
# may also use config/tests' fixture helpers; tests/ (tests over the built binaries) is free.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allowed=(
  [common]=""
  [firewall]="common"
  [routing]="common"
  [bgp]="common"
  [config]="common"
  [dataplane]="firewall routing common"
  [pcap]="dataplane firewall routing common"
  [api]="config common"
  [control]="api config dataplane pcap bgp firewall routing common"
  [bench]="control api config dataplane pcap bgp firewall routing common"
  [cli]="bench control api config dataplane pcap bgp firewall routing common"
)

status=0
while IFS= read -r file; do
  folder=${file%%/*}
  # tests/ (tests over the built binaries, fuzz targets) may include anything.
  [[ $folder == tests ]] && continue
  [[ -v allowed[$folder] ]] || { echo "check-includes: $file: folder $folder is not in the table"; status=1; continue; }
  ok=" $folder ${allowed[$folder]} "
  # A folder's unit tests may use the shared fixtures helper of config/tests.
  [[ $file == */tests/* ]] && ok+=" config/tests "
  while IFS= read -r line; do
    target=${line#*\"}; target=${target%%\"*}
    dir=${target%%/*}
    [[ $target == */* ]] || continue
    if [[ $ok == *" $dir "* ]]; then
      [[ $target == config/tests/* && $file != */tests/* ]] && { echo "check-includes: $file includes $target (test helpers are for tests)"; status=1; }
      continue
    fi
    echo "check-includes: $file includes $target: $folder may include from ${allowed[$folder]:-nothing}"
    status=1
  done < <(grep -E '^#include "' "$file" || true)
done < <(git ls-files '*.cc' '*.h')
[[ $status -eq 0 ]] && echo "check-includes: every include follows the folder DAG"
exit $status
