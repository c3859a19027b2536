#!/usr/bin/env bash
# Benchmark (not a test): on the R1 control plane, time `bigtop-k8s add-phase --no-verify` of
# every phase against `kubectl apply --server-side` + `kubectl rollout status`/`kubectl wait` of
# the same rendered objects, in the same run. Prints both medians and the ratio. Needs root.
# Usage: bash tests/bench/apply.sh [rounds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(cd "$here/../.." && pwd); env=$repo/tests/env
rounds=${1:-5}
bash "$env/build.sh" >/dev/null
(cd "$repo" && cargo build --release --locked -q)
ns=bigtop-bench-$$; RUN=$(mktemp -d /tmp/bigtop-bench.XXXXXX); export RUN
trap 'ip netns exec $ns bash $env/down.sh >/dev/null 2>&1; ip netns del $ns 2>/dev/null; rm -rf $RUN' EXIT
ip netns add "$ns"; ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" bash "$env/up.sh"
ip netns exec "$ns" env RUN="$RUN" REPO="$repo" ROUNDS="$rounds" bash "$here/apply-inner.sh"
