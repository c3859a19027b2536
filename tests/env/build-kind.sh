#!/usr/bin/env bash
# Builds the real `kind` binary from its Go module (the release whose node images we pin), for
# the tests that drive it. Needs the Go module proxy; run outside the test network namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
KIND_VERSION=$(sed -n 's/^kind-version: //p' "$here/../../bootstrap/kind/node-images.yaml")
out=$BIGTOP_TESTENV_CACHE/kind-$KIND_VERSION
installed=$("$out/kind" version 2>/dev/null || true)   # not piped: no SIGPIPE under pipefail
if [[ $installed != *"kind $KIND_VERSION "* ]]; then
  echo "building kind $KIND_VERSION"
  GOBIN="$out" go install -trimpath "sigs.k8s.io/kind@$KIND_VERSION"
fi
"$out/kind" version
