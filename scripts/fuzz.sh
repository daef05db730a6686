#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a fixed time over its committed corpus.
# Usage: scripts/fuzz.sh 10s
set -euo pipefail
fuzztime=${1:-10s}
cd "$(dirname "$0")/.."
found=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    found=$((found + 1))
    echo "fuzz ${dir}.${target} for ${fuzztime}"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "./${dir}"
  done
done < <(git ls-files '*_test.go' 2>/dev/null || find . -name '*_test.go')
echo "fuzz targets run: ${found}"
