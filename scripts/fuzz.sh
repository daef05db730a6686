#!/usr/bin/env bash
# Runs every Go fuzz target in the module over its committed corpus (testdata/fuzz).
#
# Usage:
#   scripts/fuzz.sh            each target for its execution count below (make test)
#   scripts/fuzz.sh 10m        each target for a duration (make test-long)
#
# Why counts: with a duration budget, Go 1.26's fuzzing coordinator can report its
# own deadline as a failure when it fires while a worker is mid-call
# (golang/go#75804, fixed in Go 1.27): "context deadline exceeded" with no failing
# input. A count budget (-fuzztime Nx) has no deadline to race. Under a duration
# budget this script tells such a bare deadline report from a real finding: a real
# finding always writes its input under testdata/fuzz/TARGET/, and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-}

# Execution counts, sized so that each target takes about 10 s on a 2-core machine
# (measured with -fuzztime 10s while the machine was busy; a quiet one is faster).
# A new fuzz target needs a line here.
budget() {
  case "$1" in
    app/abcisocket.FuzzReadMessage) echo 130000 ;;
    app/kvstore.FuzzParseTx) echo 50000 ;;
    consensus.FuzzStep) echo 50000 ;;
    consensus/engine.FuzzDecodeRecord) echo 130000 ;;
    consensus/wal.FuzzDecoder) echo 300000 ;;
    light.FuzzDecode) echo 60000 ;;
    p2p.FuzzBlockResponse) echo 90000 ;;
    p2p.FuzzConsensusFrame) echo 30000 ;;
    p2p.FuzzPexAddrs) echo 55000 ;;
    p2p.FuzzSnapshotsFrames) echo 20000 ;;
    p2p.FuzzTxsFrame) echo 16000 ;;
    privval.FuzzParseState) echo 2000 ;;
    blockstore/index.FuzzIndexSearch) echo 55000 ;;
    rpc.FuzzParams) echo 40000 ;;
    rpc.FuzzParseRequestFast) echo 100000 ;;
    types.FuzzBlockFromProto) echo 180000 ;;
    types.FuzzDecodeEvidence) echo 150000 ;;
    *) return 1 ;;
  esac
}

# inputs lists the files of a target's corpus directory (sorted), if any.
inputs() { if [ -d "$1" ]; then find "$1" -type f | sort; fi; }

# targets lists every fuzz target as "DIR TARGET", one a line.
targets() {
  while IFS= read -r file; do
    dir=$(dirname "$file")
    for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
      echo "${dir#./} ${target}"
    done
  done < <(git ls-files '*_test.go' 2>/dev/null || find . -name '*_test.go')
}

all=$(targets)
if [ -z "$duration" ]; then
  # Every target needs a budget: say so before fuzzing anything.
  missing=0
  while read -r dir target; do
    if ! budget "${dir}.${target}" >/dev/null; then
      echo "fuzz: ${dir}.${target} has no execution budget: add a line for it to budget() in scripts/fuzz.sh" >&2
      missing=1
    fi
  done <<< "$all"
  [ "$missing" = 0 ] || exit 1
fi

found=0
while read -r dir target; do
  found=$((found + 1))
  if [ -z "$duration" ]; then
    n=$(budget "${dir}.${target}")
    echo "fuzz ${dir}.${target} for ${n} executions"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="${n}x" "./${dir}"
    continue
  fi
  echo "fuzz ${dir}.${target} for ${duration}"
  corpus="${dir}/testdata/fuzz/${target}"
  before=$(inputs "$corpus")
  log=$(mktemp)
  if go test -run='^$' -fuzz="^${target}\$" -fuzztime="$duration" "./${dir}" 2>&1 | tee "$log"; then
    rm -f "$log"
    continue
  fi
  after=$(inputs "$corpus")
  if [ "$before" = "$after" ] && grep -q 'context deadline exceeded' "$log"; then
    echo "fuzz: ${dir}.${target}: a bare deadline report with no failing input written (golang/go#75804), not a finding"
    rm -f "$log"
    continue
  fi
  rm -f "$log"
  echo "fuzz: ${dir}.${target} found a failing input; it is under ${corpus}/ (replay: go test -run=${target}/NAME ./${dir})" >&2
  exit 1
done <<< "$all"
echo "fuzz targets run: ${found}"
