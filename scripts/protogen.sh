#!/usr/bin/env bash
# Regenerates the gogoproto Go code for every .proto file under proto/, beside
# its .proto. Needs buf and protoc-gen-gocosmos on PATH, or in ./.bin, where
# `make proto` installs them at pinned versions. Works offline: imports come
# from proto/ itself (gogoproto/gogo.proto is vendored there).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$root/.bin:$PATH"
cd "$root/proto"
# Remove what an earlier run generated, so a deleted .proto leaves no stale Go.
find . -path ./gogoproto -prune -o -name '*.pb.go' -type f -print0 | xargs -0 rm -f
buf generate
echo "protogen: $(find . -name '*.pb.go' -type f | wc -l) files generated"
