#!/usr/bin/env bash
# Builds the real Knative Serving webhook and controller from their Go module for R1 (version in
# versions.sh). Needs the Go module proxy; run outside the test network namespace. Cached by
# version: ~3.5 min on two cores the first time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
out=$KNATIVE_BIN
if [ ! -x "$out/webhook" ] || [ ! -x "$out/controller" ]; then
  echo "building knative.dev/serving $KNATIVE_SERVING_MODULE (webhook, controller)"
  rm -rf "$out.partial"
  GOBIN="$out.partial" CGO_ENABLED=0 GOTOOLCHAIN=local go install -trimpath -ldflags="-s -w" \
    "knative.dev/serving/cmd/webhook@$KNATIVE_SERVING_MODULE" "knative.dev/serving/cmd/controller@$KNATIVE_SERVING_MODULE"
  rm -rf "$out" && mv "$out.partial" "$out"
fi
echo "Knative Serving webhook and controller ready in $out"
