#!/usr/bin/env bash
# The whole test suite: builds what it needs (cached), then runs every test inside a network
# namespace with only loopback, against the real R1 control plane, the R2 servers and the R3
# node (a real kubelet and containerd).
# Needs root (ip netns). Usage: bash tests/env/test.sh [extra cargo test args]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
t0=$(date +%s)

# 1. Outside the namespace: everything that needs the package registries.
bash "$here/build.sh"
for extra in "$here"/build-*.sh; do [ -e "$extra" ] && bash "$extra"; done
(cd "$repo" && cargo test --locked --no-run)
t_built=$(date +%s)

# Docker, for the Docker checks: use the running engine, or start one (no bridge, no iptables:
# the tests only create containers, never start them).
started_dockerd=
if command -v dockerd >/dev/null; then
  if ! docker info >/dev/null 2>&1; then
    setsid dockerd --bridge=none --iptables=false --ip-masq=false >/tmp/bigtop-test-dockerd.log 2>&1 &
    started_dockerd=$!
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  fi
  docker info >/dev/null 2>&1 && export BIGTOP_TEST_DOCKER=1
fi

# 2. A namespace with only loopback: no test can send a packet anywhere else.
ns=bigtop-test-$$
RUN=$(mktemp -d /tmp/bigtop-r1.XXXXXX); export RUN
cleanup() {
  nsenter --net="/run/netns/$ns" env RUN="$RUN" bash "$here/r3-down.sh" >/dev/null 2>&1 || true
  ip netns exec "$ns" bash "$here/down.sh" >/dev/null 2>&1 || true
  for extra in "$here"/down-*.sh; do [ -e "$extra" ] && ip netns exec "$ns" bash "$extra" >/dev/null 2>&1 || true; done
  ip netns del "$ns" 2>/dev/null || true
  if [ -n "$started_dockerd" ]; then kill -TERM -- "-$started_dockerd" 2>/dev/null || true; fi
  rm -rf "$RUN"
}
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up

ip netns exec "$ns" bash "$here/up.sh"
for extra in "$here"/up-*.sh; do [ -e "$extra" ] && ip netns exec "$ns" bash "$extra"; done
# R3: a real node with its own control plane, in the same namespace (see r3-up.sh for why nsenter).
nsenter --net="/run/netns/$ns" env RUN="$RUN" bash "$here/r3-up.sh"
t_up=$(date +%s)

export BIGTOP_R1_KUBECONFIG=$RUN/admin.kubeconfig
export BIGTOP_R3_KUBECONFIG=$RUN/r3/admin.kubeconfig BIGTOP_R3_ENV=$here
. "$here/versions.sh"; . "$here/servers.sh"
export BIGTOP_R2_MINIO_BIN=$MINIO_BIN BIGTOP_R2_GARAGE_BIN=$GARAGE_ROOT/bin BIGTOP_R1_KNATIVE_BIN=$KNATIVE_BIN
export BIGTOP_TEST_KIND_BIN=$BIGTOP_TESTENV_CACHE/kind-$(sed -n 's/^kind-version: //p' "$repo/bootstrap/kind/node-images.yaml")
export BIGTOP_TEST_CAPI_CRDS=$BIGTOP_TESTENV_CACHE/capi-crds
export BIGTOP_R2_SPARK_ROOT=$BIGTOP_TESTENV_CACHE/spark-4.0.1
export BIGTOP_R2_SQL_ROOT=$BIGTOP_TESTENV_CACHE/sql
export BIGTOP_R2_KAFKA_ROOT=$BIGTOP_TESTENV_CACHE/kafka-4.1.1
export BIGTOP_R2_JUPYTER_ROOT=$BIGTOP_TESTENV_CACHE/jupyter
export BIGTOP_R2_ZOOKEEPER_ROOT=$BIGTOP_TESTENV_CACHE/zookeeper-3.9.4
export BIGTOP_K8S_MIRROR=${BIGTOP_K8S_MIRROR:-$(cd "$repo/.." && pwd)/shared/upstream}
[ -d "$BIGTOP_K8S_MIRROR" ] || { echo "mirror directory $BIGTOP_K8S_MIRROR is missing (expected ../shared/upstream beside the repo)" >&2; exit 3; }
in_ns() { (cd "$repo" && ip netns exec "$ns" env RUN="$RUN" "$@"); }
if [ $# -gt 0 ]; then
  in_ns cargo test --locked --offline "$@"
else
  # Two lanes at once: the R3 tests wait mostly on the node's pods, the others mostly on the R1
  # control plane and the R2 servers, so together they take about as long as the longer lane.
  r3=() rest=(--lib --bins)
  for t in "$repo"/tests/*.rs; do
    name=$(basename "$t" .rs)
    case $name in r3_*) r3+=(--test "$name") ;; *) rest+=(--test "$name") ;; esac
  done
  rest+=(--test e2e_kind --test e2e_capi)
  lane_log=$RUN/lane-r3.log
  in_ns cargo test --locked --offline "${r3[@]}" >"$lane_log" 2>&1 & r3_lane=$!
  rest_status=0; in_ns cargo test --locked --offline "${rest[@]}" || rest_status=$?
  r3_status=0; wait "$r3_lane" || r3_status=$?
  echo "=== R3 lane (ran alongside the lane above) ==="; cat "$lane_log"
  in_ns cargo test --locked --offline --doc
  [ "$rest_status" = 0 ] && [ "$r3_status" = 0 ] || { echo "tests failed (other lane: $rest_status, R3 lane: $r3_status)" >&2; exit 1; }
fi
t_end=$(date +%s)
echo "timings: build $((t_built - t0))s, environment up $((t_up - t_built))s, tests $((t_end - t_up))s, total $((t_end - t0))s"
